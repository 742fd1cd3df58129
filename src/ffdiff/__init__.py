"""ffdiff: force-field optimisation by end-to-end differentiable atomistic simulation.

Importing ffdiff turns on JAX's float64 mode: fits and reference checks need it. Pass float32
arrays explicitly where a benchmark has shown single precision to be safe.
"""

import jax

jax.config.update("jax_enable_x64", True)

from ffdiff.neighbors import NeighborList, neighbor_list  # noqa: E402
from ffdiff.potentials import POTENTIALS, Potential, get_potential, load_params  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Calculator":  # loaded on first use: ASE's calculator machinery costs every job start-up
        from ffdiff.calculator import Calculator

        return Calculator
    raise AttributeError(f"module 'ffdiff' has no attribute {name!r}")


__all__ = [
    "POTENTIALS",
    "Calculator",
    "NeighborList",
    "Potential",
    "__version__",
    "get_potential",
    "load_params",
    "neighbor_list",
]
