"""Store tests: the migrations against the schema the code describes, on every test database
through ``database_url`` from the parent conftest."""
