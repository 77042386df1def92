"""Entry point: ``python -m gateway <command>``."""

from gateway.cli import main

raise SystemExit(main())
