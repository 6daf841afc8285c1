"""A cache that cannot run code: no pickle in the library, every stored file plain data, checked on read."""
import io
import json
import math
import os
import pickle  # the tests plant pickles; the library never reads one
import tokenize
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import madlib
from madlib import run_experiment
from madlib.core import state as state_module
from madlib.core.cache import file_digest
from madlib.core.checkpoint import Checkpointer
from madlib.core.state import dumps_json, load_state, loads_json, register_state_class, save_state
from madlib.core.sweep import sweep

LIBRARY = Path(madlib.__file__).parent


def test_the_library_holds_no_pickle_and_no_unsafe_torch_load():
    """Code tokens, not prose: no pickle module, no pandas pickle reader, no weights_only=False load."""
    found = []
    for path in sorted(LIBRARY.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "weights_only=False" in text.replace(" ", ""):
            found.append(f"{path}: weights_only=False")
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME]
        for token in tokens:
            if token.string in {"pickle", "cPickle", "read_pickle", "to_pickle", "cloudpickle", "dill", "allow_pickle",
                                "shelve", "marshal"}:
                found.append(f"{path}:{token.start[0]}: {token.string}")
    assert not found, "\n".join(found)


class _Planted:
    """A pickle that, when loaded, creates a marker file: proof that a read ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(_Planted(marker)))


def test_a_planted_pickle_in_a_result_folder_runs_nothing(tmp_path):
    first = run_experiment("cats", replicates=50, generations=20)
    marker = tmp_path / "ran-code"
    folder = Path(first.cache_dir)
    for name in ("table.pkl", "extras.pt"):  # the names the library used to unpickle
        _plant(folder / name, marker)
    assert run_experiment("cats", replicates=50, generations=20).cached  # the foreign files are never read
    for path in list(folder.iterdir()):  # now every file the library does read
        if path.is_file():
            _plant(path, marker)
    with pytest.warns(UserWarning, match="unreadable cached result"):
        again = run_experiment("cats", replicates=50, generations=20)
    assert not marker.exists()
    assert not again.cached and again.summary["p_blue_lost"] == first.summary["p_blue_lost"]


def test_a_planted_checkpoint_or_sweep_point_runs_nothing(tmp_path):
    marker = tmp_path / "ran-code"
    checkpoint = Checkpointer(tmp_path / "checkpoints", "fingerprint")
    checkpoint.directory.mkdir()
    _plant(checkpoint.path, marker)
    _plant(checkpoint.directory / "state.pt", marker)  # the old name
    with pytest.warns(UserWarning, match="unreadable cached file"):
        assert checkpoint.load() is None
    cache = tmp_path / "points"
    assert sweep(_square, [{"x": 2}], seed=0, cache_dir=cache, key="k") == [4]
    for entry in cache.rglob("*.json"):
        _plant(entry, marker)
    with pytest.warns(UserWarning, match="unreadable cached file"):
        assert sweep(_square, [{"x": 2}], seed=0, cache_dir=cache, key="k") == [4]
    assert not marker.exists()


def _square(x, seed):
    return x * x


def test_the_checkpoint_fingerprint_is_checked_before_anything_is_deserialised(tmp_path, monkeypatch):
    Checkpointer(tmp_path, "run-a").save({"generation": 0, "model": None, "data": torch.ones(2)})
    calls = []
    monkeypatch.setattr(state_module, "from_bytes", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match="holds a different run"):
        Checkpointer(tmp_path, "run-b").load()
    assert calls == []


@register_state_class
class _Plain:  # a registered plain class, as the library's models are
    def __init__(self, value):
        self.value = value


class _Unregistered:
    pass


def test_state_round_trips_plain_data_and_the_librarys_models(tmp_path):
    from madlib.models.decoding import Decoding
    from madlib.models.gmm import GMMModel
    from madlib.models.lm import NGramLM
    from madlib.models.ngram import NGramModel
    from madlib.models.transformer import TransformerConfig, build_model
    from madlib.models.vae import ConvVAE, VAEModel

    ngram = NGramModel(order=3, vocab_size=5).fit(torch.randint(5, (2, 4, 8), generator=torch.Generator().manual_seed(0)))
    transformer = build_model(TransformerConfig(vocab_size=7, context=8, d_model=8, n_layers=1, n_heads=2), seed=0)
    shared = torch.arange(6.0)
    value = {
        "numbers": [1, 2**70, -0.5, math.nan, math.inf, True, None, "text"],
        "tuple": (1, "a"), "int keys": {0: np.arange(3), 7: np.float32(2.5)}, "shared": shared, "again": shared,
        "frame": pd.DataFrame({"generation": [0, 1], "metric": ["a", "b"], "value": [0.5, math.nan]}),
        "series": pd.Series([1.0, 2.0], index=[3, 4], name="curve"), "strings": np.array(["ab", "c"]),
        "gmm": GMMModel(torch.ones(1, 2) / 2, torch.zeros(1, 2, 3), torch.eye(3).expand(1, 2, 3, 3).clone()),
        "vae": VAEModel(ConvVAE(latent_dim=2, channels=2, hidden=8), final_loss=1.5),
        "ngram": NGramLM(ngram, Decoding(temperature=0.5), prompt_len=2),
        "transformer": transformer, "plain": _Plain([1, 2]), "dtype": torch.float64, "device": torch.device("cpu"),
    }
    path = tmp_path / "state.safetensors"
    save_state(path, value, {"fingerprint": "x"})
    rng = torch.get_rng_state()
    back = load_state(path)
    assert torch.equal(torch.get_rng_state(), rng)  # rebuilding a module draws nothing from the global stream
    assert back["numbers"][:3] == [1, 2**70, -0.5] and math.isnan(back["numbers"][3]) and back["numbers"][4:] == \
        [math.inf, True, None, "text"]
    assert back["tuple"] == (1, "a") and np.array_equal(back["int keys"][0], np.arange(3))
    assert back["int keys"][7] == np.float32(2.5) and back["shared"] is back["again"]
    pd.testing.assert_frame_equal(back["frame"], value["frame"])
    pd.testing.assert_series_equal(back["series"], value["series"])
    assert list(back["strings"]) == ["ab", "c"] and back["dtype"] is torch.float64
    assert torch.equal(back["gmm"].covs, value["gmm"].covs) and back["gmm"].keep_fraction == 1.0
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(back["vae"].decode(z), value["vae"].decode(z)) and back["vae"].final_loss == 1.5
    blocks = torch.randint(5, (2, 3, 8), generator=torch.Generator().manual_seed(2))
    assert torch.equal(back["ngram"].token_log_probs(blocks), value["ngram"].token_log_probs(blocks))
    assert back["ngram"].decoding == Decoding(temperature=0.5)
    tokens = torch.randint(7, (2, 8), generator=torch.Generator().manual_seed(3))
    assert torch.equal(back["transformer"](tokens), transformer(tokens)) and back["plain"].value == [1, 2]
    assert loads_json(dumps_json(value["frame"])).equals(value["frame"])


def test_only_allow_listed_classes_are_stored_or_rebuilt(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object"):
        save_state(tmp_path / "x.safetensors", {"a": _Unregistered()})
    with pytest.raises(TypeError, match="cannot store"):
        dumps_json({"f": len})  # no callables either
    text = dumps_json(_Plain(1)).replace("_Plain", "_Unregistered")
    with pytest.raises(ValueError, match="not on the allow-list"):
        loads_json(text)
    forged = json.dumps({"format": "madlib-state/1",
                         "tree": {"$": "object", "cls": "os.system", "attrs": {}}})
    with pytest.raises(ValueError, match="not on the allow-list"):
        loads_json(forged)


def _rewrite_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"] = {name: file_digest(folder / name, 64) for name in manifest["sha256"] if (folder / name).exists()}
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", ["tampered summary", "wrong-shape summary", "deleted table", "wrong-shape extras"])
def test_a_damaged_or_edited_result_is_recomputed_with_one_warning(damage):
    first = run_experiment("cats", replicates=50, generations=20)
    folder = Path(first.cache_dir)
    if damage == "tampered summary":  # valid JSON, another number: only the checksum can tell
        summary = json.loads((folder / "summary.json").read_text())
        summary["p_blue_lost"] = 0.123
        (folder / "summary.json").write_text(json.dumps(summary))
    elif damage == "wrong-shape summary":  # valid JSON of the wrong shape, with a matching manifest
        (folder / "summary.json").write_text("[1, 2, 3]")
        _rewrite_manifest(folder)
    elif damage == "deleted table":
        (folder / "table.parquet").unlink()
    else:
        save_state(folder / "extras.safetensors", [1, 2])
        _rewrite_manifest(folder)
    with pytest.warns(UserWarning, match="unreadable cached result") as caught:
        again = run_experiment("cats", replicates=50, generations=20)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert not again.cached and again.summary["p_blue_lost"] == first.summary["p_blue_lost"]
    assert again.table is not None and run_experiment("cats", replicates=50, generations=20).cached


def test_every_stored_file_of_a_result_is_plain_data():
    result = run_experiment("cats", replicates=50, generations=20)
    names = sorted(os.listdir(result.cache_dir))
    assert names == ["config.json", "extras.safetensors", "manifest.json", "summary.json", "table.parquet"], names
    assert pd.read_parquet(Path(result.cache_dir) / "table.parquet").equals(result.table)
