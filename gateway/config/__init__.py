"""Configuration: ``config/gateway.toml`` and the service catalog, read, checked and loaded.

``settings`` (the gateway's tables), ``catalog`` (the city's services), ``normalizer`` (the
``[normalizer]`` table and the model, gazetteer and phrases it names), ``checks`` (whole-config
checks for ``check-config`` and start-up), ``toml`` (the one TOML reader).
"""
