"""The release: its version, and the git tag that the chapters' install cell installs.

One place defines both. ``pyproject.toml`` reads ``__version__`` (``[tool.setuptools.dynamic]``),
``_ext/install_cell.py`` writes ``RELEASE_TAG`` into every notebook's first cell, CITATION.cff and
CHANGELOG.md name the same version (``tests/test_release.py`` checks that they agree). To release:
bump ``__version__``, add its CHANGELOG.md section and CITATION.cff version, run
``make install-cell notebooks``, commit, then ``git tag v<version>`` on that commit.

This file must parse on any Python 3: ``madlib/__init__.py`` imports it before the version check.
"""
__version__ = "0.1.0"
RELEASE_TAG = "v" + __version__
# The distribution name on PyPI and in ``pip install`` (``madlib`` on PyPI is another project);
# the import name stays ``madlib``.
DISTRIBUTION = "model-collapse-hands-on"
# The oldest Python the library runs on (pyproject's requires-python says the same; tested).
MIN_PYTHON = (3, 11)
