# Two commands for everything:  `make lab`  and  `make test`  (plus `make bench`).
# Both create .venv and install requirements.txt on first use (and again when it changes).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help lab test bench clean-env

help:
	@echo "make lab    open JupyterLab on notebooks/ (installs on first use)"
	@echo "make test   unit tests + every notebook in quick mode (nbval)"
	@echo "make bench  the full input-pipeline benchmark (a few minutes; outputs/bench/)"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Two pytest workers; --dist loadscope keeps each notebook's cells together, in order, in one kernel.
test: $(STAMP)
	COURSE_QUICK=1 $(BIN)/python -m pytest -n 2 --dist loadscope

bench: $(STAMP)
	$(BIN)/python -m helpers.bench

# The floor: the pinned NumPy 2.4 needs 3.11; every 3.11 patch level passes (3.11.2 and 3.11.7 tested).
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

clean-env:
	rm -rf $(VENV)
