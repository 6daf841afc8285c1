# Model Collapse, Hands-On -- the two commands a reader needs: `make book` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: book test test-lib test-notebooks site-check bench clean venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

## Execute every chapter at MADLIB_SCALE=default and render the site into _build/html.
book: $(STAMP)
	MADLIB_SCALE=$${MADLIB_SCALE:-default} $(VENV)/bin/jupyter-book build . --warningiserror --keep-going --builder html

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

bench: $(STAMP)
	$(PY) benchmarks/bench_gaussian.py

clean:
	rm -rf _build .pytest_cache site-check
