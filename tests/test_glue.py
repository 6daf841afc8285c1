"""Numbers for the prose: glue and glue_values hand myst-nb plain values under the names the text asks for."""
import numpy as np
import pytest

import madlib.plots.glue as glue_module


@pytest.fixture
def glued(monkeypatch):
    seen = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=False: seen.__setitem__(name, value))
    return seen


def test_glue_makes_numpy_scalars_plain_and_none_nan(glued):
    glue_module.glue("a", np.float64(0.25))
    glue_module.glue("b", None)
    assert type(glued["a"]) is float and glued["a"] == 0.25
    assert np.isnan(glued["b"])


def test_glue_values_glues_ends_of_lists_and_numbers_under_a_prefix(glued):
    summary = {"sliced_w2": [3.0, 2.0, 1.0], "replicates": 8, "nested": {"x": 1}}
    names = glue_module.glue_values("blobs", summary, {"w2": "sliced_w2", "chains": "replicates"})
    assert names == ["blobs_w2_first", "blobs_w2_last", "blobs_chains"]
    assert glued == {"blobs_w2_first": 3.0, "blobs_w2_last": 1.0, "blobs_chains": 8}
    assert glue_module.glue_values("all", summary) == ["all_sliced_w2_first", "all_sliced_w2_last", "all_replicates"]
    with pytest.raises(ValueError, match="'missing' is not in the result"):
        glue_module.glue_values("x", summary, ["missing"])


def test_glue_is_a_no_op_where_myst_nb_is_missing(monkeypatch):
    """The reader's notebooks run in Colab without myst-nb: glue must not fail there."""
    import sys

    monkeypatch.setitem(sys.modules, "myst_nb", None)  # `from myst_nb import glue` raises ImportError
    assert glue_module.glue("x", 1.5) is None
    assert glue_module.glue_values("p", {"a": 1.0, "b": [1, 2]}) == ["p_a", "p_b_first", "p_b_last"]
