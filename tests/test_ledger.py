"""The reproduction ledger: enough published numbers, statuses computed from results, links to real sections."""
import json
from pathlib import Path

import pytest

from madlib.plots import ledger

REPO = Path(__file__).resolve().parents[1]


def _headings(page: str) -> set[str]:
    cells = json.loads((REPO / f"{page}.ipynb").read_text())["cells"]
    return {line.lstrip("#").strip() for c in cells if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("#")}


def test_the_ledger_lists_at_least_25_published_numbers_each_linked_to_a_real_section():
    assert len(ledger.CLAIMS) >= 25
    bib = (REPO / "references.bib").read_text()
    for claim in ledger.CLAIMS:
        assert claim.section in _headings(claim.page), (claim.page, claim.section)
        assert f"{{{claim.paper}," in bib and claim.paper in ledger.PAPER_LABELS, claim.paper


def test_anchors_are_the_ids_sphinx_gives_the_sections():
    docutils = pytest.importorskip("docutils.nodes")
    for claim in ledger.CLAIMS:
        assert ledger.anchor(claim.section) == docutils.make_id(claim.section), claim.section


def test_statuses_are_computed_from_the_numbers():
    assert ledger.judge_close(0.47, 0.45, se=0.012) == "reproduced"
    assert ledger.judge_close(0.60, 0.45, se=0.012) == "partly"
    assert ledger.judge_close(1.5, 0.45, se=0.012) == "differs"
    assert ledger.judge_close(float("nan"), 0.45) == "not run"
    assert ledger.judge_holds(False, partly=True) == "partly"
    with pytest.raises(ValueError, match="status must be one of"):
        ledger.Measured("x", "fine")


def test_a_cheap_row_runs_and_an_uncached_expensive_row_says_not_run():
    results = ledger.Results()
    essay = next(c for c in ledger.CLAIMS if c.published == "0.45")
    measured = essay.measure(results)
    assert measured.status == "reproduced" and measured.ours.startswith("0.4")
    lm = next(c for c in ledger.CLAIMS if c.words == "20 to 28 perplexity points")
    assert lm.measure(results).status == "not run"  # the test cache never ran chapter 5's transformer


def test_the_html_quotes_only_quoted_words_and_links_each_row():
    table = ledger.ledger_table(_StubResults())
    page = ledger.ledger_html(table)
    assert page.count("<tr>") == len(ledger.CLAIMS) + 1
    assert "href=\"chapters/01_gaussian.html#the-essay-s-experiment-1-000-runs\"" in page
    assert "(paraphrase)" in page and "“even the smallest fraction" in page
    assert set(table["status"]) == {"not run"}  # the stub's results cannot be read: every row says so


class _StubResults(ledger.Results):
    """Results that fail on every read, so the table is built without running anything."""

    def get(self, *args, **kwargs):
        raise KeyError("no results in this test")

    def cached(self, *args, **kwargs):
        return None
