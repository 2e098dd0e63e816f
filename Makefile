# The two commands a fresh machine needs:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PREFECT_LOGGING_LEVEL ?= WARNING

.PHONY: setup demo test lint typecheck unit bench clean mutate desk

$(BIN)/.installed: pyproject.toml
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

## The desk's front-end assets: pinned in package-lock.json, fetched from the npm registry, served by the
## desk itself from flows/desk/static/vendor/ (no CDN, no JavaScript build step)
VENDOR = flows/desk/static/vendor
$(VENDOR)/.copied: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	touch $@

setup: $(BIN)/.installed $(VENDOR)/.copied

## The web desk on the demo's database (demo-run/; `ipfund desk` serves any configured database)
desk: setup
	@test -d demo-run || { echo "run make demo first (the desk serves the demo's database in demo-run/)"; exit 1; }
	cd demo-run && IPFUND_HOME=. ../$(BIN)/ipfund desk

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

## Mutation testing of rules/ and the services' duty guard (mutmut, [tool.mutmut] in pyproject.toml):
## not part of `make test` or CI. MUTANTS='rules.money* rules.funds*' runs part; MUTMUT_JOBS workers.
MUTMUT_JOBS ?= 2
MUTANTS ?=
mutate: setup
	rm -rf mutants
	PREFECT_HOME=$$(mktemp -d) $(BIN)/mutmut run --max-children $(MUTMUT_JOBS) $(MUTANTS) > mutants.log 2>&1 \
	  || { tail -n 40 mutants.log; exit 1; }
	$(BIN)/python -c "$$MUTATION_SUMMARY"

define MUTATION_SUMMARY
import collections, json, pathlib
from mutmut.stats import status_by_exit_code
rows = collections.defaultdict(collections.Counter)
for meta in sorted(pathlib.Path("mutants").rglob("*.py.meta")):
    module = str(meta.relative_to("mutants"))[: -len(".meta")]
    for code in json.loads(meta.read_text())["exit_code_by_key"].values():
        rows[module][status_by_exit_code[code]] += 1
def line(name, c):
    tried = sum(c.values()) - c["not checked"]
    dead = c["killed"] + c["timeout"] + c["caught by type check"]
    rate = f"{100 * dead / tried:5.1f} %" if tried else "    -  "
    print(f"{name:32} {tried:6} {c['killed']:7} {c['timeout']:7} {c['survived']:8} {c['no tests']:8}   {rate}")
print(f"{'module':32} {'tried':>6} {'killed':>7} {'timeout':>7} {'survived':>8} {'no tests':>8}   kill rate")
total = collections.Counter()
for module, c in sorted(rows.items()):
    if sum(c.values()) - c["not checked"]:
        line(module, c)
        total.update(c)
line("overall", total)
print("survivors: .venv/bin/mutmut results; one mutant: .venv/bin/mutmut show NAME; log: mutants.log")
endef
export MUTATION_SUMMARY

clean:
	rm -rf $(VENV) demo-run *.egg-info node_modules $(VENDOR)
