# RNN Recipes: `make lab` to follow the course, `make test` to run everything CI runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The notebooks are written for the TensorFlow backend; the recipe tests run on all three.
BACKENDS := tensorflow jax torch

.PHONY: lab test test-recipes test-notebooks notebooks benchmarks clean help
.DEFAULT_GOAL := help

help:
	@echo "make lab         create .venv, install the course and open Jupyter Lab on notebooks/"
	@echo "make test        create or reuse .venv and run the whole suite (3 backends + every notebook)"
	@echo "make notebooks   re-execute every notebook in place (commits their outputs)"
	@echo "make benchmarks  time the recipes against the Keras built-ins"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "RNN Recipes needs Python 3.10 or newer, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The course: TensorFlow, Keras, Jupyter, the data packages, and `recipes` in editable mode.
$(VENV)/.course: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	@touch $@

# JAX and the PyTorch CPU build, needed only to test the recipes on every backend.
$(VENV)/.backends: requirements-backends.txt | $(VENV)/.course
	$(BIN)/python -m pip install --quiet -r requirements-backends.txt
	@touch $@

lab: $(VENV)/.course
	$(BIN)/jupyter lab notebooks/

test: test-recipes test-notebooks

test-recipes: $(VENV)/.course $(VENV)/.backends
	@for backend in $(BACKENDS); do \
		echo "=== recipe tests, KERAS_BACKEND=$$backend"; \
		KERAS_BACKEND=$$backend $(BIN)/python -m pytest tests -q --ignore=tests/test_policies.py || exit 1; \
		KERAS_BACKEND=$$backend $(BIN)/python -m pytest tests/test_policies.py -q || exit 1; \
	done

# --durations prints every notebook's run time: the budget is 3 minutes each on 2 CPU cores (5 for
# notebooks 15 and 16); the timeout is a guard with room for a loaded machine, not the budget.
test-notebooks: $(VENV)/.course
	@echo "=== notebooks (nbmake, TensorFlow backend)"
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest --nbmake --nbmake-timeout=400 --durations=0 notebooks

notebooks: $(VENV)/.course
	cd notebooks && KERAS_BACKEND=tensorflow ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace *.ipynb

benchmarks: $(VENV)/.course $(VENV)/.backends
	@for script in benchmarks/*.py; do \
		for backend in $(BACKENDS); do KERAS_BACKEND=$$backend $(BIN)/python $$script || exit 1; done; \
	done

clean:
	rm -rf $(VENV) .pytest_cache
