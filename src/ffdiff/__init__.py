"""ffdiff: force-field optimisation by end-to-end differentiable atomistic simulation.

Importing ffdiff turns on JAX's float64 mode (at once if JAX is loaded, else when it is): fits and
reference checks need it. Pass float32 arrays explicitly where a benchmark has shown single
precision to be safe. The public names below load on first use, so jobs that only read results,
write tables or plot never pay for importing JAX.
"""

import importlib
import os
import sys

if "jax" in sys.modules:
    sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    os.environ["JAX_ENABLE_X64"] = "True"  # JAX reads it when first imported

__version__ = "0.1.0"

_PUBLIC = {
    "Calculator": "ffdiff.calculator",
    "NeighborList": "ffdiff.neighbors",
    "neighbor_list": "ffdiff.neighbors",
    "POTENTIALS": "ffdiff.potentials",
    "Potential": "ffdiff.potentials",
    "get_potential": "ffdiff.potentials",
    "load_params": "ffdiff.potentials",
}

__all__ = sorted([*_PUBLIC, "__version__"])


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'ffdiff' has no attribute {name!r}")


def __dir__():
    return __all__
