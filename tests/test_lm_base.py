"""Chapter 5's pre-trained base: the shipped file matches its record, only an exact recipe loads it, and the
recorded command regenerates that recipe (at a few steps here; the full pre-training is what made the file)."""
from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
import torch

from madlib import cli
from madlib.experiments import resolve_config
from madlib.models.lm import (SHIPPED_DIR, base_recipe, find_shipped_base, load_or_pretrain_base, read_base,
                              save_base, sha256_of, shipped_bases)
from madlib.models.transformer import TrainConfig, TransformerConfig, build_model
from madlib.simulations.lm_base import base_setup

MAX_BYTES = 5_000_000
DERIVED_FROM_STEPS = ("steps", "warmup", "eval_every", "checkpoint_every")


@pytest.fixture(scope="module")
def shipped():
    bases = {b.record["name"]: b for b in shipped_bases()}
    assert "lm-base-default" in bases, f"no shipped base in {SHIPPED_DIR}"
    return bases["lm-base-default"]


def test_the_shipped_base_matches_its_recorded_hash_size_and_recipe(shipped) -> None:
    record = shipped.record
    assert shipped.weights.parent == SHIPPED_DIR and shipped.weights.suffix == ".safetensors"
    assert sha256_of(shipped.weights) == record["sha256"]
    assert shipped.weights.stat().st_size == record["bytes"] <= MAX_BYTES
    tensors, recipe, history = read_base(shipped.weights)
    assert recipe == record["recipe"]
    model = build_model(TransformerConfig(**recipe["model"]))
    model.load_state_dict(tensors)  # strict: exactly the model's tensors
    assert model.n_parameters() == record["n_parameters"]
    assert len(history["train_loss"]) == recipe["train"]["steps"]
    assert history["valid_loss"][-1] == pytest.approx(record["valid_loss_nats"], abs=1e-4)
    # a trained character model: far better than uniform over the vocabulary
    assert record["valid_loss_nats"] < 0.6 * torch.log(torch.tensor(float(recipe["model"]["vocab_size"]))).item()


@pytest.mark.parametrize("preset", ["transformer", "transformer-keep10", "transformer-accumulate",
                                    "transformer-gen0-beam5"])
def test_the_chapters_default_runs_match_the_shipped_recipe(shipped, preset: str) -> None:
    config = resolve_config("lm", preset=preset, scale="default")
    assert base_setup(config).recipe == shipped.recipe
    assert find_shipped_base(base_setup(config).recipe) == shipped


@pytest.mark.parametrize("change", [{"d_model": 64}, {"n_layers": 2}, {"base_steps": 2999}, {"seed": 1},
                                    {"lr": 1e-3}, {"base_batch_size": 16}, {"block_len": 32, "prompt_len": 32},
                                    {"tokenizer": "byte"},
                                    {"corpus": "pydoc", "test_blocks": 50}])
def test_any_other_recipe_never_loads_the_shipped_base(change: dict) -> None:
    config = resolve_config("lm", {**change, "model": "transformer"}, scale="default")
    assert find_shipped_base(base_setup(config).recipe) is None


def test_smoke_and_full_scales_train_their_own() -> None:
    for scale in ("smoke", "full"):
        assert find_shipped_base(base_setup(resolve_config("lm", preset="transformer", scale=scale)).recipe) is None


def test_the_recorded_command_regenerates_the_recipe(shipped, tmp_path: Path, capsys) -> None:
    words = shlex.split(shipped.record["command"])
    assert words[:4] == ["python", "-m", "madlib", "pretrain"]
    assert cli.main(words[3:] + ["base_steps=4", "--out", str(tmp_path), "--name", "again"]) == 0
    record = json.loads((tmp_path / "again.json").read_text())
    assert json.loads(capsys.readouterr().out) == record
    assert sha256_of(tmp_path / "again.safetensors") == record["sha256"]
    mine, theirs = record["recipe"], shipped.recipe
    assert mine["model"] == theirs["model"] and mine["corpus"] == theirs["corpus"] and mine["seed"] == theirs["seed"]
    assert mine["format"] == theirs["format"] and mine["train"]["steps"] == 4
    same = {k: v for k, v in theirs["train"].items() if k not in DERIVED_FROM_STEPS}
    assert {k: v for k, v in mine["train"].items() if k not in DERIVED_FROM_STEPS} == same
    assert {**record["lm_config"], "base_steps": theirs["train"]["steps"]} == shipped.record["lm_config"]
    assert not list(tmp_path.glob("*.partial"))


def test_pretrain_refuses_parameters_that_do_not_decide_the_base(capsys) -> None:
    assert cli.main(["pretrain", "--scale", "smoke", "generations=3"]) == 2
    assert "generations" in capsys.readouterr().err


TINY = TransformerConfig(vocab_size=16, context=8, d_model=8, n_layers=1, n_heads=2)
TINY_TRAIN = TrainConfig(steps=3, batch_size=2, warmup=1)


def _ship(folder: Path, seed: int = 0) -> Path:
    """A tiny base and its record in ``folder``, as `madlib pretrain` writes them."""
    model = build_model(TINY, seed=seed)
    recipe = base_recipe(TINY, TINY_TRAIN, "corpus", seed)
    weights = save_base(folder / "tiny.safetensors", model, recipe, {"train_loss": [1.0]})
    (folder / "tiny.json").write_text(json.dumps({"name": "tiny", "weights": weights.name, "recipe": recipe,
                                                  "sha256": sha256_of(weights), "bytes": weights.stat().st_size}))
    return weights


def test_loads_the_shipped_base_only_on_an_exact_recipe_and_intact_bytes(tmp_path: Path) -> None:
    shipped_dir, cache = tmp_path / "shipped", tmp_path / "cache"
    shipped_dir.mkdir()
    weights = _ship(shipped_dir)
    tokens = torch.randint(16, (200,), generator=torch.Generator().manual_seed(0))
    load = dict(tokens=tokens, corpus_key="corpus", shipped_dir=shipped_dir)
    base = load_or_pretrain_base(cache, TINY, TINY_TRAIN, seed=0, **load)
    assert base.source == "shipped" and base.path == weights and base.history == {"train_loss": [1.0]}
    reference = build_model(TINY, seed=0).state_dict()
    assert all(torch.equal(v, base.model.state_dict()[k]) for k, v in reference.items())
    # another seed, corpus or training recipe: pre-trained here, then served from the cache
    other = load_or_pretrain_base(cache, TINY, TINY_TRAIN, seed=1, **load)
    assert other.source == "trained" and other.path.parent == cache / "lm_base"
    assert load_or_pretrain_base(cache, TINY, TINY_TRAIN, seed=1, **load).source == "cache"
    assert load_or_pretrain_base(cache, TINY, TrainConfig(steps=4, batch_size=2, warmup=1), seed=0,
                                 **load).source == "trained"
    assert load_or_pretrain_base(cache, TINY, TINY_TRAIN, seed=0, tokens=tokens, corpus_key="another",
                                 shipped_dir=shipped_dir).source == "trained"
    # damaged bytes: never loaded, a warning says why, and the run pre-trains its own
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match="does not match its recorded SHA-256"):
        assert load_or_pretrain_base(cache, TINY, TINY_TRAIN, seed=0, **load).source == "trained"


def test_the_base_file_cannot_run_code(tmp_path: Path) -> None:
    # safetensors: a header of JSON and raw tensor bytes; a pickle would start with b"\x80"
    path = _ship(tmp_path)
    head = path.read_bytes()[:9]
    assert head[8:9] == b"{" and b"\x80" not in head[:1]
    shutil.copy(path, tmp_path / "copy.safetensors")
    tensors, recipe, _ = read_base(tmp_path / "copy.safetensors")
    assert recipe["model"] == json.loads(json.dumps(base_recipe(TINY, TINY_TRAIN, "corpus", 0)))["model"]
    assert set(tensors) == set(build_model(TINY).state_dict())


def test_a_repeated_fit_from_the_base_is_the_same_model_fitted_once() -> None:
    from madlib.models import lm as lm_models
    from madlib.models.decoding import Decoding
    from madlib.models.lm import TransformerFamily

    cfg = TransformerConfig(vocab_size=16, context=16, d_model=8, n_layers=1, n_heads=2)
    family = TransformerFamily(build_model(cfg, seed=0), TrainConfig(steps=3, batch_size=2, warmup=1), Decoding(),
                               prompt_len=4)
    data = torch.randint(16, (2, 6, 8), generator=torch.Generator().manual_seed(1))
    lm_models._FIRST_FITS.clear()
    first = family.fit(data, generator=torch.Generator().manual_seed(5))
    assert len(lm_models._FIRST_FITS) == 1
    again = family.fit(data, generator=torch.Generator().manual_seed(5))
    assert len(lm_models._FIRST_FITS) == 1  # a hit: not fitted a second time
    other = family.fit(data, generator=torch.Generator().manual_seed(6))  # another seed: another fit
    assert len(lm_models._FIRST_FITS) == 2
    for a, b in zip(first.models, again.models):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert first.history == again.history and again.original is data
    assert not all(torch.equal(x, y) for x, y in zip(first.models[0].state_dict().values(),
                                                     other.models[0].state_dict().values()))
    # the memo is bounded and keeps the most recently used fits
    for seed in range(20):
        family.fit(data[:, :2], generator=torch.Generator().manual_seed(100 + seed))
    assert len(lm_models._FIRST_FITS) == lm_models._FIRST_FITS_KEPT
