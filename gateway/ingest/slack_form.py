"""The report form a bare ``/311`` opens: a Slack modal (Block Kit) in the resident's language.

https://api.slack.com/reference/surfaces/views and https://api.slack.com/reference/block-kit:
a service menu from the catalog, the description, the address, a photo (``file_input``) and an
"anonymous" box. Its block ids are the ones ``channels.slack`` reads back from the submission.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels._slack.payloads import (
    ADDRESS,
    ANONYMOUS,
    DESCRIPTION,
    FORM_CALLBACK,
    PHOTO,
    SERVICE,
)
from gateway.records import Service

# Slack's limits: 100 options in a static menu, 24 characters in a modal's title.
_MAX_OPTIONS = 100
_LABELS = {
    "en": {
        "title": "Report a problem",
        "submit": "Send",
        "close": "Cancel",
        SERVICE: "What is it?",
        DESCRIPTION: "Describe the problem",
        ADDRESS: "Where is it? (address or cross streets)",
        PHOTO: "Photo",
        ANONYMOUS: "Report anonymously (we cannot write back to you)",
    },
    "es": {
        "title": "Reportar un problema",
        "submit": "Enviar",
        "close": "Cancelar",
        SERVICE: "¿Qué es?",
        DESCRIPTION: "Describa el problema",
        ADDRESS: "¿Dónde está? (dirección o calles)",
        PHOTO: "Foto",
        ANONYMOUS: "Reportar de forma anónima (no podremos responderle)",
    },
}


def report_form(catalog: Sequence[Service], language: str) -> dict[str, Any]:
    """The modal's view object for ``views.open``."""
    label = _LABELS.get(language, _LABELS["en"])
    options = [
        {"text": _plain(service.name(language)[:75]), "value": service.code}
        for service in catalog[:_MAX_OPTIONS]
    ]
    blocks = [
        _input(SERVICE, label[SERVICE], {"type": "static_select", "options": options}),
        _input(DESCRIPTION, label[DESCRIPTION], {"type": "plain_text_input", "multiline": True}),
        _input(ADDRESS, label[ADDRESS], {"type": "plain_text_input"}, optional=True),
        _input(
            PHOTO,
            label[PHOTO],
            {"type": "file_input", "filetypes": ["jpg", "jpeg", "png", "heic"], "max_files": 3},
            optional=True,
        ),
        _input(
            ANONYMOUS,
            label[ANONYMOUS],
            {
                "type": "checkboxes",
                "options": [{"text": _plain(label[ANONYMOUS]), "value": "anonymous"}],
            },
            optional=True,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": language,
        "title": _plain(label["title"][:24]),
        "submit": _plain(label["submit"]),
        "close": _plain(label["close"]),
        "blocks": blocks,
    }


def _input(
    block: str, text: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block,
        "optional": optional,
        "label": _plain(text),
        "element": {**element, "action_id": block},
    }


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}
