# Model Collapse, Hands-On -- the two commands a reader needs: `make book` and `make test`,
# and `make lab` to open a chapter in JupyterLab.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2   # test workers (pytest -n) and chapters executed side by side by make book
# make lab: the notebook it opens, the port (the next free one if taken), extra options
# (headless: make lab LAB_ARGS=--no-browser).
LAB_STAMP  := $(VENV)/.lab-installed
CHAPTER    ?= chapters/01_gaussian.ipynb
LAB_PORT   ?= 8888
LAB_ARGS   ?=
# make book: extra options for jupyter-book build, e.g. BOOK_ARGS="--path-output /tmp/book".
BOOK_ARGS  ?=

.PHONY: book test test-lib test-notebooks site-check bench clean clean-cache venv lab \
	teach slides student-notebooks instructor-notebooks autograde exam teaching-md

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

## Execute every chapter at MADLIB_SCALE=default and render the site into _build/html.
## tools/build_book.py executes the chapters the execution cache cannot answer, JOBS at a time, then runs
## `jupyter-book build . --warningiserror --keep-going --builder html` and checks the site; a short log:
## one line per chapter with its time, long cells every minute, the page to open at the end. It exits
## non-zero, naming the chapter and cell, whenever a chapter fails: on the first build and every rebuild.
book: $(STAMP)
	MADLIB_SCALE=$${MADLIB_SCALE:-default} JOBS=$(JOBS) $(PY) -m tools.build_book . $(BOOK_ARGS)

## Library unit tests, then every notebook under chapters/ at MADLIB_SCALE=smoke (nbmake).
## A fresh experiment cache each run: the notebooks recompute, never read an old result.
## Then the real book is built and browser-checked, alone: no other kernel runs beside its executor.
test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
	MADLIB_CACHE=$$cache MADLIB_SCALE=smoke $(PY) -m pytest -n $(JOBS) --dist loadfile -q tests chapters --nbmake \
		--nbmake-timeout=120 --ignore=tests/test_book_site.py && \
	MADLIB_SCALE=smoke $(PY) -m pytest -q tests/test_book_site.py

test-lib: $(STAMP)
	MADLIB_SCALE=smoke $(PY) -m pytest -n $(JOBS) -q tests

## Build the book at smoke scale, serve it on localhost and check every page in headless Chromium.
site-check: $(STAMP)
	MADLIB_SCALE=smoke $(VENV)/bin/jupyter-book build . --warningiserror --keep-going --builder html
	$(PY) -m tools.sitecheck _build/html --screenshots site-check

## JupyterLab (requirements-lab.txt) goes into the same .venv, once; book, test and CI never install it.
$(LAB_STAMP): $(STAMP) requirements-lab.txt
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-lab.txt
	touch $(LAB_STAMP)

## Open a chapter in JupyterLab with the course's kernel and the explorers' widgets.
## The kernel is also registered as "madlib" (Python (madlib)) for other Jupyter front ends.
## The repository is Lab's root folder (the file browser shows every chapter); as root (a container),
## Jupyter wants --allow-root, which is added there.
lab: $(LAB_STAMP)
	$(PY) -m ipykernel install --user --name madlib --display-name "Python (madlib)"
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. --port=$(LAB_PORT) $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS) $(CHAPTER)

## The instructor kit (issue 30; teaching.md and teaching/README.md): everything under _build/teaching
## and _build/slides, never in the public site.
teach: student-notebooks instructor-notebooks exam slides

## One reveal.js deck per chapter, offline, from the book's figures at MADLIB_SCALE (default, as make book;
## after make book every figure comes from the experiment cache): _build/slides/index.html.
slides: $(STAMP)
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(PY) -m tools.teach.slides --out _build/slides

## Student notebooks (no solutions) and instructor notebooks with answer keys, from the chapters.
student-notebooks: $(STAMP)
	$(PY) -m tools.teach.notebooks student --out _build/teaching
instructor-notebooks: $(STAMP)
	$(PY) -m tools.teach.notebooks instructor --out _build/teaching

## Grade handed-in notebooks with the chapters' checkers: make autograde SUBMISSIONS="hand-in/*.ipynb"
## (without SUBMISSIONS: grade the reference solutions, which must all pass).
SUBMISSIONS ?=
autograde: $(STAMP)
	@if [ -n "$(SUBMISSIONS)" ]; then \
		$(PY) -m tools.teach.autograde $(SUBMISSIONS) --csv _build/teaching/grades.csv --json _build/teaching/grades.json; \
	else \
		$(PY) -m tools.teach.autograde --reference --csv _build/teaching/reference-grades.csv; \
	fi

## The exam bank as QTI (LMS import), text2qti text and answer keys: _build/teaching/exam/.
exam: $(STAMP)
	$(PY) -m tools.teach.exam --out _build/teaching/exam

## Regenerate teaching.md's lecture-path tables and plans from teaching/paths.yml.
teaching-md: $(STAMP)
	$(PY) -m tools.teach.paths

bench: $(STAMP)
	$(PY) benchmarks/bench_gaussian.py

clean:
	rm -rf _build .pytest_cache site-check

## Delete the experiment cache (every result and checkpoint): $MADLIB_CACHE if set, else .madlib_cache/.
## `madlib cache clean` deletes only a folder that, resolved, carries the CACHEDIR.TAG madlib writes into
## every cache folder it creates (never a home, a system folder or a folder you once pointed MADLIB_CACHE at).
## `$(PY) -m madlib cache info` shows its size and contents. The next book build recomputes what it needs.
clean-cache:
	@test -x $(PY) || { echo "clean-cache: $(PY) is missing (make venv): madlib made no cache without it" >&2; exit 1; }
	$(PY) -m madlib cache clean
