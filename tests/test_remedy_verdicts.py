"""Chapters 6 and 7: the collapse verdict (held, settled, falling, lost), the theory fixed points the scoreboard
draws, and every computed sentence of the two chapters, built from synthetic results that go each way."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from madlib.experiments.remedies import expensive_band, theory_fixed_points
from madlib.plots import remedies as R
from madlib.remedies import collapse_verdict
from madlib.simulations.remedies import remedy_curve
from madlib.theory import recursion

G = np.arange(101)


@pytest.mark.parametrize("curve, kind", [
    (np.ones(101), "held"),
    (np.exp(-G / 20), "lost"),                            # to zero: collapse
    (np.exp(-G / 100), "falling"),                        # 0.37 at the end, still declining
    (0.6 + 0.4 * np.exp(-G / 5), "settled"),              # a bounded loss at 0.6
    (np.r_[1.0, np.full(100, np.nan)], "unmeasured"),
])
def test_the_verdict_tells_collapse_from_a_bounded_loss(curve, kind):
    verdict = collapse_verdict(G, curve)
    assert verdict.kind == kind, verdict
    if kind == "settled":
        assert verdict.level == pytest.approx(0.6, abs=0.01) and verdict.short() == "settles 0.60"
    if kind in ("falling", "lost"):
        assert verdict.crossed == int(np.argmax(curve < 0.75))


def test_a_short_flat_run_below_the_threshold_is_too_short_to_call_settled():
    assert collapse_verdict(np.arange(6), [1, 0.7, 0.7, 0.7, 0.7, 0.7]).kind == "too short"
    with pytest.raises(ValueError, match="threshold"):
        collapse_verdict(G, np.ones(101), threshold=0)
    with pytest.raises(ValueError, match="same length"):
        collapse_verdict(G, np.ones(5))


def test_the_gaussian_web_scrape_settles_at_the_theory_fixed_point():
    """V7: the web scrape is a bounded loss at (1-s)/(1-s lambda), not a collapse; the detector's level too."""
    fixed = theory_fixed_points()
    assert fixed["web-scrape"]["variance"] == pytest.approx((1 - 0.8) / (1 - 0.8 * 0.8))
    for remedy in ("web-scrape", "web-scrape-detector"):
        curve = remedy_curve("gaussian", remedy, generations=80, replicates=300)
        verdict = collapse_verdict(curve.index, curve.to_numpy())
        level = float(curve.iloc[40:].mean())
        assert level == pytest.approx(fixed[remedy]["relative_sigma"], abs=0.04), remedy
        assert verdict.kind in ("held", "settled"), verdict


def test_the_kept_share_fixed_point_is_the_exact_recursion_above_the_cruder_one():
    fixed = theory_fixed_points()["keep-real"]
    assert fixed["variance"] == pytest.approx(recursion.kept_fraction_fixed_point(100, 0.1))
    assert fixed["relative_sigma"] > fixed["cruder"]
    assert fixed["variance"] == pytest.approx(20 / 21, abs=0.005)  # about 2fn/(2fn+1)


def test_the_seed_band_spans_the_seeds_each_against_its_own_generation_0():
    table = pd.DataFrame({"metric": "recall", "generation": [0, 1, 0, 1, 0, 1], "replicate": [0, 0, 1, 1, 2, 2],
                          "value": [0.5, 0.25, 0.4, 0.4, 0.8, 0.2]})
    low, high, seeds = expensive_band("vae", table)
    assert seeds == 3 and low.tolist() == [1.0, 0.25] and high.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="family"):
        expensive_band("gaussian", table)


def _cell(verdict, final, *, crossed=None, horizon=100, level=None, seeds=None):
    return {"verdict": verdict, "final_relative_quality": final, "generations_to_collapse": crossed,
            "horizon": horizon, "settled_level": level, "seeds": seeds, "lowest_relative_quality": final}


NAMES = {"none": "replace", "accumulate": "accumulation", "fresh": "fresh data", "keep-real": "keeping 10% real data",
         "verifier": "the oracle verifier", "learned-verifier": "the learned verifier"}


def test_held_sentence_names_what_held_and_what_did_instead():
    every = {f: {"accumulate": _cell("held", 1.0)} for f in R.TOY}
    assert R.held_sentence(every, ["accumulate"], NAMES) == "Accumulation held every toy family."
    mixed = {**every, "cats": {"accumulate": _cell("settled", 0.6, crossed=30, level=0.61)}}
    text = R.held_sentence(mixed, ["accumulate"], NAMES)
    assert text.startswith("Accumulation held the Gaussian and the mixture, but the cats")
    assert "settled at 0.61 (a bounded loss, not a collapse)" in text


def test_keeping_conclusion_says_held_only_where_every_toy_held_and_slowed_only_where_ahead():
    toys = {f: {"fresh": _cell("held", 1.0), "accumulate": _cell("held", 0.98)} for f in R.TOY}
    lm = {"none": _cell("falling", 0.5, crossed=2, horizon=10, seeds=3),
          "fresh": _cell("falling", 0.7, crossed=4, horizon=10, seeds=3),
          "accumulate": _cell("falling", 0.45, crossed=2, horizon=10, seeds=3)}
    text = R.keeping_conclusion({**toys, "lm": lm}, NAMES)
    assert "Fresh data held every toy family and slowed the decline of the language model" in text
    assert "accumulation held every toy family and did not slow the decline" in text
    toys["cats"]["fresh"] = _cell("falling", 0.5, crossed=60)
    assert "fresh data did not hold every toy family" in R.keeping_conclusion({**toys, "lm": lm}, NAMES).lower()


def test_expensive_sentences_say_too_small_at_smoke():
    small = {"vae": {r: _cell("unmeasured", float("nan"), horizon=2, seeds=1) for r in ("none", "fresh")}}
    assert "too small" in R.expensive_sentence(small, "vae", ["none", "fresh"], NAMES)
    assert "too small" in R.slowed_phrase(small, "vae", "fresh", NAMES)
    big = {"vae": {"none": _cell("falling", 0.5, crossed=3, horizon=10, seeds=3),
                   "fresh": _cell("held", 0.9, horizon=10, seeds=3)}}
    text = R.expensive_sentence(big, "vae", ["none", "fresh"], NAMES)
    assert "mean of 3 seeds" in text and "only fresh data held it" in text


def test_self_likelihood_sentence_goes_each_way():
    faster = {f: {"none": _cell("falling", 0.5, crossed=30), "self-likelihood": _cell("lost", 0.0, crossed=5)}
              for f in R.TOY}
    assert R.self_likelihood_sentence(faster).startswith("Filtering by the generator's own likelihood made "
                                                         "collapse faster in every toy family")
    slower = {f: {"none": _cell("falling", 0.5, crossed=5), "self-likelihood": _cell("held", 0.9)} for f in R.TOY}
    assert "did not make any toy family collapse faster" in R.self_likelihood_sentence(slower)


def test_verifier_sentence_goes_each_way():
    close = {f: {"none": _cell("lost", 0.0), "verifier": _cell("held", 1.0), "learned-verifier": _cell("held", 0.98)}
             for f in R.TOY}
    assert R.verifier_sentence(close).startswith("The learned verifier came close to the oracle on the Gaussian")
    close["mixture"]["learned-verifier"] = _cell("lost", 0.1)
    assert "it failed on the mixture (0.10, nearer no filter's 0.00" in R.verifier_sentence(close)


def test_between_and_order_sentences():
    assert "between the two" in R.between_sentence(10.0, 1.6, 3.0) and "nearer accumulate" in R.between_sentence(10.0, 1.6, 3.0)
    assert "above both" in R.between_sentence(10.0, 1.6, 12.0)
    assert R.order_sentence({"a": 30.0, "b": 20.0}, lower_is_better=True) == "b (20) < a (30)"
    assert R.order_sentence({"a": float("nan")}, lower_is_better=True) == "not measured at this scale"


def test_verdict_overview_and_settled_sentence():
    table = pd.DataFrame({"family": "gaussian", "remedy": ["none", "keep-real", "web-scrape"],
                          "label": ["replace", "keep 10% real", "web scrape"],
                          "verdict": ["falling", "held", "settled"], "settled_level": [None, None, 0.75]})
    assert R.verdict_overview(table) == ("Of the 3 curves, 1 held, 1 settled at a bounded loss and 1 were still "
                                         "falling at their horizon.")
    text = R.settled_sentence(table, {"web-scrape": {"relative_sigma": 0.745}})
    assert text == "For the Gaussian, *web scrape* at 0.750 (theory's fixed point 0.745) settled: a permanent but bounded loss."
    assert "No curve" in R.settled_sentence(table.iloc[:2], {})


def test_verifier_sentence_says_above_and_part_way_where_they_apply():
    cells = {"gaussian": (0.99, 0.98, 0.5), "cats": (0.90, 1.00, 0.0), "mixture": (1.0, 0.8, 0.6)}
    families = {f: {"verifier": _cell("held", o), "learned-verifier": _cell("held", l_), "none": _cell("lost", n0)}
                for f, (o, l_, n0) in cells.items()}
    text = R.verifier_sentence(families)
    assert "it ended above the oracle on the cats (1.00 against the oracle's 0.90)" in text
    assert "it went only part of the way on the mixture (0.80 against the oracle's 1.00 and no filter's 0.60)" in text


def test_shortfall_sentence_goes_each_way():
    assert R.shortfall_sentence(0.87, 1.0).startswith("ends below that line")
    assert R.shortfall_sentence(1.07, 1.0).startswith("ends above that line")
    assert R.shortfall_sentence(1.01, 1.0) == "ends on that line over this horizon"
    assert R.shortfall_sentence(float("nan"), 1.0) == "was not measured at this scale"
