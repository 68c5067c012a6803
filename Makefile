# The README's two commands: `make demo` and `make test`. Everything else is a helper target.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= demo

.PHONY: help demo test lint bench lab clean

help:
	@echo "make demo   - set up .venv and run the workbench end to end on the embedded tabletop scenarios"
	@echo "make test   - set up .venv (with the spark and test extras) and run the whole test suite (ruff, mypy, slow tests)"
	@echo "make bench  - run the benchmarks in bench/ (peers in their own .venv-bench)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: re-install when pyproject.toml changes.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (workbench)" >/dev/null
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e ".[dev,spark,test]"
	touch $@

demo: $(VENV)/.installed-dev
	$(BIN)/workbench demo --out $(OUT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	scripts/with-test-services.sh $(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	bash bench/run.sh

lab: $(VENV)/.installed-dev
	$(BIN)/workbench lab

clean:
	rm -rf $(OUT) reports test-artifacts .pytest_cache
