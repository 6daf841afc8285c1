"""Tokenizers round-trip exactly; the corpus loader gives fixed, disjoint splits offline."""
import pytest
import torch

from madlib.data.text import load_corpus, split_text, text_to_blocks
from madlib.models.tokenizer import ByteTokenizer, CharTokenizer, get_tokenizer

TEXTS = ["", "plain ascii", "naïve café — “quotes” … 数字 🙂\nnew line\ttab", "\x00\x7f"]


@pytest.mark.parametrize("text", TEXTS)
def test_byte_tokenizer_round_trips_any_text(text):
    tok = ByteTokenizer()
    ids = tok.encode(text)
    assert ids.dtype == torch.long and len(ids) == len(text.encode("utf-8"))
    assert tok.decode(ids) == text


def test_byte_tokenizer_decodes_invalid_utf8_without_failing_and_rejects_bad_ids():
    tok = ByteTokenizer()
    assert tok.decode([0xE2, 0x80]) == "\ufffd"  # a cut multi-byte character: replaced, not an error
    with pytest.raises(ValueError, match="255"):
        tok.decode([256])


@pytest.mark.parametrize("text", TEXTS[1:])
def test_char_tokenizer_round_trips_any_text_and_ids_follow_code_point_order(text):
    tok = CharTokenizer(text)
    ids = tok.encode(text)
    assert ids.dtype == torch.long and len(ids) == len(text)  # one token per character, emoji included
    assert tok.decode(ids) == text
    assert tok.chars == sorted(set(text)) and tok.encode(tok.chars[-1]).item() == tok.vocab_size - 1
    assert tok.encode("").numel() == 0


def test_char_tokenizer_round_trip_and_unknown_characters():
    text = "the cat sat on the mat."
    tok = CharTokenizer(text)
    assert tok.vocab_size == len(set(text))
    assert tok.decode(tok.encode(text)) == text
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['!', 'd', 'g'\]"):
        tok.encode("dog!")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.encode("cat\U0001f642")  # beyond the largest code point of the vocabulary
    with pytest.raises(ValueError, match="ids must lie"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError):
        get_tokenizer("char")
    with pytest.raises(ValueError, match="tokenizer"):
        get_tokenizer("words")


@pytest.mark.parametrize("name", ["shakespeare", "pydoc"])
def test_frozen_corpora_are_english_and_fixed(name):
    corpus = load_corpus(name)
    assert 150_000 < len(corpus.train) < 2_000_000
    assert len(corpus.valid) > 5_000 and len(corpus.test) > 5_000
    assert " the " in corpus.train and corpus.train.count(" the ") > 1000
    assert load_corpus(name).test == corpus.test  # fixed
    if name == "pydoc":  # paragraphs are unique, so no line is in two splits (Shakespeare splits by play)
        assert not set(corpus.train.splitlines()) & set(corpus.test.splitlines())


def test_local_file_corpus_and_offline_errors(tmp_path, monkeypatch):
    from madlib.data import text as text_mod

    monkeypatch.setattr(text_mod, "_cache_dir", lambda: tmp_path / "empty-cache")  # no cached copy to find
    path = tmp_path / "t.txt"
    path.write_text("\n".join(f"line number {i}" for i in range(100)))
    corpus = load_corpus("file", path)
    assert len(corpus.test.splitlines()) == 5 and len(corpus.valid.splitlines()) == 5
    assert len(corpus.train.splitlines()) == 90
    assert split_text(path.read_text()) == (corpus.train, corpus.valid, corpus.test)
    with pytest.raises(ValueError, match="path"):
        load_corpus("file")
    with pytest.raises(RuntimeError, match="path="):
        load_corpus("wikitext2", download=False)
    with pytest.raises(ValueError, match="corpus name"):
        load_corpus("wikipedia")
    folder = tmp_path / "wt2"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"wiki.{split}.tokens").write_text(f"= {split} =\n")
    assert load_corpus("wikitext2", folder).valid == "= valid =\n"


def test_text_to_blocks_cuts_non_overlapping_blocks():
    ids = torch.arange(10)
    blocks = text_to_blocks(ids, 4)
    assert blocks.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError):
        text_to_blocks(ids, 11)
