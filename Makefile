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

test: venv system-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
