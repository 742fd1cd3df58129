"""ffdiff: force-field optimisation by end-to-end differentiable atomistic simulation.

Importing ffdiff turns on JAX's float64 mode (at once if JAX is loaded, else when it is): fits and
reference checks need it. Pass float32 arrays explicitly where a benchmark has shown single
precision to be safe. The public names below load on first use, so jobs that only read results,
write tables or plot never pay for importing JAX.
"""

import os
import sys

from ffdiff._lazy import attach

if "jax" in sys.modules:
    sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    os.environ["JAX_ENABLE_X64"] = "True"  # JAX reads it when first imported

__version__ = "0.1.0"

__all__, __getattr__, __dir__ = attach(__name__, {
    "ffdiff.calculator": ("Calculator",),
    "ffdiff.neighbors": ("NeighborList", "neighbor_list"),
    "ffdiff.potentials": ("POTENTIALS", "Potential", "get_potential", "load_params"),
})
__all__ = sorted([*__all__, "__version__"])
