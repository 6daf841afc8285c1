"""The monitoring API on synthetic data with a known collapse: it must flag the collapsing generations and not the real ones."""
import numpy as np
import pytest

from madlib.metrics.monitor import first_alarm, monitor, moving_indicators


def test_a_shrinking_gaussian_trips_tail_mass_recall_and_spread_but_real_data_does_not():
    rng = np.random.default_rng(1)
    reference = rng.standard_normal((1000, 2))
    batches = {0: rng.standard_normal((250, 2)), 1: rng.standard_normal((250, 2)),
               8: 0.6 * rng.standard_normal((250, 2))}
    report = monitor(reference, batches, null_draws=10, seed=2)
    moved = moving_indicators(report)
    assert moved[0] == [] and moved[1] == []  # real samples raise no alarm
    assert {"tail mass", "recall", "spread"} <= set(moved[8])
    assert first_alarm(report)["spread"] == 8 and first_alarm(report)["precision"] is None


def _zipf_text(rng, words: int, vocabulary: int, cut: int | None = None) -> list[str]:
    p = 1.0 / np.arange(1, vocabulary + 1)
    if cut is not None:
        p[cut:] = 0
    ids = rng.choice(vocabulary, size=words, p=p / p.sum())
    return [" ".join(f"w{i}" for i in ids[k: k + 20]) for k in range(0, words, 20)]


def test_a_text_model_that_lost_its_tail_trips_the_text_indicators():
    rng = np.random.default_rng(3)
    reference = _zipf_text(rng, 40_000, 3000)
    report = monitor(reference, {0: _zipf_text(rng, 4000, 3000), 5: _zipf_text(rng, 4000, 3000, cut=300)},
                     kind="text", null_draws=10, seed=4)
    moved = moving_indicators(report)
    assert moved[0] == []
    assert {"distinct-2", "effective vocabulary", "rare-word survival"} <= set(moved[5])


def test_a_vanishing_minority_trips_the_label_indicators_and_sizes_are_checked():
    rng = np.random.default_rng(5)
    reference = rng.choice(3, size=4000, p=[0.6, 0.3, 0.1])
    report = monitor(reference, {0: rng.choice(3, 500, p=[0.6, 0.3, 0.1]), 4: rng.choice(3, 500, p=[0.7, 0.28, 0.02])},
                     kind="labels", null_draws=20)
    assert moving_indicators(report) == {0: [], 4: ["class entropy", "rarest class share"]}
    with pytest.raises(ValueError, match="needs at least"):
        monitor(reference[:100], {0: reference[:100]}, kind="labels")
    with pytest.raises(ValueError, match="kind must be one of"):
        monitor(reference, {0: reference[:10]}, kind="images")
