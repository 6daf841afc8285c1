"""Chapter 4's computed sentences, built from synthetic results that go each way: each says what the numbers say."""
import numpy as np
import pytest

from madlib.plots import vae as figures


def summary(by_seed, metric="recall", **extra):
    values = np.asarray(by_seed, dtype=float)
    out = {metric: values.mean(0).tolist(), "replicates": values.shape[0], **extra}
    if values.shape[0] > 1:
        out[f"{metric}_by_replicate"] = values.tolist()
    return out


def test_by_seed_and_paired_difference():
    three = summary([[0.9, 0.5], [0.8, 0.4], [0.7, 0.3]])
    assert figures.by_seed(three, "recall").shape == (3, 2)
    assert figures.by_seed(summary([[0.9, 0.5]]), "recall").shape == (1, 2)
    other = summary([[0.9, 0.7], [0.8, 0.6], [0.7, 0.2]])
    assert np.allclose(figures.paired_difference(other, three, "recall"), [0.2, 0.2, -0.1])
    with pytest.raises(ValueError, match="same seeds"):
        figures.paired_difference(other, summary([[0.9, 0.5]]), "recall")
    with pytest.raises(ValueError, match="metric"):
        figures.by_seed(three, "fid")


def test_effect_sentence_each_way():
    kw = dict(metric="Recall", higher_is_better=True, treatment="Bernoulli draws", control="decoder means")
    better = figures.effect_sentence([0.15, 0.2, 0.24], **kw)
    assert "Bernoulli draws is better than decoder means in all 3 seeds (by 0.15 to 0.24)" in better
    assert "worse" in figures.effect_sentence([-0.15, -0.2, -0.1], **kw)
    # for FID lower is better: a positive difference is worse
    assert "worse" in figures.effect_sentence([30, 40], metric="FID", higher_is_better=False, treatment="a", control="b")
    mixed = figures.effect_sentence([0.1, -0.05, 0.02], **kw)
    assert "do not agree" in mixed and "+0.10, -0.05, +0.02" in mixed and "better" not in mixed
    one = figures.effect_sentence([0.3], **kw)  # the smoke scale: never a direction from one seed
    assert "one seed" in one and "better" not in one and "worse" not in one
    with pytest.raises(ValueError, match="differences"):
        figures.effect_sentence([], **kw)


def test_design_vs_workflow_sentence_each_way():
    kw = dict(metric="recall", design_label="handing on draws", workflow_label="accumulating")
    same = figures.design_vs_workflow_sentence([0.2, 0.25, 0.3], [0.22, 0.3, 0.26], **kw)
    assert "about as much as the workflow did" in same and "ratio of 1.0" in same
    more = figures.design_vs_workflow_sentence([0.5, 0.6, 0.4], [0.1, 0.2, 0.15], **kw)
    assert "more than the workflow" in more
    less = figures.design_vs_workflow_sentence([0.02, 0.03, 0.01], [0.3, 0.4, 0.5], **kw)
    assert "far less than the workflow" in less
    between = figures.design_vs_workflow_sentence([0.2, 0.2, 0.2], [0.4, 0.4, 0.4], **kw)
    assert "less than, but comparably to," in between
    undecided = figures.design_vs_workflow_sentence([0.2, -0.1, 0.05], [0.3, 0.4, 0.5], **kw)
    assert "cannot compare" in undecided and "handing on draws" in undecided and "ratio" not in undecided
    one = figures.design_vs_workflow_sentence([0.2], [0.3], **kw)
    assert "too small" in one and "ratio" not in one
    with pytest.raises(ValueError, match="same seeds"):
        figures.design_vs_workflow_sentence([0.2, 0.1], [0.3], **kw)


def test_trend_sentence_never_claims_a_level():
    falling = figures.trend_sentence([[0.7, 0.6, 0.5, 0.45], [0.72, 0.6, 0.52, 0.5]], name="accumulate",
                                     metric="recall", higher_is_better=True)
    assert "still getting worse" in falling and "all 2 seeds" in falling and "0.71 → 0.47" in falling
    flat = figures.trend_sentence([[0.7, 0.6, 0.61, 0.6], [0.7, 0.6, 0.58, 0.59]], name="fresh", metric="recall",
                                  higher_is_better=True)
    assert "cannot tell a level from a slow decline" in flat and "still" not in flat
    rising_fid = figures.trend_sentence([[90, 100, 120]], name="replace", metric="FID", higher_is_better=False)
    assert "still getting worse" in rising_fid and "the one seed" in rising_fid
    for sentence in (falling, flat, rising_fid):
        assert "converge" not in sentence and "settle" not in sentence
    with pytest.raises(ValueError, match="two generations"):
        figures.trend_sentence([[0.5]], name="x", metric="recall", higher_is_better=True)


def test_held_sentence_each_way():
    kw = dict(name="accumulate, Bernoulli draws", metric="recall", higher_is_better=True)
    fell = figures.held_sentence([[0.90, 0.60], [0.92, 0.65], [0.91, 0.70]], **kw)
    assert "did not hold" in fell and "all 3 seeds" in fell
    held = figures.held_sentence([[0.90, 0.90], [0.95, 0.93], [0.91, 0.92]], **kw)
    assert "so it held" in held
    mixed = figures.held_sentence([[0.90, 0.60], [0.95, 0.96], [0.91, 0.92]], **kw)
    assert "cannot tell" in mixed
    assert "too small" in figures.held_sentence([[0.9, 0.2]], **kw)
    # FID: higher is worse
    assert "did not hold" in figures.held_sentence([[90, 200], [95, 210]], name="replace", metric="FID",
                                                   higher_is_better=False)


def test_warm_start_verdict_each_way():
    assert "*slows*" in figures.warm_start_verdict([-10, -20, -5], [0.1, 0.05, 0.2])
    assert "*speeds up*" in figures.warm_start_verdict([10, 20, 5], [-0.1, -0.05, -0.2])
    assert figures.warm_start_verdict([10, -20, 5], [0.1, 0.05, 0.2]) == ""
    assert figures.warm_start_verdict([-10], [0.1]) == ""  # one seed: no verdict


def test_mad_bias_sentence_each_way():
    held = figures.mad_bias_sentence([0.90, 0.88, 0.87])
    assert "holds within 0.05, as in the MAD study" in held
    gone = figures.mad_bias_sentence([0.90, 0.30, 0.0])
    assert "0.90 → 0.00" in gone and "departs from the MAD study" in gone
    partial = figures.mad_bias_sentence([0.90, 0.75, 0.70])
    assert "does *not* hold" in partial and "departs" not in partial
    assert "rises" in figures.mad_bias_sentence([0.80, 0.95])
    with pytest.raises(ValueError, match="precision"):
        figures.mad_bias_sentence([0.9])


def test_kept_real_sentence_each_way():
    replace = {**summary([[0.8, 0.2], [0.7, 0.3]]), "fid": [90, 300]}
    kept_better = {**summary([[0.8, 0.5], [0.7, 0.4]]), "fid": [90, 200]}
    text = figures.kept_real_sentence(kept_better, replace)
    assert "keeping 10% real digits is better than replace in all 2 seeds" in text and "did not stop" in text
    kept_flat = {**summary([[0.8, 0.85], [0.7, 0.75]]), "fid": [90, 80]}
    assert "Recall did not fall" in figures.kept_real_sentence(kept_flat, replace)
    one = figures.kept_real_sentence({**summary([[0.8, 0.5]]), "fid": [90, 200]}, {**summary([[0.8, 0.2]]), "fid": [90, 300]})
    assert "cannot tell" in one and "better" not in one


def test_kept_share_discounts_a_generation_0_offset():
    draws = summary([[0.86, 0.23], [0.88, 0.25]])
    means = summary([[0.71, 0.03], [0.70, 0.04]])
    assert np.allclose(figures.kept_share(draws, "recall"), [0.23 / 0.86, 0.25 / 0.88])
    assert (figures.kept_share(draws, "recall") > figures.kept_share(means, "recall")).all()
    assert np.isnan(figures.kept_share(summary([[0.0, 0.1], [0.5, 0.25]]), "recall")).tolist() == [True, False]
    smoke = figures.design_vs_workflow_sentence([np.nan, 0.1], [0.2, 0.3], metric="recall kept", design_label="a",
                                                workflow_label="b")
    assert "too small to tell" in smoke and "moved" not in smoke


def test_break_sentence_each_way():
    reference = summary([[0.7, 0.5], [0.72, 0.48]])  # lambda = 1 kept about 69%
    broke = figures.break_sentence([0.6, 0.4, 0.2], workflow="fresh", sampling_bias=0.2, reference=reference)
    assert "kept 33% of its generation-0 recall after 2 generations" in broke and "less than half" in broke
    assert "69%" in broke and "2 seeds" in broke and f"{1 / 1.8:.2f}" in broke and "VAE loses more" in broke
    held = figures.break_sentence([0.6, 0.5, 0.45], workflow="fresh", sampling_bias=0.9, reference=reference)
    assert "more than half" in held and "still anchors" in held and "VAE loses more" not in held
    acc = figures.break_sentence([0.6, 0.2], workflow="accumulate", sampling_bias=0.3, reference=reference)
    assert "did not stop" in acc and "after 1 generation (one seed)" in acc
    acc_held = figures.break_sentence([0.6, 0.5], workflow="accumulate", sampling_bias=0.3, reference=reference)
    assert "held this bias" in acc_held and "did not stop" not in acc_held
    lucky = figures.break_sentence([0.6, 0.5], workflow="accumulate", sampling_bias=0.3, reference=summary([[0.8, 0.4]]))
    assert "no more than the unbiased loop" in lucky
    no_ref = figures.break_sentence([0.6, 0.2], workflow="accumulate", sampling_bias=0.3, reference=summary([[0.0, 0.0]]))
    assert "no generation-0 recall to compare" in no_ref and "nan" not in no_ref
    smoke = figures.break_sentence([0.0, 0.0, 0.0], workflow="fresh", sampling_bias=0.2, reference=reference)
    assert "too small to tell" in smoke and "kept" not in smoke
    with pytest.raises(ValueError, match="workflow"):
        figures.break_sentence([0.6, 0.3], workflow="replace", sampling_bias=0.2, reference=reference)
    with pytest.raises(ValueError, match="sampling_bias"):
        figures.break_sentence([0.6, 0.3], workflow="fresh", sampling_bias=0.0, reference=reference)
