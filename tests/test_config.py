import pytest
import torch

from madlib.core.config import get_device, get_scale, make_generator, resolve, scaled, seed_everything


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
    a = torch.randn(5, generator=make_generator(3, "cpu"))
    b = torch.randn(5, generator=make_generator(3, "cpu"))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="seed"):
        make_generator(-1, "cpu")
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-2)


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
