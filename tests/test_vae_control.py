"""The warm-start control of chapter 4: the per-seed table and the sentence on its direction."""
import pytest

from madlib.plots.vae import control_table, direction_sentence


def test_control_table_pairs_seeds_and_truncates_to_the_shorter_run():
    warm = {"fid": [0, 0], "fid_by_replicate": [[100, 150, 200], [110, 160, 210]]}
    scratch = {"fid": [0, 0], "fid_by_replicate": [[100, 170], [110, 190]]}
    table = control_table(warm, scratch, metrics=("fid",))
    assert list(table["generation"]) == [0, 1]
    last = table.iloc[-1]
    assert last["warm start (mean)"] == pytest.approx(155) and last["from scratch (mean)"] == pytest.approx(180)
    assert last["difference per seed (warm - scratch)"] == [-20, -30]
    one_seed = control_table({"recall": [0.9, 0.5]}, {"recall": [0.9, 0.4]}, metrics=("recall",))
    assert one_seed.iloc[-1]["difference per seed (warm - scratch)"] == [pytest.approx(0.1)]
    with pytest.raises(ValueError, match="metrics"):
        control_table(warm, scratch, metrics=("recall",))
    with pytest.raises(ValueError, match="same seeds"):
        control_table(warm, {"fid": [1, 2]}, metrics=("fid",))


def test_direction_sentence_says_worse_better_or_unknown():
    assert direction_sentence([-20, -30], True, "FID") == \
        "FID: the warm start is better than training from scratch in all 2 seeds."
    assert "worse" in direction_sentence([-0.1], False, "Recall") and "the one seed" in \
        direction_sentence([-0.1], False, "Recall")
    mixed = direction_sentence([0.2, -0.1], True, "FID")
    assert "do not agree" in mixed and "+0.2, -0.1" in mixed
    with pytest.raises(ValueError, match="differences"):
        direction_sentence([], True, "FID")
