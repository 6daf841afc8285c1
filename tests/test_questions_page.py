"""The questions page's computed numbers and sentences (madlib.plots.questions), built from synthetic results that go
each way, so that the page never says something its run does not show."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from madlib.plots import questions as q
from madlib.theory import gaussian as theory


def _gaussian_table(std: np.ndarray) -> pd.DataFrame:
    """A `gaussian` result's table from a (generations, replicates) array of fitted sigmas."""
    G, R = std.shape
    g, r = np.meshgrid(np.arange(G), np.arange(R), indexing="ij")
    rows = pd.DataFrame({"generation": g.ravel(), "replicate": r.ravel(), "metric": "std", "value": std.ravel()})
    return pd.concat([rows, rows.assign(metric="mean", value=0.0)], ignore_index=True)


def test_tail_share_is_the_normal_tail_relative_to_the_truth():
    assert q.tail_share(1.0) == pytest.approx(1.0)
    # the review's number: at sigma = 0.9, 2 Phi(-2/0.9) = 0.026 against 2 Phi(-2) = 0.046, 43% of the tail lost
    assert 2 * norm.cdf(-2 / 0.9) == pytest.approx(0.0263, abs=5e-4)
    assert 1 - q.tail_share(0.9) == pytest.approx(0.42, abs=0.01)
    with pytest.raises(ValueError, match="threshold"):
        q.tail_share(0.9, threshold=0)


def test_early_late_agrees_with_its_closed_forms_on_runs_that_follow_them():
    g = np.arange(101)
    median = theory.median_std(100, g)
    std = median[:, None] * np.exp(np.linspace(-0.3, 0.3, 41))[None, :]  # symmetric around the median in log
    frame = q.early_late(_gaussian_table(std), n_real=100)
    np.testing.assert_allclose(frame["sigma"], frame["sigma_theory"], rtol=1e-12)
    np.testing.assert_allclose(frame["tail"], frame["tail_theory"], rtol=1e-9)
    facts = q.early_late_facts(frame, n_real=100)
    assert facts["tail_half"] < facts["sigma_half"] == facts["sigma_half_theory"]
    with pytest.raises(ValueError, match="std"):
        q.early_late(pd.DataFrame({"generation": [0], "replicate": [0], "metric": ["mean"], "value": [0.0]}), n_real=5)


def _frame(sigma, tail):
    index = pd.Index(np.arange(len(sigma)), name="generation")
    return pd.DataFrame({"sigma": sigma, "tail": tail, "sigma_theory": sigma, "tail_theory": tail}, index=index)


def test_the_early_late_sentence_says_what_the_run_shows_each_way():
    g = np.arange(101)
    sigma = np.exp(-g / 100)
    tail_first = q.early_late_sentence(q.early_late_facts(_frame(sigma, q.tail_share(sigma)), n_real=100))
    assert "lost half of its tail mass by generation 13" in tail_first and "long before" in tail_first
    assert "at generation 70" in tail_first  # exp(-g/100) <= 0.5 from g = 70
    # a made-up run in which the spread halves first: the sentence must not claim early collapse
    odd = q.early_late_sentence(q.early_late_facts(_frame(sigma, np.where(g < 90, 1.0, 0.1)), n_real=100))
    assert "spread halves first" in odd and "long before" not in odd
    # too short to see the tail halve
    short = q.early_late_sentence(q.early_late_facts(_frame(sigma[:5], q.tail_share(sigma[:5])), n_real=100))
    assert "too short" in short and "long before" not in short
    # the tail halves inside the run, the spread after it: the closed form is quoted for the spread
    later = q.early_late_sentence(q.early_late_facts(_frame(sigma[:30], q.tail_share(sigma[:30])), n_real=100))
    assert "closed form: generation 68" in later


def test_homogeneity_measures_repetition_within_and_between_models():
    distinct = ["the cat sat on the mat", "a dog ran in the park", "birds sing at dawn today", "rain falls on roofs"]
    same = ["what words me such a stand"] * 4
    frame = q.homogeneity({"A": [distinct, same], "B": [distinct[::-1], distinct[::-1]]})
    got = frame.set_index(["generation", "what"])["similarity"]
    assert got[(0, "A")] == 0.0 and got[(1, "A")] == 1.0
    assert got[(1, "B")] == 0.0 and got[(0, "A vs B")] == 0.0
    with pytest.raises(ValueError, match="at least one"):
        q.homogeneity({})


def test_the_homogeneity_sentence_says_what_the_run_shows_each_way():
    distinct = ["the cat sat on the mat", "a dog ran in the park", "birds sing at dawn today", "rain falls on roofs"]
    same = ["what words me such a stand"] * 4
    rising = q.homogeneity_sentence(q.homogeneity({"beam": [distinct, same], "T = 1": [distinct, distinct]}))
    assert "beam (0.00 → 1.00)" in rising and "not T = 1" in rising
    assert "did not converge on each other" in rising
    flat = q.homogeneity_sentence(q.homogeneity({"beam": [distinct, distinct], "T = 1": [distinct, distinct[::-1]]}))
    assert "too short, or too small" in flat and "whatever the prompt:" not in flat
    together = q.homogeneity_sentence(q.homogeneity({"a": [distinct, same], "b": [distinct[::-1], same]}))
    assert "also came to write like each other" in together
    assert "single generation" in q.homogeneity_sentence(q.homogeneity({"a": [distinct]}))


def test_knowledge_curves_follow_the_closed_form():
    curves = q.knowledge_curves(np.linspace(0, 1, 11), truncations=(0.5, 2.0))
    assert (curves.iloc[0] == 0).all()
    assert (np.diff(curves.to_numpy(), axis=0) > 0).all()  # more AI, farther from the truth
    assert (curves[0.5] > curves[2.0]).iloc[1:].all()  # a narrower AI, farther still
    # all of it from an AI returning |x| <= c: affinity sqrt(Z), Z = 2 Phi(c) - 1
    z = 2 * norm.cdf(1.0) - 1
    assert q.knowledge_curves([1.0], truncations=(1.0,)).iloc[0, 0] == pytest.approx(np.sqrt(1 - np.sqrt(z)))


def test_the_page_glues_the_configuration_the_library_runs():
    setup = q.remedy_setup()
    assert setup == {"n": 100, "cats": 100, "reset_every": 10, "scrape_synthetic_share": 0.8, "scrape_bias": 0.8}
