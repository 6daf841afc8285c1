"""Diversity measures for text (chapter 5's panels, the questions page's numbers): each on a case with a known answer."""
import math

import numpy as np
import pytest

from madlib.metrics import text


def test_hill_numbers_count_equally_common_types():
    assert text.hill_number([5, 5, 5, 5], 0) == 4 and text.hill_number([5, 5, 5, 5], 1) == pytest.approx(4)
    assert text.hill_number([5, 5, 5, 5], 2) == pytest.approx(4)
    skewed = [90, 5, 3, 1, 1]
    orders = [text.hill_number(skewed, q) for q in (0, 1, 2)]
    assert orders[0] == 5 and orders[0] > orders[1] > orders[2] > 1  # rare types weigh less at higher orders
    assert text.hill_number(skewed, 1) == pytest.approx(math.exp(-sum(p * math.log(p) for p in np.array(skewed) / 100)))
    with pytest.raises(ValueError, match="order must be >= 0"):
        text.hill_number(skewed, -1)


def test_distinct_n_at_a_matched_size_and_rare_word_survival():
    texts = ["a b c d e f", "a b a b a b"]
    assert text.distinct_n_at(texts, 1, 6) == 1.0 and text.distinct_n_at(texts, 1, 12) == pytest.approx(6 / 12)
    assert math.isnan(text.distinct_n_at(texts, 1, 100))
    reference = ["the cat sat on the mat", "a rare word and the cat"]
    assert text.rare_token_survival(reference, ["the cat sat"], max_count=1) == pytest.approx(1 / 7)
    assert text.effective_vocabulary(["x y z w"]) == pytest.approx(4)


def test_similarity_within_and_across_models():
    same = ["time is a river", "time is a river"]
    assert text.mean_pairwise_similarity(same) == 1.0
    assert text.cross_similarity(["time is a river"], ["the moon is cheese"]) == 0.0
    assert 0 < text.cross_similarity(["time is a river"], ["time is a weaver"]) < 1


def test_hellinger_distance_bounds():
    assert text.hellinger_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert text.hellinger_distance([0.2, 0.8], [2, 8]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same length"):
        text.hellinger_distance([1, 2], [1])
