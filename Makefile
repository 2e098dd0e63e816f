# The two commands a fresh machine needs:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PREFECT_LOGGING_LEVEL ?= WARNING

.PHONY: setup demo test lint typecheck unit bench clean

$(BIN)/.installed: pyproject.toml
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

## A full demo round on the embedded default (SQLite file in ./demo-run/)
demo: setup
	rm -rf demo-run && mkdir -p demo-run
	cd demo-run && PREFECT_HOME=$$(mktemp -d) IPFUND_HOME=. ../$(BIN)/ipfund demo

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy rules models flows

## Lint, type-check and the whole test suite: SQLite, then PostgreSQL when reachable (scripts/test.sh)
test: setup lint typecheck
	BIN=$(BIN) bash scripts/test.sh

clean:
	rm -rf $(VENV) demo-run *.egg-info
