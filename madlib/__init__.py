"""madlib: the library behind "Model Collapse, Hands-On".

Chapters are narrative over these calls::

    from madlib import run_experiment, use_house_style
    result = run_experiment("gaussian", preset="essay")

The layers (imports point down only; ``make test`` checks it): ``core`` (config, validation,
protocol, sources, workflows, loop, checkpoints, selection rules, cache) < ``models`` <
``theory`` | ``metrics`` | ``data`` < ``remedies`` < ``simulations`` < ``experiments`` <
``plots`` < ``widgets`` < ``cli``. See ARCHITECTURE.md.
"""
import sys as _sys

from ._version import MIN_PYTHON as _MIN_PYTHON, __version__

if _sys.version_info < _MIN_PYTHON:  # before any import that needs a newer Python's syntax
    raise ImportError(
        "madlib needs Python {}.{} or newer; this is Python {} ({}). Install a newer Python (python.org, "
        "or `uv venv --python 3.11`) and create the environment with it.".format(
            *_MIN_PYTHON, _sys.version.split()[0], _sys.executable))

from .core.config import SCALES, get_device, get_scale, scaled
from .core.seeding import generator as make_generator
from .core.loop import LoopResult, Observation, run_loop
from .core.sources import DistributionSource, PoolSource
from .core.workflows import WORKFLOWS, configure
from .experiments import ExperimentResult, list_experiments, run_experiment
from .plots.glue import glue, glue_values, scale_note
from .plots.interactive import show
from .plots.style import PALETTE, save_figure, use_house_style


__all__ = [
    "__version__",
    "SCALES", "WORKFLOWS", "PALETTE", "ExperimentResult", "LoopResult", "Observation", "DistributionSource",
    "PoolSource", "configure", "get_device", "get_scale", "list_experiments", "make_generator", "run_experiment", "run_loop",
    "glue", "glue_values", "save_figure", "scale_note", "scaled", "show", "use_house_style",
]
