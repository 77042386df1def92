# Every target installs what it needs into .venv first, so a fresh clone needs only `make run` or
# `make test`. The only system requirement is Python 3.11+ with venv (Debian: python3-venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint bench install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is required"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { \
		command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The embedded default: SQLite, every enabled channel's webhook, SMTP, the delivery worker.
# Without TWILIO_AUTH_TOKEN in the environment a random local one is made once in var/dev.env,
# so that the demo runs; `.venv/bin/gateway twilio-sign` signs test requests with it.
run: $(STAMP)
	@mkdir -p var
	@if [ -z "$$TWILIO_AUTH_TOKEN" ] && [ ! -f var/dev.env ]; then \
		echo "TWILIO_AUTH_TOKEN=$$($(PY) -c 'import secrets; print(secrets.token_hex(16))')" > var/dev.env; \
		echo "made a local demo TWILIO_AUTH_TOKEN in var/dev.env"; fi
	@set -a; [ -n "$$TWILIO_AUTH_TOKEN" ] || . ./var/dev.env; set +a; exec $(PY) -m gateway run

# The browser tests drive Debian's chromium (never a downloaded browser build).
test: $(STAMP)
	@[ -x /usr/bin/chromium ] || ! command -v apt-get >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq chromium; }
	$(PY) -m pytest

# The hostile-input suite in full: 10,000 generated inputs (a fixed seed) against every endpoint
# and the SMTP listener; `make test` runs a short 300-input pass of the same suite.
FUZZ_INPUTS ?= 10000
fuzz: $(STAMP)
	FUZZ_INPUTS=$(FUZZ_INPUTS) $(PY) -m pytest -q -m fuzz tests/hostile

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var/gateway.db var/gateway.db-* var/cases var/dev.env
