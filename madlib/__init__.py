"""madlib: the library behind "Model Collapse, Hands-On".

Chapters are narrative over these calls::

    from madlib import run_experiment, use_house_style
    result = run_experiment("gaussian", generations=1000)
"""
from .config import SCALES, get_device, get_scale, make_generator, scaled, seed_everything
from .experiments import ExperimentResult, list_experiments, run_experiment
from .loop import WORKFLOWS, LoopResult, run_loop
from .plots.style import PALETTE, use_house_style
from .sources import DistributionSource, PoolSource

__version__ = "0.1.0"

__all__ = [
    "SCALES", "WORKFLOWS", "PALETTE", "ExperimentResult", "LoopResult", "DistributionSource", "PoolSource",
    "get_device", "get_scale", "list_experiments", "make_generator", "run_experiment", "run_loop", "scaled",
    "seed_everything", "use_house_style",
]
