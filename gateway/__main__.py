"""Entry point: ``python -m gateway <command>``."""

from gateway.cli.main import main

raise SystemExit(main())
