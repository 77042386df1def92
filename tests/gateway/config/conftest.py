"""Config tests: settings, the service catalog and the ``[normalizer]`` table, loaded from files
written under ``tmp_path`` and from the repository's own ``config/`` (``REPO_ROOT`` from the
parent conftest); no app, no database."""
