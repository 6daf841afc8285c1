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

.PHONY: book test test-pdf test-lib test-notebooks site-check bench clean clean-cache venv lab notebooks pdf vendor-js \
	install-cell teach slides student-notebooks instructor-notebooks autograde exam teaching-md \
	book-all i18n-update i18n-check i18n-stats pdf-all

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "make: the course needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "      Install one (python.org, or: uv venv --python 3.11) and run: make PYTHON=python3.11" >&2; exit 1; }
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

## The Russian and Chinese editions too (issue 31; locales/README.md): `make book`, then tools/i18n.py renders
## the English edition again with a language switcher, and _build/html/ru and _build/html/zh_CN, from the
## same executed notebooks (the execution cache of make book: nothing executes twice).
book-all: book
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(PY) -m tools.i18n build

## After the English changed: new .pot templates, then the .po catalogues under locales/ (sphinx-intl).
i18n-update: $(STAMP)
	$(PY) -m tools.i18n update

## Fails when a catalogue is stale against the English or a translation breaks MyST syntax.
i18n-check: $(STAMP)
	$(PY) -m tools.i18n check

## How much of each page is translated, per language.
i18n-stats: $(STAMP)
	$(PY) -m tools.i18n stats

## Library unit tests, then every notebook under chapters/ at MADLIB_SCALE=smoke (nbmake).
## A fresh experiment cache each run: the notebooks recompute, never read an old result.
## Then the real book is built and browser-checked, alone: no other kernel runs beside its executor.
test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
	MADLIB_CACHE=$$cache MADLIB_SCALE=smoke $(PY) -m pytest -n $(JOBS) --dist loadfile -q tests chapters --nbmake \
		--nbmake-timeout=120 --ignore=tests/test_book_site.py --ignore=tests/test_pdf.py && \
	MADLIB_SCALE=smoke MADLIB_TEST_BOOK=_build/test-book $(PY) -m pytest -q tests/test_book_site.py

## The PDF of the smoke build that `make test` kept (a few minutes of XeLaTeX; .ci/run runs it after make test).
test-pdf: $(STAMP)
	MADLIB_SCALE=smoke $(PY) -m pytest -q tests/test_pdf.py

## The reader's notebooks in notebooks/ (Colab, Binder, any Jupyter), from the last `make book`:
## numbers filled in, plain Markdown, solutions at the end, the build's figures (tools/plain_notebooks.py).
## Commit them with the release; `make test` fails when a chapter changed after its notebook was made.
notebooks: $(STAMP)
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(PY) -m tools.plain_notebooks

## The whole book as one PDF, _build/pdf/model-collapse-hands-on.pdf, from the last `make book`
## (TeX Live needed: tools/build_pdf.py names the Debian packages; .ci/run installs them).
pdf: $(STAMP)
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(PY) -m tools.build_pdf

## The PDF of every edition: English, Russian (.ru.pdf) and Chinese (.zh_CN.pdf), from the same `make book`
## and the catalogues under locales/ (Chinese also needs texlive-lang-chinese and fonts-noto-cjk).
pdf-all: $(STAMP)
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(PY) -m tools.build_pdf
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(PY) -m tools.build_pdf --language ru
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(PY) -m tools.build_pdf --language zh_CN

## Refresh the vendored JavaScript from package-lock.json (npm): plotly.js's basic bundle for the
## explorers (_ext/vendor/) and axe-core for the accessibility check (tools/vendor/).
vendor-js:
	npm ci --ignore-scripts --no-audit --no-fund
	cp node_modules/plotly.js-basic-dist-min/plotly-basic.min.js _ext/vendor/plotly-basic.min.js
	cp node_modules/plotly.js-basic-dist-min/LICENSE _ext/vendor/plotly-LICENSE.txt
	mkdir -p _ext/vendor/fontawesome/css _ext/vendor/fontawesome/webfonts
	cp node_modules/@fortawesome/fontawesome-free/css/all.min.css _ext/vendor/fontawesome/css/
	cp node_modules/@fortawesome/fontawesome-free/webfonts/*.woff2 _ext/vendor/fontawesome/webfonts/
	cp node_modules/@fortawesome/fontawesome-free/LICENSE.txt _ext/vendor/fontawesome/LICENSE.txt
	cp node_modules/axe-core/axe.min.js tools/vendor/axe.min.js
	cp node_modules/axe-core/LICENSE tools/vendor/axe-core-LICENSE.txt

## After changing the release (madlib/_version.py): every chapter's first cell installs the new tag.
install-cell: $(STAMP)
	$(PY) _ext/install_cell.py --write chapters/*.ipynb

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
