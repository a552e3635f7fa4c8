# RNN Recipes: `make lab` to follow the course, `make test` to run everything CI runs.
#
# Two environments, both built from lock files (exact versions of the last green run):
# - .venv, the course: Google Colab's own versions (requirements-colab.txt: TensorFlow 2.20,
#   Keras 3.13, NumPy 2.1, JAX 0.7, on Python 3.13 where the machine has it), then our package
#   (not editable, as in Colab) with every notebook's extra, Jupyter Lab and nbmake. The notebooks
#   and the TensorFlow and JAX recipe tests run here, exactly as learners get them.
# - .venv-latest: the newest TensorFlow and Keras of the day the lock was made, plus the PyTorch
#   CPU build: the TensorFlow and PyTorch recipe tests, for users who copy recipes into current
#   projects.
# - .venv-oldest (make test-oldest, not part of make test): the oldest versions we claim in
#   pyproject.toml, exactly (requirements-oldest.txt: Keras 3.10, TensorFlow 2.16, NumPy 1.26),
#   plus the PyTorch CPU build: the TensorFlow and PyTorch recipe tests.

# Python 3.13 as on Colab where the machine has one (on PATH or under pyenv), else python3.
PYTHON ?= $(firstword $(foreach p,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3,\
            $(shell $(p) -c 'import sys; print(sys.executable if sys.version_info >= (3, 10) else "")' 2>/dev/null)))
LATEST_PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LATEST := .venv-latest
# TensorFlow 2.16 has builds for Python 3.9 to 3.12 only.
OLDEST_PYTHON ?= python3.11
OLDEST := .venv-oldest
PIP     = $(BIN)/python -m pip install --quiet --disable-pip-version-check
# Colab's pins and the lock are for Colab's Python, 3.13 (SciPy 1.18 needs 3.12, JAX 0.7 3.11):
# with another Python, .venv gets the loose bounds of pyproject.toml (the newest releases).
COLAB   = $(shell $(BIN)/python -c 'import sys; print("yes" if sys.version_info[:2] == (3, 13) else "")' 2>/dev/null)
LOCK    = $(if $(COLAB),-c requirements-lock.txt)
# The notebooks run in a copy outside the checkout (as in Colab: no repository beside them),
# with the network cut where the machine allows it (a network namespace with loopback only).
NBDIR  ?= $(or $(TMPDIR),/tmp)/rnn-recipes-notebooks
# NBMAKE_ARGS=--overwrite keeps the executed copies (with their outputs) in NBDIR.
NBMAKE_ARGS ?=
OFFLINE = $(shell unshare -rn true 2>/dev/null && echo $(CURDIR)/tests/offline.sh)
# The recipe tests and the notebooks run in this many processes (pytest-xdist; JOBS=1: one at a time).
JOBS   ?= 2
XDIST   = -n $(JOBS) --dist load
# Jupyter refuses to start as root without this flag (containers, cloud VMs, CI).
# LAB_OPTIONS adds more (tests/check_lab.py: headless, a port and a token).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_OPTIONS ?=

.PHONY: lab test test-recipes test-notebooks test-lab test-latest test-oldest notebooks \
        benchmarks checkpoints lock clean help
.DEFAULT_GOAL := help

help:
	@echo "make lab         create .venv (Colab's versions + the course), open Jupyter Lab on notebooks/"
	@echo "make test        everything CI runs: the setup cells as in Colab, recipe tests on 3 backends,"
	@echo "                 every notebook as in Colab, make lab's server, the recipes on the newest Keras"
	@echo "make test-oldest the recipe tests on the oldest Keras, TensorFlow and NumPy we claim (not in make test)"
	@echo "make notebooks   re-execute every notebook in place (commits their outputs)"
	@echo "make benchmarks  time the recipes against the Keras built-ins (and reservoirpy)"
	@echo "make checkpoints train the full-scale models of training/ into data/checkpoints (about 3 1/3 hours on 2 cores, resumable: 44 + 20 + 105 + 32 min measured)"
	@echo "make lock        refresh requirements-lock.txt and requirements-latest-lock.txt"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "RNN Recipes needs Python 3.10 or newer: none found (set PYTHON=...)"; exit 1; }
	@echo "=== creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)

# Colab's preinstalled packages first; then every notebook's setup cell, run as in Colab (it must
# install our package with its extra and change no installed version: tests/check_setup_cells.py);
# then the tools (Jupyter Lab, nbmake, Hypothesis).
$(VENV)/.packages: requirements-colab.txt requirements-lock.txt requirements-tools.txt pyproject.toml \
                   tests/check_setup_cells.py $(wildcard notebooks/*.ipynb) | $(BIN)/python
	$(if $(COLAB),$(PIP) $(LOCK) -r requirements-colab.txt,@echo "=== $$($(BIN)/python --version) is not Colab's 3.13: no Colab pins, no lock, the newest releases")
	$(BIN)/python tests/check_setup_cells.py $(if $(COLAB),--lock requirements-lock.txt)
	$(PIP) $(LOCK) ".[all]" -r requirements-tools.txt
	@touch $@

# Our package, not editable (as the setup cell installs it), reinstalled whenever recipes/ changes.
$(VENV)/.recipes: $(VENV)/.packages $(wildcard recipes/*.py)
	$(PIP) --no-deps --force-reinstall .
	@touch $@

lab: $(VENV)/.recipes
	$(BIN)/jupyter lab $(LAB_ARGS) $(LAB_OPTIONS) notebooks/

test: test-recipes test-notebooks test-lab test-latest

# The recipe tests import recipes/ from this checkout (pytest runs from here).
# On JAX most of their time is XLA compiling hundreds of small programs once each: without LLVM's
# optimisation passes (JAX_TEST_XLA_FLAGS) they compile in about a third less CPU time and compute
# the same values (the tests compare with NumPy references to float32 tolerances).
JAX_TEST_XLA_FLAGS ?= --xla_backend_optimization_level=0
test-recipes: $(VENV)/.recipes
	@for backend in tensorflow jax; do \
		echo "=== recipe tests, KERAS_BACKEND=$$backend, Colab's versions ($(VENV))"; \
		flags=$$([ $$backend = jax ] && echo "$(JAX_TEST_XLA_FLAGS)"); \
		KERAS_BACKEND=$$backend XLA_FLAGS="$$flags" $(BIN)/python -m pytest tests -q $(XDIST) --ignore=tests/test_policies.py || exit 1; \
		KERAS_BACKEND=$$backend XLA_FLAGS="$$flags" $(BIN)/python -m pytest tests/test_policies.py -q $(XDIST) || exit 1; \
	done

# --durations prints every notebook's run time, with another notebook beside it: the budget is 3
# minutes each alone on 2 CPU cores (5 for notebooks 15 and 16); the timeout (per cell) is a guard
# with room for a loaded machine, not the budget.
# The solutions notebooks run too, except those too long for CI's budget (SLOW_SOLUTIONS, by
# number: measured with `make notebooks`, which runs them all and commits their outputs).
SLOW_SOLUTIONS ?= 00 01 02 03 04 05 06 07 08 09 10 12 13 14 15 16 17 18
CI_SOLUTIONS = $(filter-out $(foreach n,$(SLOW_SOLUTIONS),notebooks/solutions/$(n)_%),$(wildcard notebooks/solutions/*.ipynb))
# Two notebooks run at a time (XDIST, as the recipe tests): a notebook's kernel keeps about one core
# busy (12 and 16 alone: 103% and 100% CPU, 187 s one after the other, 102 s side by side), so on
# 2 cores the notebooks' part of CI takes 1.64x less time (README, "CI time"). The longest start
# first (NB_FIRST, by number) so that no long one is left to run alone at the end.
NB_FIRST ?= 15 06 08 09 02 05 19
NB_FILES  = $(notdir $(wildcard notebooks/*.ipynb) $(CI_SOLUTIONS))
NB_ORDER  = $(foreach n,$(NB_FIRST),$(filter $(n)_%,$(NB_FILES))) $(filter-out $(addsuffix _%,$(NB_FIRST)),$(NB_FILES))
test-notebooks: $(VENV)/.recipes
	@echo "=== notebooks (nbmake, TensorFlow backend, $(JOBS) at a time) in $(NBDIR), $(if $(OFFLINE),network cut,NETWORK NOT CUT: unshare is not available here)"
	@echo "=== solutions not run here (too long for CI, run by make notebooks): $(or $(SLOW_SOLUTIONS),none)"
	@rm -rf $(NBDIR) && mkdir -p $(NBDIR) && cp notebooks/*.ipynb $(CI_SOLUTIONS) $(NBDIR)/
	cd $(NBDIR) && KERAS_BACKEND=tensorflow RNN_RECIPES_DATA=$(CURDIR)/data $(OFFLINE) $(abspath $(BIN))/python -m pytest -p no:cacheprovider \
		$(XDIST) --nbmake --nbmake-timeout=400 --durations=0 $(NBMAKE_ARGS) $(NB_ORDER)

# `make lab` itself: the server starts headless, lists the notebooks through its API and stops.
test-lab: $(VENV)/.recipes
	@echo "=== make lab (headless)"
	$(BIN)/python tests/check_lab.py

# The newest TensorFlow and Keras, and PyTorch (CPU build), from their own lock.
$(LATEST)/.packages: requirements-latest-lock.txt requirements-backends.txt requirements-tools.txt pyproject.toml
	@test -x $(LATEST)/bin/python || $(LATEST_PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check -c requirements-latest-lock.txt \
		-r requirements-backends.txt ".[all]" -r requirements-tools.txt
	@touch $@

test-latest: $(LATEST)/.packages
	@for backend in tensorflow torch; do \
		echo "=== recipe tests, KERAS_BACKEND=$$backend, newest Keras ($(LATEST))"; \
		KERAS_BACKEND=$$backend $(LATEST)/bin/python -m pytest tests -q $(XDIST) --ignore=tests/test_policies.py || exit 1; \
		KERAS_BACKEND=$$backend $(LATEST)/bin/python -m pytest tests/test_policies.py -q $(XDIST) || exit 1; \
	done

# The oldest Keras, TensorFlow and NumPy that pyproject.toml allows, and PyTorch (CPU build): the
# recipe tests, with the notebooks' text and speech extras (the packages the tests import).
$(OLDEST)/.packages: requirements-oldest.txt pyproject.toml
	@test -x $(OLDEST)/bin/python || $(OLDEST_PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-oldest.txt \
		".[text,speech]"
	@touch $@

test-oldest: $(OLDEST)/.packages
	@for backend in tensorflow torch; do \
		echo "=== recipe tests, KERAS_BACKEND=$$backend, oldest Keras ($(OLDEST))"; \
		KERAS_BACKEND=$$backend $(OLDEST)/bin/python -m pytest tests -q $(XDIST) --ignore=tests/test_policies.py || exit 1; \
		KERAS_BACKEND=$$backend $(OLDEST)/bin/python -m pytest tests/test_policies.py -q $(XDIST) || exit 1; \
	done

notebooks: $(VENV)/.recipes
	cd notebooks && KERAS_BACKEND=tensorflow ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace *.ipynb
	if [ -d notebooks/solutions ]; then cd notebooks/solutions && KERAS_BACKEND=tensorflow \
		../../$(BIN)/jupyter nbconvert --to notebook --execute --inplace *.ipynb; fi

# The full-scale models (data/checkpoints/, README "At full scale"): each script of training/ trains
# one from scratch with fixed seeds, resumes after an interruption (run `make checkpoints` again),
# and writes NAME.keras with NAME.json. They import recipes/ from this checkout, which must be
# committed (the JSON names the commit). tests/test_checkpoints.py re-evaluates every checkpoint.
TRAINING ?= training/lm_shakespeare.py training/fsdd_digits.py training/g2p_cmudict.py training/copy_task.py
checkpoints: $(VENV)/.recipes
	@for script in $(TRAINING); do \
		echo "=== $$script"; KERAS_BACKEND=tensorflow $(BIN)/python $$script || exit 1; \
	done

# requirements-benchmarks.txt: what only benchmarks/ imports (reservoirpy, the peer of benchmarks/reservoir.py).
benchmarks: $(LATEST)/.packages
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check -c requirements-latest-lock.txt \
		-r requirements-benchmarks.txt
	@for script in benchmarks/*.py; do \
		for backend in tensorflow jax torch; do KERAS_BACKEND=$$backend $(LATEST)/bin/python $$script || exit 1; done; \
	done

# Refresh both locks from today's releases (Colab's pins stay as requirements-colab.txt says).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -r requirements-colab.txt
	.venv-lock/bin/python -m pip install --quiet -c requirements-colab.txt ".[all]" -r requirements-tools.txt
	{ echo "# make lock, $$(date -u +%F), $$(.venv-lock/bin/python --version): Colab's pins + the course + tools"; \
	  .venv-lock/bin/python -m pip freeze --exclude rnn-recipes | sed 's/+[a-z0-9.]*$$//'; } > requirements-lock.txt
	rm -rf .venv-lock && $(LATEST_PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -r requirements-backends.txt ".[all]" -r requirements-tools.txt
	{ echo "# make lock, $$(date -u +%F), $$(.venv-lock/bin/python --version): newest course + torch CPU"; \
	  .venv-lock/bin/python -m pip freeze --exclude rnn-recipes | sed 's/+[a-z0-9.]*$$//'; } > requirements-latest-lock.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(LATEST) $(OLDEST) .venv-lock .pytest_cache
