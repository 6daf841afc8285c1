"""Chapter 5's computed sentences: each built from synthetic results that go each way, and the wording checked."""
from __future__ import annotations

import numpy as np
import pytest

from madlib.plots import lm as figures
from madlib.plots import lm_prose as prose

BINS = (1, 2, 3, 5, 9, 17, 33)


def test_the_guard_names_the_run_size_only_below_the_default_scale():
    assert prose.run_size_guard({"n_real": 256, "generations": 5}) is None
    small = prose.run_size_guard({"n_real": 48, "generations": 2})
    assert "too small to tell" in small and "48 real blocks" in small and "2 generations" in small
    assert "too small" in prose.run_size_guard({"n_real": 300, "generations": 1})


@pytest.mark.parametrize("change, text", [(0.2608, "+26%"), (-0.0032, "\u22120.3%"), (0.0004, "no change"),
                                          (0.1455, "+15%"), (0.083, "+8.3%"), (float("nan"), "n/a")])
def test_percent_has_a_true_minus_and_never_prints_minus_zero(change, text):
    assert prose.percent(change) == text


def test_baseline_sentence_says_which_model_is_better():
    assert "the count model is the better model" in prose.baseline_sentence(1.766, 1.680)
    assert "the transformer already beats the count model" in prose.baseline_sentence(1.60, 1.68)
    assert "neither model" in prose.baseline_sentence(1.680, 1.684)
    for s in (prose.baseline_sentence(1.766, 1.680), prose.baseline_sentence(1.6, 1.68)):
        assert "GPU" not in s and "full" not in s  # the unrun full-scale claim is gone (V6)


def test_finetune_sentence_reports_the_sign():
    worse = prose.finetune_sentence(5.85, 6.33, 256, 5.0)
    assert "made it worse" in worse and "+8.2%" in worse and "115" in worse and "from the base" in worse
    better = prose.finetune_sentence(6.33, 5.85, 256, 5.0)
    assert "improved it" in better and "\u22127.6%" in better
    assert "hardly moved" in prose.finetune_sentence(5.85, 5.86, 256, 5.0)


def test_real_words_sentence_gives_the_ceiling_and_the_shape():
    s = prose.real_words_sentence([0.771, 0.69, 0.62, 0.63, 0.61, 0.551], 0.919, 32)
    assert "77%" in s and "92%" in s and "falls to 55%" in s and "not at every step" in s and "one seed" in s
    monotone = prose.real_words_sentence([0.8, 0.7, 0.6], 0.9, 6, replicates=3)
    assert "falling at every generation" in monotone and "3 seeds" in monotone
    up = prose.real_words_sentence([0.6, 0.7], 0.9, 6)
    assert "rises to 70%" in up


def _ppl(replace, keep, accumulate):
    return {"replace": replace, "keep": keep, "accumulate": accumulate}


def test_workflow_sentence_from_the_review_numbers():
    ppl = _ppl([6.33, 6.61, 7.02, 7.36, 7.66, 7.98], [6.33, 6.76, 7.01, 7.26, 7.22, 7.25],
               [6.33, 6.25, 6.25, 6.26, 6.29, 6.31])
    s = prose.workflow_sentence(ppl, 5.85, "transformer")
    assert "+26%" in s and "+15%" in s and "\u22120.3%" in s and "over 5 generations" in s
    assert "from the pre-trained base: +36%, +24% and +7.9%" in s
    assert "removed 44% of the rise" in s
    assert "generations 1, 2 the keep-10% curve is not below replace (to within 0.5%)" in s


def test_workflow_sentence_when_keeping_real_data_always_helps_or_never():
    good = prose.workflow_sentence(_ppl([1, 2, 3], [1, 1.2, 1.4], [1, 1.1, 1.1]), None, "5-gram")
    assert "removed 80% of the rise" in good and "no lower" not in good and "base" not in good
    bad = prose.workflow_sentence(_ppl([1, 1.5, 2], [1, 1.6, 2.2], [1, 1, 1]), None, "5-gram")
    assert "did not lower the rise at all" in bad and "generations 1, 2 the keep-10% curve is not below" in bad


def test_workflow_sentence_is_guarded_at_smoke():
    s = prose.workflow_sentence(_ppl([1, 1.1, 1.05], [1, 1.2, 1.1], [1, 1.0, 1.0]), None, "transformer",
                                guard="this run is too small to tell")
    assert s.endswith("this run is too small to tell.") and "removed" not in s and "no lower" not in s


def test_study_comparison_sentence_both_ways():
    slow = prose.study_comparison_sentence(0.2608, 5, 4.1, 6)
    assert "+4.7%" in slow and "slower than the study's +5.3% to +6.9%" in slow
    assert "rises +410% over 6 generations" in slow and "faster than the study's range" in slow
    fast = prose.study_comparison_sentence(1.0, 5, 0.7, 9)
    assert "faster than the study's" in fast and "within the study's range" in fast
    small = prose.study_comparison_sentence(1.0, 5, 0.7, 9, guard="this run is too small to tell")
    assert "too small to tell" in small and "slower" not in small and "faster" not in small and "within" not in small


def test_faces_sentence_one_face_each_or_both():
    one = prose.faces_sentence({"temperature 1": (0.0, 1.0), "beam search": (0.25, 0.0)}, 6)
    assert "temperature 1: 0% of generation 6's text lies left" in one and "shows a tail of errors" in one
    assert "beam search: 25%" in one and "shows sharpening" in one and "Each decoder shows one face at most" in one
    both = prose.faces_sentence({"beam search": (0.3, 0.2)}, 6)
    assert "shows sharpening and a tail of errors" in both and "Only beam search shows both faces" in both
    assert "shows neither face" in prose.faces_sentence({"T = 1": (0.01, 0.02)}, 1)


def test_survival_sentence_against_real_text():
    model = [0.16, 0.53, 0.82, 0.97, 1.0, 1.0, np.nan]
    real = [0.25, 0.58, 0.82, 0.96, 1.0, 1.0, np.nan]
    s = prose.survival_sentence(model, real, BINS)
    assert "keep only 25% of the words seen once" in s
    assert "loses more than real text in k = 1" in s and "within 0.05 of it in the other 5 bins" in s
    assert "k = 3-4: 0.82 against 0.82" in s
    same = prose.survival_sentence(real, real, BINS)
    assert "Within 0.05 in every bin" in same
    more = prose.survival_sentence([0.4, 0.58, 0.82, 0.96, 1, 1, np.nan], real, BINS)
    assert "keeps more than real text in k = 1" in more


def test_vocabulary_sentence_compares_with_a_real_stretch():
    assert "fewer than the 40%" in prose.vocabulary_sentence(0.169, 0.40, 6)
    assert "as many as" in prose.vocabulary_sentence(0.40, 0.40, 6)


def test_diversity_sentence_each_way():
    real = {0: 600.0, 1: 300.0, 2: 100.0}
    fell = prose.diversity_sentence({0: [600, 400], 1: [300, 250], 2: [100, 98]}, real, [0.9, 0.8], 0.9, "5-gram", 1200)
    assert "narrowed, most at order 0 (the rare words)" in fell and "1,200 words" in fell
    grew = prose.diversity_sentence({0: [600, 700], 1: [300, 360], 2: [100, 120]}, real, [0.9, 0.95], 0.9,
                                    "transformer", 1024)
    assert "Every order grew" in grew and "invented" in grew
    flat = prose.diversity_sentence({0: [600, 610], 1: [300, 301], 2: [100, 99]}, real, [0.9, 0.9], 0.9, "x", 10)
    assert "no loss of diversity is visible" in flat
    mixed = prose.diversity_sentence({0: [600, 700], 1: [300, 300], 2: [100, 50]}, real, [0.9, 0.9], 0.9, "x", 10)
    assert "most at order 2 (the common words)" in mixed and "while order 0 grew" in mixed
    two = prose.diversity_sentence({0: [600, 750], 1: [300, 375], 2: [100, 87]}, real, [0.9, 0.9], 0.9, "x", 10)
    assert "most at order 2" in two and "while orders 0 and 1 grew" in two  # the default transformer run's shape
    guarded = prose.diversity_sentence({0: [600, 400]}, {0: 600.0}, [0.9, 0.8], 0.9, "x", 10, guard="too small")
    assert guarded.endswith("too small.") and "narrowed" not in guarded


def test_beam_sentence_notices_a_prompt_independent_opening():
    same = prose.beam_sentence(["What, thou hast\nSIR TOBY.", "What, thou hast\nx"], ["A\nb", "B\nc"],
                               {"beam": 0.996, "sampling": 0.771, "penalty": 0.943})
    assert "100% real words" in same and "77% for sampling" in same and "94% with the penalty" in same
    assert "same line, \u201cWhat, thou hast\u201d" in same and "with the penalty opens the prompts shown with different" in same
    assert prose.same_opening(["one"]) is None


def test_decoder_sentence_orders_agree_or_not():
    s = prose.decoder_sentence({"T = 1": 5.34, "T = 0.6": 2.93, "beam": 2.01}, 2.78,
                               {"T = 1": 0.90, "T = 0.6": 0.055, "beam": 0.021}, {"T = 1": 17.9, "T = 0.6": 33, "beam": 43})
    assert s.index("beam 2.01") < s.index("T = 0.6 2.93") < s.index("T = 1 5.34")
    assert "beam writes text more probable to it than real text" in s and "The three orders agree" in s
    differ = prose.decoder_sentence({"a": 2.0, "b": 3.0}, 1.0, {"a": 0.5, "b": 0.1}, {"a": 10, "b": 11})
    assert "The orders differ" in differ and "no decoder writes text more probable" in differ
    guarded = prose.decoder_sentence({"a": 2.0, "b": 3.0}, 2.5, {"a": 0.5, "b": 0.1}, {"a": 10, "b": 11}, guard="too small")
    assert guarded.endswith("too small.") and "agree" not in guarded


def test_prompts_sentence_close_or_apart():
    close = prose.prompts_sentence([8.45, 10.78, 14.23, 17.93], [8.45, 10.75, 14.10, 17.92])
    assert "stay close" in close and "largest gap 0.13 at generation 2" in close
    apart = prose.prompts_sentence([8, 10, 12], [8, 12, 16])
    assert "part" in apart and "the code's prompts drift faster" in apart


def test_summary_sentence_orders_and_exceptions():
    ppl = {"transformer": _ppl([6.33, 6.61, 7.02, 7.98], [6.33, 6.76, 7.01, 7.25], [6.33, 6.25, 6.25, 6.31]),
           "5-gram": _ppl([8, 10, 12], [8, 9, 10], [8, 8.5, 9])}
    s = prose.summary_sentence(ppl)
    assert "For the transformer, keeping 10%" in s and "(not at every generation before it)" in s
    assert "for the 5-gram, keeping 10% of the real blocks slows the drift and accumulating slows it most at the " \
           "last generation;" not in s  # the last clause ends the sentence
    assert s.endswith("at the last generation.")
    other = prose.summary_sentence({"5-gram": _ppl([8, 9], [8, 10], [8, 8.5])})
    assert "orders the workflows differently" in other
    assert "too small" in prose.summary_sentence(ppl, guard="this run is too small to tell")


def test_the_chapter_module_re_exports_the_builders():
    for name in ("workflow_sentence", "faces_sentence", "survival_sentence", "decoder_sentence", "run_size_guard"):
        assert getattr(figures, name) is getattr(prose, name)


def test_beam_sentence_when_no_opening_is_shared():
    s = prose.beam_sentence(["A\nb", "B\nc"], ["C\nd", "D\ne"], {"beam": 0.5, "sampling": 0.2, "penalty": 0.1})
    assert "with and without the penalty it opens the prompts shown with different lines" in s
    assert s.count("different lines") == 1


def test_losses_sentence_each_way():
    bad = prose.losses_sentence([0.77, 0.69, 0.55], 0.17, 0.40, {"transformer": 0.26, "5-gram": 1.12})
    assert "wrote fewer real words (77% to 55%" in bad and "used fewer of the real blocks' words" in bad
    assert "(17% against 40%" in bad and "fit real text worse (the transformer +26%, the 5-gram +112%)" in bad
    good = prose.losses_sentence([0.21, 0.25], 0.45, 0.40, {"transformer": -0.01, "5-gram": 0.7})
    assert "wrote no fewer real words" in good and "used as many of the real blocks' words" in good
    assert "did not fit real text worse in every model" in good and "\u22121.0%" in good
    assert prose.losses_sentence([0.2, 0.1], 0.1, 0.3, {"x": 0.1}, guard="too small to tell").endswith(
        "; too small to tell.")


def test_analysis_gap_sentence_grows_shrinks_or_holds():
    assert "the losses compound" in prose.analysis_gap_sentence(0.04, 0.13, 3)
    assert "+0.04" in prose.analysis_gap_sentence(0.04, 0.13, 3) and "generation 3" in prose.analysis_gap_sentence(0.04, 0.13, 3)
    assert "the gap shrinks" in prose.analysis_gap_sentence(0.10, 0.02, 6)
    assert "do not compound" in prose.analysis_gap_sentence(0.05, 0.06, 6)

