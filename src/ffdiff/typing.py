"""The seams between ffdiff's pieces, as structural types.

Every potential, classical or learned, is an :class:`EnergyFn`: a pure function of an explicit
parameter pytree and of the configuration, so that ``jax.grad`` reaches every parameter and the
same calculator, property and fitting code serves all of them.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax

Array = jax.Array
Params = dict[str, Any]
"""A parameter pytree: for the classical potentials a flat dict of scalars keyed by LAMMPS names."""


class EnergyFn(Protocol):
    def __call__(self, params: Params, position: Array, box: Array, neighbors: Any) -> Array:
        """Total potential energy in eV.

        Args:
            params: parameter pytree.
            position: `[n_atoms, 3]` Cartesian positions in Å.
            box: `[3, 3]` cell, one lattice vector per row, in Å.
            neighbors: a :class:`ffdiff.neighbors.NeighborList` built for these positions.
        """


class CutoffFn(Protocol):
    def __call__(self, params: Params) -> float:
        """Interaction range in Å for these parameter values."""


class PropertyFn(Protocol):
    def __call__(self, params: Params, position: Array, box: Array, neighbors: Any) -> Array:
        """A property (elastic tensor, Hessian, RDF …) differentiable in ``params``."""
