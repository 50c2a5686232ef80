# Two commands for everything:  `make lab`  and  `make test`  (plus `make bench`).
# Both create .venv and install requirements.txt on first use (and again when it changes).
# Teachers: `make release`, `make grade`, `make book`, `make test-teaching` add the `teach` extra
# (nbgrader, Sphinx + myst-nb, Playwright) to the same .venv and run the course's tooling in coursetools/;
# see TEACHING.md.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEACH_STAMP := $(VENV)/.installed-teach
CHROMIUM := /usr/bin/chromium

.PHONY: help lab test test-slow sync lint bench release grade sandbox book browser test-teaching clean-env

help:
	@echo "make lab    open JupyterLab on lesson 0 (installs on first use)"
	@echo "make test   unit tests + every notebook in quick mode (nbval)"
	@echo "make test-slow  the slow unit tests (worker processes, the quick benchmark, the studies' drivers)"
	@echo "make sync   rewrite every .ipynb from its .py text twin (after editing a lesson as text)"
	@echo "make lint   ruff on the library, the tests and the lessons' text sources"
	@echo "make bench  the full input-pipeline benchmark (about 15 minutes; outputs/bench/)"
	@echo "make release        student versions of the exercises (outputs/release/)"
	@echo "make grade          autograde outputs/submitted/<student>/<assignment>/ (outputs/grades.csv)"
	@echo "make book           the rendered course with outputs (outputs/book/index.html)"
	@echo "make test-teaching  nbgrader round trip, the book and JupyterLab in a headless browser"

# The course's own JupyterLab settings (jupyter/lab-settings/overrides.json: no news pop-up, no update check);
# --allow-root when run as root (containers, cloud VMs); LAB_ARGS adds flags, e.g. LAB_ARGS="--port=8890".
LAB_ARGS ?=
# JupyterLab opens lesson 0. JUPYTER_PATH puts the course's python3 kernel first: the same ipykernel, but the C++
# libraries' own log lines (TensorFlow's start-up messages) go to this terminal instead of into the lessons.
lab: $(STAMP)
	JUPYTER_PATH="$(CURDIR)/jupyter$(if $(JUPYTER_PATH),:$(JUPYTER_PATH))" $(BIN)/jupyter lab notebooks/ \
		--LabApp.app_settings_dir="$(CURDIR)/jupyter/lab-settings" --LabApp.default_url=/lab/tree/00_start_here.ipynb \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Two pytest workers; --dist loadscope keeps each notebook's cells together, in order, in one kernel.
# Each notebook that passes is saved with its outputs in outputs/executed/, which `make book` reuses.
test: $(STAMP)
	COURSE_QUICK=1 $(BIN)/python -m pytest -n 2 --dist loadscope -m "not teaching and not slow" --save-executed outputs/executed

# The slow unit tests (real worker processes, the quick benchmark, the studies' drivers, ResNet50 set-ups), each
# also exercised by a lesson's quick run; kept out of `make test` to hold it near 4 minutes.
test-slow: $(STAMP)
	COURSE_QUICK=1 $(BIN)/python -m pytest -n 2 --dist loadscope -m slow tests

# The .py twins (jupytext py:percent) are the lessons' sources: this writes each notebook from its twin,
# keeping its cell ids and metadata, then sets each notebook's kernel metadata as JupyterLab's kernel reports it
# (so it opens unmodified). JupyterLab with jupytext keeps the pair in step by itself (notebooks/jupytext.toml).
sync: $(STAMP)
	$(BIN)/jupytext --update --to ipynb notebooks/*.py notebooks/exercises/*/*.py
	$(BIN)/python -m coursetools.notebook_metadata

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m helpers.bench

# The floor: the pinned NumPy 2.4 needs 3.11; every 3.11 patch level passes (3.11.2 and 3.11.7 tested).
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(TEACH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[teach]'
	touch $(TEACH_STAMP)

release: $(TEACH_STAMP)
	$(BIN)/python -m coursetools.grading release

# Student code is graded in a bubblewrap sandbox (coursetools/grading.py, TEACHING.md); as root this installs it.
# TRUSTED=1 grades without one, where none can be had and every submission is trusted. TIME_LIMIT=seconds
# changes the wall time one submission may take (default 1800).
sandbox:
	@command -v bwrap >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -q bubblewrap >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null; }
	@command -v bwrap >/dev/null || [ -n "$(TRUSTED)" ] || { echo "bubblewrap is needed to grade: sudo apt-get install bubblewrap"; exit 1; }

grade: $(TEACH_STAMP) sandbox
	$(BIN)/python -m coursetools.grading grade $(if $(TRUSTED),--trusted) $(if $(TIME_LIMIT),--time-limit $(TIME_LIMIT))

# Full mode by default (hours: it executes every lesson not already run from this source in this mode);
# COURSE_QUICK=1 make book renders a quick run, reusing what `make test` executed.
book: $(TEACH_STAMP)
	$(BIN)/python -m coursetools.book

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser of its own).
browser:
	@test -x $(CHROMIUM) || [ "$$(id -u)" != 0 ] || apt-get install -y -q chromium >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "Debian's chromium is needed: sudo apt-get install chromium"; exit 1; }

# Two workers: the nbgrader round trip on one, the book and JupyterLab on the other.
test-teaching: $(TEACH_STAMP) browser sandbox
	COURSE_QUICK=1 $(BIN)/python -m pytest -m teaching -n 2 --dist loadscope tests/teaching

clean-env:
	rm -rf $(VENV)
