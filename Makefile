# Two commands on a fresh machine: `make run` and `make test`.
# Both create .venv and install the project with everything it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint venv model demo bench clean system-deps

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade "pip>=24"
	$(BIN)/python -m pip install -e ".[dev]"
	@touch $(STAMP)

# Shared libraries Qt's offscreen/xcb platforms need on a bare Debian machine.
system-deps:
	@bash scripts/system_deps.sh

run: venv system-deps
	$(BIN)/soldernet gui

lint: venv
	$(BIN)/ruff check app db inference tests bench
	$(BIN)/lint-imports

# PostgreSQL tests run against a throw-away loopback server when one can be started;
# otherwise they are skipped (and say so).
test: venv system-deps lint
	@set -e; \
	url=$$(scripts/pg_test_server.sh start 2>/tmp/soldernet-pg-start.log) || { \
	  echo "PostgreSQL unavailable: its tests will be skipped (see /tmp/soldernet-pg-start.log)"; url=""; }; \
	status=0; \
	SOLDERNET_TEST_PG_URL="$$url" QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q || status=$$?; \
	[ -z "$$url" ] || scripts/pg_test_server.sh stop 2>/dev/null; \
	exit $$status

# The demo boards in resources/demo (a few MB), byte-identical on every run.
demo: venv
	rm -rf resources/demo/boards resources/demo/recipes resources/demo/truth resources/demo/manifest.csv
	$(BIN)/soldernet synth boards --out resources/demo --n 4 --seed 24 --size demo --quality 90

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
