"""ASE calculator for every ffdiff potential and trained model (float64)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path

import jax
import numpy as np
from ase.calculators.calculator import Calculator as _AseCalculator
from ase.calculators.calculator import all_changes

from ffdiff import neighbors as nl
from ffdiff.exceptions import NeighborListOverflowError, StructureError
from ffdiff.potentials import Potential, get_potential, load_params
from ffdiff.properties.static import energy_forces_stress, to_voigt

logger = logging.getLogger(__name__)


@functools.cache
def _compiled(potential: Potential):
    """Energy, forces and Voigt stress in one compiled call (eager JAX ops would each cost a dispatch)."""

    def efs(params, position, box, neighbors):
        energy, forces, stress = energy_forces_stress(potential.energy, params, position, box, neighbors)
        return energy, forces, to_voigt(stress)

    return jax.jit(efs)


class Calculator(_AseCalculator):
    """ASE calculator backed by a JAX potential.

    Args:
        potential: ``"sw"``, ``"edip"``, ``"mpgnn"``, ``"energy_graph_net"`` or a
            :class:`ffdiff.potentials.Potential`.
        params: parameter overrides, by LAMMPS name (e.g. ``{"lam": 1.5}``); a network's complete
            weights (random ones if None).
        element: the one chemical symbol the potential describes.
        skin: neighbour-list buffer in Å (default 1.0 for three-body potentials, which evaluate only
            the pairs inside the cutoff through a short list, 0.25 for pair-list models). The list
            is rebuilt only once some atom has moved more than ``skin / 2`` since it was built, or
            the cell changed; an MD step then costs one compiled call.

    Examples:
        >>> from ase.build import bulk
        >>> from ffdiff import Calculator
        >>> atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        >>> atoms.calc = Calculator("sw")
        >>> round(atoms.get_potential_energy() / len(atoms), 6)
        -4.33652
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, potential: str | Potential = "sw", params: Mapping | None = None,
                 *, element: str = "Si", skin: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.potential = get_potential(potential)
        self.params = self.potential.params(params)
        self.element = element
        self.skin = float(skin if skin is not None else 1.0 if self.potential.three_body else 0.25)
        self._neighbors: nl.NeighborList | None = None
        self._box: np.ndarray | None = None

    @classmethod
    def from_file(cls, path, *, element: str = "Si", **kwargs) -> Calculator:
        """A calculator with the parameters of a LAMMPS ``.sw``/``.edip`` file or ffdiff JSON, or the
        network and weights of an ffdiff model file (``.npz``, :func:`ffdiff.potentials.models.save_model`),
        evaluated in float64 whatever precision it was trained in."""
        if Path(path).suffix == ".npz":
            from ffdiff.potentials.models import load_model

            model, weights, _ = load_model(path)
            return cls(model, jax.tree.map(lambda w: np.asarray(w, dtype=np.float64), weights), element=element,
                       **kwargs)
        name, params = load_params(path, element=element)
        return cls(name, params, element=element, **kwargs)

    def _neighbor_list(self, position: np.ndarray, box: np.ndarray, pbc, *, fresh: bool = False) -> nl.NeighborList:
        """The current list if still valid here, else a rebuilt one (same capacities when they fit:
        a new capacity is a new shape, which costs a compilation, also after the cell changed)."""
        old, pbc = self._neighbors, tuple(bool(p) for p in pbc)
        reusable = not fresh and old is not None and old.pbc == pbc and old.reference_position.shape == position.shape
        if reusable:
            moved = np.max(np.sum((position - np.asarray(old.reference_position)) ** 2, axis=1))
            if moved <= (0.5 * old.skin) ** 2 and np.array_equal(self._box, box):
                return old
            try:
                return nl.update(old, position, box)
            except NeighborListOverflowError:
                logger.debug("neighbour list overflow; re-allocating")
        return nl.neighbor_list(position, box, self.potential.cutoff(self.params), skin=self.skin, pbc=pbc,
                                triplets=self.potential.triplets, short=self.potential.three_body)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        symbols = set(self.atoms.get_chemical_symbols())
        if symbols - {self.element}:
            raise StructureError(
                f"{self.potential.name} describes {self.element} only; structure has {sorted(symbols)}"
            )
        position = np.asarray(self.atoms.positions, dtype=np.float64)
        box = np.asarray(self.atoms.cell.array, dtype=np.float64)
        self._neighbors, self._box = self._neighbor_list(position, box, self.atoms.pbc), box
        energy, forces, stress = _compiled(self.potential)(self.params, position, box, self._neighbors)
        if not np.isfinite(energy) and self._neighbors.short_capacity:  # the short list overflowed: re-size
            self._neighbors = self._neighbor_list(position, box, self.atoms.pbc, fresh=True)
            energy, forces, stress = _compiled(self.potential)(self.params, position, box, self._neighbors)
        self.results = {"energy": float(energy), "free_energy": float(energy),
                        "forces": np.asarray(forces)}
        if self.atoms.pbc.all():
            self.results["stress"] = np.asarray(stress)
