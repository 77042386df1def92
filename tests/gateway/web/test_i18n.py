"""Every label of the resident pages exists in every language file, with the same placeholders."""

from __future__ import annotations

import string

from gateway.web.i18n import catalogs


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_label_with_the_same_placeholders() -> None:
    english = catalogs()["en"]
    assert set(catalogs()) >= {"en", "es"}
    for language, labels in catalogs().items():
        assert set(labels) == set(english), language
        for key, text in labels.items():
            assert placeholders(text) == placeholders(english[key]), (language, key)
