"""``python -m gateway``: the command line, one module per group of commands."""
