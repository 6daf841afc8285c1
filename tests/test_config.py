import pytest
import torch

from madlib.core.config import get_device, get_scale, resolve, scaled
from madlib.core.seeding import child_seed, generator as make_generator, seed_from


def test_scale_from_environment(monkeypatch):
    monkeypatch.setenv("MADLIB_SCALE", "full")
    assert get_scale() == "full"
    assert resolve(scaled(smoke=1, default=2, full=3)) == 3
    monkeypatch.setenv("MADLIB_SCALE", "default")
    assert resolve(scaled(smoke=1, default=2)) == 2
    assert scaled(smoke=1, default=2).full == 2


def test_bad_scale_names_the_variable(monkeypatch):
    monkeypatch.setenv("MADLIB_SCALE", "huge")
    with pytest.raises(ValueError, match="MADLIB_SCALE"):
        get_scale()


def test_device_and_generator_are_reproducible(monkeypatch):
    monkeypatch.setenv("MADLIB_DEVICE", "cpu")
    assert get_device().type == "cpu"
    a = torch.randn(5, generator=make_generator(3, device="cpu"))
    b = torch.randn(5, generator=make_generator(3, device="cpu"))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="seed"):
        make_generator(-1, device="cpu")


def test_generator_keys_name_independent_streams():
    """generator(seed, *key) is the stream of child_seed(seed, *key); different keys differ."""
    plain = torch.rand(4, generator=torch.Generator().manual_seed(child_seed(7, "evaluation")))
    assert torch.equal(torch.rand(4, generator=make_generator(7, "evaluation")), plain)
    assert not torch.equal(torch.rand(4, generator=make_generator(7, "reference")), plain)


def test_seed_from_draws_one_reproducible_seed_per_call():
    g1, g2 = make_generator(5), make_generator(5)
    seeds = [seed_from(g1) for _ in range(3)]
    assert seeds == [seed_from(g2) for _ in range(3)]
    assert len(set(seeds)) == 3 and all(0 <= s < 2**62 for s in seeds)


def test_cpu_threads_restores_and_validates():
    from madlib.core.config import cpu_threads

    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with cpu_threads(1, device="cuda"):  # another device: leave torch alone
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with cpu_threads(0):
            pass
