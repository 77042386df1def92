"""Mail parsing tests: ``channels._mail`` on built messages and on every sample mail, the
``EMAILS`` of the parent conftest; no app, no database."""
