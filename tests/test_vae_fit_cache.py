"""A VAE fitted from scratch is kept under the cache, so another process (chapter 6 after chapter 4) reuses it."""
from __future__ import annotations

import torch

from madlib.models import vae as vae_models
from madlib.models.vae import VAEFamily


def test_a_cold_fit_is_reused_from_disk_by_another_process(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    family = VAEFamily(epochs=1, batch_size=8, channels=2, hidden=8, device="cpu")
    data = torch.rand(1, 16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    vae_models._COLD_FITS.clear()
    first = family.fit(data, generator=torch.Generator().manual_seed(3))
    files = list((tmp_path / "vae_fits").glob("*.safetensors"))
    assert len(files) == 1 and files[0].read_bytes()[8:9] == b"{"  # safetensors, not a pickle
    vae_models._COLD_FITS.clear()  # as in a new process
    again = family.fit(data, generator=torch.Generator().manual_seed(3))
    assert again.final_loss == first.final_loss
    assert all(torch.equal(a, b) for a, b in zip(first.network.state_dict().values(),
                                                 again.network.state_dict().values()))
    # another seed or other data: another fit, another file
    family.fit(data, generator=torch.Generator().manual_seed(4))
    assert len(list((tmp_path / "vae_fits").glob("*.safetensors"))) == 2
    # a damaged file is a miss (with a warning), never trusted
    files[0].write_bytes(b"damaged")
    vae_models._COLD_FITS.clear()
    import pytest

    with pytest.warns(UserWarning, match="unreadable cached file"):
        third = family.fit(data, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(first.network.state_dict().values(),
                                                 third.network.state_dict().values()))
