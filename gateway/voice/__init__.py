"""The voice channel's call flow: what a caller hears at each step of a 311 call, and its state.

``flow`` decides the next step (pure) over ``state`` (what a call gathered) and ``menu`` (the
catalog by keypad), ``prompt`` renders it as TwiML, ``desk`` keeps each call's
state in the database and files the call's report once, ``words`` and ``hours`` are the small
vocabularies and the call centre's opening hours, and ``build`` puts them together from the
config for a process. The channel module (``channels/twilio_voice``)
only verifies and parses; this package is the one that answers.
"""
