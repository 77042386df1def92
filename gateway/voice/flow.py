"""The call flow: from what the caller just said or pressed, the next step and what it hears.

Steps, in order: ``language`` (greeting, emergency notice, language) -> ``problem`` (spoken,
triaged for emergencies and classified) -> ``service`` (the classifier's guess read back) or
``menu`` (keypad pages of the catalog) -> ``attribute`` (the service's required questions) ->
``place`` and ``place_check`` (geocoded and read back; kept as spoken after two retries) ->
``record`` (an optional description) -> ``contact`` (caller ID or anonymous) -> ``text_copy``
-> ``tracking`` (the number, filed before it is read) -> ``done``. ``operator`` is where a call
transferred to the call centre waits. No input reprompts twice, then the flow goes on with what
it knows. Pure: what it needs of the normalizer and the clock comes in as ``Understanding``.
"""

from __future__ import annotations

import dataclasses

from gateway.records import Location, ServiceAttribute
from gateway.voice.menu import PAGE, hints, menu, page_of, pages, question_prompt, questions
from gateway.voice.prompt import Prompt
from gateway.voice.state import Gathered, Heard, Transition, Understanding, plain
from gateway.voice.words import heard_language, is_no, is_operator, is_repeat, is_yes

REPROMPTS = 2
PLACE_RETRIES = 2


class CallFlow:
    """Answers each step of a call."""

    def __init__(self, understanding: Understanding) -> None:
        self.u = understanding
        self.by_code = {s.code: s for s in understanding.catalog}

    def say(self, key: str, g: Gathered, **values: object) -> str:
        return self.u.message(f"voice_{key}", g.language, **values)

    def greeting(self, caller_known: bool) -> Transition:
        """The call's first answer."""
        first = self.u.languages[0] if self.u.languages else "en"
        g = Gathered(language=first, caller_known=caller_known)
        return Transition("language", g, self.prompt("language", g, greet=True))

    async def advance(self, step: str, g: Gathered, heard: Heard) -> Transition:
        """The answer to ``heard`` at ``step``."""
        if step == "operator" and heard.status not in ("completed", "answered"):
            # Nobody took the call: back to where the caller was.
            return self._no_input(g.transferred_from or "problem", g)
        if step in ("done", "operator"):
            return Transition("done", g, Prompt(say=(self.say("goodbye", g),), hangup=True))
        if step == "tracking":
            return self._tracking(g, heard)
        if step != "record" and is_operator(heard.speech, heard.digits):
            return self._operator(step, g)
        if step != "record" and heard.nothing:
            return self._no_input(step, g)
        handler = getattr(self, f"_on_{step}")
        transition: Transition = await handler(dataclasses.replace(g, tries=0), heard)
        return transition

    def filed(self, g: Gathered, number: str) -> Transition:
        """The tracking number, read back once the report is stored."""
        prompt = Prompt(
            say=(self.say("tracking", g),),
            spell=number,
            then=(self.say("repeat", g),),
            gather="speech dtmf",
            digits=1,
        )
        return Transition("tracking", g, prompt)

    def prompt(self, step: str, g: Gathered, *, greet: bool = False) -> Prompt:
        """The question of ``step``."""
        before = (self.say("greeting", g),) if greet else ()
        if step == "language":
            words = ("English", "español", "Spanish", "inglés")
            return Prompt((*before, self.say("language", g)), "speech dtmf", words, 1)
        if step == "problem":
            return Prompt((self.say("problem", g),), "speech dtmf", hints(self.u.catalog, g), 1)
        if step == "service":
            service = self._name(g.guess, g)
            return Prompt((self.say("confirm_service", g, service=service),), "speech dtmf")
        if step == "menu":
            return Prompt(menu(self.u.catalog, g, self.say), "speech dtmf", (), 1)
        if step == "attribute":
            return question_prompt(self._questions(g)[g.attribute], g, self.say)
        if step == "place":
            return Prompt((self.say("place", g),), "speech dtmf")
        if step == "place_check":
            place = (g.candidate or {}).get("address") or g.place_text
            return Prompt((self.say("confirm_place", g, place=place),), "speech dtmf", (), 1)
        if step == "record":
            return Prompt((self.say("record", g),), record=True)
        if step == "contact":
            return Prompt((self.say("contact", g),), "speech dtmf", (), 1)
        return Prompt((self.say("text_copy", g),), "speech dtmf", (), 1)

    # Steps -----------------------------------------------------------------------------------

    async def _on_language(self, g: Gathered, heard: Heard) -> Transition:
        chosen = heard_language(heard.speech, heard.digits, self.u.languages)
        return self._go("problem", dataclasses.replace(g, language=chosen or g.language))

    async def _on_problem(self, g: Gathered, heard: Heard) -> Transition:
        if not heard.speech:
            # A key instead of words: the keypad menu.
            return self._go("menu", g)
        emergency = self.u.is_emergency(heard.speech)
        best = self.u.classify(heard.speech).service_code or ""
        g = dataclasses.replace(g, problem=heard.speech, emergency=emergency, guess=best)
        first = (self.say("emergency", g),) if emergency else ()
        return self._go("service" if best in self.by_code else "menu", g, first)

    async def _on_service(self, g: Gathered, heard: Heard) -> Transition:
        if is_yes(heard.speech, heard.digits):
            return self._chosen(g, g.guess)
        if is_no(heard.speech, heard.digits):
            return self._go("menu", g)
        return self._reprompt("service", g)

    async def _on_menu(self, g: Gathered, heard: Heard) -> Transition:
        page = page_of(self.u.catalog, g)
        if heard.digits == "9" and len(self.u.catalog) > PAGE:
            following = (g.page + 1) % pages(self.u.catalog)
            return self._go("menu", dataclasses.replace(g, page=following))
        if heard.digits.isdigit() and 1 <= int(heard.digits) <= len(page):
            return self._chosen(g, page[int(heard.digits) - 1].code)
        spoken = heard.speech.lower()
        for service in self.u.catalog:
            if spoken and service.name(g.language).lower() in spoken:
                return self._chosen(g, service.code)
        return self._reprompt("menu", g)

    async def _on_attribute(self, g: Gathered, heard: Heard) -> Transition:
        question = self._questions(g)[g.attribute]
        answer = heard.speech
        if question.values:
            index = int(heard.digits) - 1 if heard.digits.isdigit() else -1
            if not 0 <= index < len(question.values):
                return self._reprompt("attribute", g)
            answer = question.values[index].key
        answers = {**g.attributes, question.code: answer or heard.digits}
        return self._after_attribute(dataclasses.replace(g, attributes=answers))

    async def _on_place(self, g: Gathered, heard: Heard) -> Transition:
        spoken = heard.speech or heard.digits
        g = dataclasses.replace(g, place_text=spoken)
        found = await self.u.locate(spoken)
        if found is not None:
            return self._go("place_check", dataclasses.replace(g, candidate=plain(found)))
        return self._place_missed(g)

    async def _on_place_check(self, g: Gathered, heard: Heard) -> Transition:
        if is_yes(heard.speech, heard.digits):
            return self._go("record", dataclasses.replace(g, place=g.candidate, candidate=None))
        if is_no(heard.speech, heard.digits):
            return self._place_missed(dataclasses.replace(g, candidate=None))
        return self._reprompt("place_check", g)

    async def _on_record(self, g: Gathered, heard: Heard) -> Transition:
        return self._go("contact", g)

    async def _on_contact(self, g: Gathered, heard: Heard) -> Transition:
        if heard.digits == "2" or "anonym" in heard.speech.lower() or "anónim" in heard.speech:
            return self._file(dataclasses.replace(g, anonymous=True))
        return self._go("text_copy", g)

    async def _on_text_copy(self, g: Gathered, heard: Heard) -> Transition:
        if is_yes(heard.speech, heard.digits):
            return self._file(dataclasses.replace(g, text_copy=True))
        if is_no(heard.speech, heard.digits):
            return self._file(g)
        return self._reprompt("text_copy", g)

    def _tracking(self, g: Gathered, heard: Heard) -> Transition:
        if is_repeat(heard.speech, heard.digits):
            return Transition("tracking", g, Prompt(), file=True)
        return Transition("done", g, Prompt(say=(self.say("goodbye", g),), hangup=True))

    # Moving on -------------------------------------------------------------------------------

    def _go(self, step: str, g: Gathered, first: tuple[str, ...] = ()) -> Transition:
        g = dataclasses.replace(g, tries=0)
        if step == "contact" and not g.caller_known:
            # A withheld caller ID leaves nothing to keep or to text.
            return self._file(dataclasses.replace(g, anonymous=True))
        prompt = self.prompt(step, g)
        return Transition(step, g, dataclasses.replace(prompt, say=first + prompt.say))

    def _file(self, g: Gathered) -> Transition:
        return Transition("tracking", dataclasses.replace(g, tries=0), Prompt(), file=True)

    def _reprompt(self, step: str, g: Gathered) -> Transition:
        """Not understood: ask again, twice; then go on with what is known."""
        return self._no_input(step, g)

    def _no_input(self, step: str, g: Gathered) -> Transition:
        if g.tries < REPROMPTS:
            g = dataclasses.replace(g, tries=g.tries + 1)
            prompt = self.prompt(step, g)
            sorry = (self.say("no_input", g),)
            return Transition(step, g, dataclasses.replace(prompt, say=sorry + prompt.say))
        return self._give_up(step, dataclasses.replace(g, tries=0))

    def _give_up(self, step: str, g: Gathered) -> Transition:
        """After the last reprompt: the default of ``step``."""
        if step == "language":
            return self._go("problem", g)
        if step == "problem":
            return self._go("menu", g)
        if step == "service":
            return self._chosen(g, g.guess)
        if step == "menu":
            return self._after_service(g)
        if step == "attribute":
            return self._after_attribute(g)
        if step == "place":
            return self._go("record", g)
        if step == "place_check":
            return self._go("record", dataclasses.replace(g, place=g.candidate, candidate=None))
        if step == "contact":
            return self._go("text_copy", g)
        return self._file(g)

    def _chosen(self, g: Gathered, code: str) -> Transition:
        return self._after_service(dataclasses.replace(g, service_code=code, attribute=0))

    def _after_service(self, g: Gathered) -> Transition:
        if self._questions(g):
            return self._go("attribute", dataclasses.replace(g, attribute=0))
        return self._to_place(g)

    def _after_attribute(self, g: Gathered) -> Transition:
        if g.attribute + 1 < len(self._questions(g)):
            return self._go("attribute", dataclasses.replace(g, attribute=g.attribute + 1))
        return self._to_place(g)

    def _to_place(self, g: Gathered) -> Transition:
        service = self.by_code.get(g.service_code)
        if service is not None and not service.location_required:
            return self._go("record", g)
        return self._go("place", g)

    def _place_missed(self, g: Gathered) -> Transition:
        if g.place_tries < PLACE_RETRIES:
            g = dataclasses.replace(g, place_tries=g.place_tries + 1)
            return self._go("place", g, (self.say("place_retry", g),))
        kept = Location(address=g.place_text, source="caller", confidence=0.0)
        g = dataclasses.replace(g, place=plain(kept) if g.place_text else None)
        return self._go("record", g, (self.say("place_kept", g),))

    def _operator(self, step: str, g: Gathered) -> Transition:
        closed = self.u.operator_closed(g.language)
        if closed is None and self.u.operator_number:
            prompt = Prompt(say=(self.say("operator", g),), dial=self.u.operator_number)
            return Transition("operator", dataclasses.replace(g, transferred_from=step), prompt)
        prompt = self.prompt(step, g)
        note = (closed or "",)
        return Transition(step, g, dataclasses.replace(prompt, say=note + prompt.say))

    def _name(self, code: str, g: Gathered) -> str:
        service = self.by_code.get(code)
        return service.name(g.language) if service else code

    def _questions(self, g: Gathered) -> list[ServiceAttribute]:
        return questions(self.by_code.get(g.service_code))
