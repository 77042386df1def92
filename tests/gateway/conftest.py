"""Gateway tests, by role as ``gateway/`` is laid out: the modules at the top of the package
here (geocoding, housekeeping, media, the record's JSON), the rest in a folder each. From the
parent conftest they use ``database_url``, the fixture paths and the fake CRM."""
