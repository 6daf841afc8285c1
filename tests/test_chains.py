"""Chains in threads (madlib.core.chains) are a shortcut: they must give, bit for bit, the chains that run
one after another, for every option the VAE experiment accepts, and stop cleanly on an error or Ctrl-C."""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

from madlib.core import chains as chains_module
from madlib.core import sweep as sweep_module
from madlib.core.chains import ChainStopped, chain_workers, run_chains
from madlib.core.loop import LoopCheckpoint, run_loop
from madlib.core.sources import DistributionSource
from madlib.experiments import run_experiment
from madlib.models import vae as vae_module
from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler
from madlib.simulations import vae as vae_simulation

SMALL = dict(replicates=3, generations=2, n_real=60, epochs=2, warm_start_epochs=1, n_eval=60, grid_size=4,
             n_embed=20, classifier_epochs=1, classifier_train_size=300, channels=4, hidden=16, scale="smoke")


def vae_run(monkeypatch, tmp_path, workers: int, options: dict):
    """The ``vae`` run of ``options`` in a fresh cache, with ``workers`` chains at once (checked)."""
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / f"cache-{workers}"))
    monkeypatch.setenv("MADLIB_WORKERS", str(workers))
    vae_module._COLD_FITS.clear()  # from-scratch fits are memoised per session: each run trains its own
    used = []
    real_run_chains = vae_simulation.run_chains

    def spy(run, count, *, workers):
        used.append(workers)
        return real_run_chains(run, count, workers=workers)

    monkeypatch.setattr(vae_simulation, "run_chains", spy)
    result = run_experiment("vae", progress=False, **{**SMALL, **options})
    assert used == [workers]
    return result


@pytest.mark.parametrize("options", [
    {},  # warm-started replace
    {"warm_start_epochs": 0, "workflow": "accumulate"},  # every network from scratch: the global RNG at init
    {"workflow": "fresh", "sampling_bias": 0.5, "binarize": True},
    {"curate": "learned-verifier"},
    {"curate": "self-likelihood", "keep_fraction": 0.5},
    {"kept_real_fraction": 0.1},
    {"workflow": "augment"},
    {"workflow": "accumulate-subsample"},
    {"workflow": "mix", "mix_original": 0.2, "mix_previous": 0.3},
    {"workflow": "reset", "reset_every": 1},
], ids=["replace", "scratch-accumulate", "fresh-biased-binarized", "verifier", "self-likelihood", "kept10",
        "augment", "accumulate-subsample", "mix", "reset"])
def test_chains_in_threads_equal_chains_one_after_another(monkeypatch, tmp_path, options):
    """Every workflow of the loop and every option of the VAE experiment (curation, bias, binarized digits,
    from scratch or warm-started): the threads' results equal the sequential ones exactly."""
    one_by_one = vae_run(monkeypatch, tmp_path, 1, options)
    at_once = vae_run(monkeypatch, tmp_path, 3, options)
    assert not at_once.cached and not one_by_one.cached
    timing = ("elapsed_s",)
    assert {k: v for k, v in at_once.summary.items() if k not in timing} == \
        {k: v for k, v in one_by_one.summary.items() if k not in timing}
    for name in ("grids", "histograms", "features", "predicted"):
        assert torch.equal(at_once.extras[name], one_by_one.extras[name]), name
    assert at_once.table.equals(one_by_one.table)


def test_a_failing_chain_stops_the_others_and_its_error_is_raised():
    reached, started = {}, [threading.Event() for _ in range(3)]

    def run(index, stop):
        started[index].set()
        if index == 1:
            assert all(event.wait(30) for event in started)  # the others are running
            raise ValueError("chain 1 failed")
        for generation in range(200):
            if stop.is_set():
                reached[index] = generation
                raise ChainStopped(f"stopped at {generation}")
            time.sleep(0.01)
        reached[index] = 200
        return index

    with pytest.raises(ValueError, match="chain 1 failed"):
        run_chains(run, 3, workers=3)
    assert set(reached) == {0, 2} and max(reached.values()) < 200  # the others stopped early


def test_ctrl_c_stops_every_chain_between_generations_and_is_raised_again():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl-C reaches only the main thread, and this test does not run in it")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own: a KeyboardInterrupt
    finished, started = [], [threading.Event(), threading.Event()]

    def run(index, stop):
        started[index].set()
        for generation in range(300):
            if index == 0 and generation == 10 and started[1].wait(30):  # both chains are running now
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C (what a notebook's interrupt sends the kernel)
            time.sleep(0.01)  # "training" a generation: it always finishes
            if stop.is_set():
                finished.append((index, generation))
                raise ChainStopped(f"stopped after {generation}")
        return index

    try:
        with pytest.raises(KeyboardInterrupt):
            run_chains(run, 2, workers=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(index for index, _ in finished) == [0, 1]
    assert all(generation < 299 for _, generation in finished)
    assert not [t for t in threading.enumerate() if t.name.startswith("madlib-chain")]  # no chain left running


def test_results_keep_the_chains_order_and_one_worker_runs_in_this_thread():
    def run(index, stop):
        time.sleep(0.02 * (3 - index))  # the last chain finishes first
        return index, threading.current_thread().name

    at_once = run_chains(run, 3, workers=3)
    assert [index for index, _ in at_once] == [0, 1, 2]
    assert all(name.startswith("madlib-chain") for _, name in at_once)
    assert run_chains(run, 2, workers=1) == [(0, threading.current_thread().name)] * 1 + [
        (1, threading.current_thread().name)]
    assert run_chains(run, 0, workers=2) == []


def test_a_stopped_loop_keeps_its_finished_generations_and_resumes_exactly(tmp_path):
    source = lambda: DistributionSource(gaussian_source_sampler(), replicates=2)  # noqa: E731
    full = run_loop(GaussianFamily(), source(), generations=5, n_real=30, seed=3,
                    observe=lambda m, d, g, gen: {"std": m.std})
    stop = threading.Event()

    def observe(model, data, generation, generator):
        if generation == 2:
            stop.set()  # asked to stop while generation 2 trains: it is finished and saved first
        return {"std": model.std}

    with pytest.raises(ChainStopped, match="after generation 2"):
        run_loop(GaussianFamily(), source(), generations=5, n_real=30, seed=3, observe=observe,
                 checkpoint=LoopCheckpoint(tmp_path), stop=stop)
    resumed = run_loop(GaussianFamily(), source(), generations=5, n_real=30, seed=3,
                       observe=lambda m, d, g, gen: {"std": m.std}, checkpoint=LoopCheckpoint(tmp_path),
                       stop=threading.Event())
    assert resumed.resumed_from == 2
    assert np.array_equal(resumed.table["value"].to_numpy(), full.table["value"].to_numpy())
    # a stop asked for during the last generation ends the run normally: there is nothing left to stop
    stop.set()
    assert run_loop(GaussianFamily(), source(), generations=0, n_real=30, seed=3, stop=stop).resumed_from is None


def test_how_many_chains_run_at_once(monkeypatch):
    monkeypatch.delenv("MADLIB_WORKERS", raising=False)
    monkeypatch.setattr(sweep_module, "_cores", lambda: 2)  # a 2-core machine
    assert chain_workers(3) == 3  # two threads a core, at most one a chain
    assert chain_workers(10) == 4
    assert chain_workers(1) == 1
    assert chain_workers(3, "cuda") == 1  # one device: the chains would share it
    assert chain_workers(3, workers=2) == 2
    monkeypatch.setenv("MADLIB_WORKERS", "1")
    assert chain_workers(3) == 1
    monkeypatch.delenv("MADLIB_WORKERS")
    monkeypatch.setattr(chains_module, "available_memory", lambda device=None: (3 * 2**30, "RAM"))
    assert chain_workers(4, memory_per_chain=1.2 * 2**30) == 2  # only two fit in 3 GiB
    assert chain_workers(4, memory_per_chain=5 * 2**30) == 1  # one at a time (the run's own check refuses)
    with pytest.raises(ValueError, match="count"):
        chain_workers(0)
    with pytest.raises(ValueError, match="memory_per_chain"):
        chain_workers(2, memory_per_chain=-1)
    with pytest.raises(ValueError, match="workers"):
        run_chains(lambda index, stop: index, 2, workers=0)
