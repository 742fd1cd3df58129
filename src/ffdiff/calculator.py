"""ASE calculator for every ffdiff potential (float64)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping

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
    return jax.jit(functools.partial(energy_forces_stress, potential.energy))


class Calculator(_AseCalculator):
    """ASE calculator backed by a JAX potential.

    Args:
        potential: ``"sw"``, ``"edip"`` or a :class:`ffdiff.potentials.Potential`.
        params: parameter overrides, by LAMMPS name (e.g. ``{"lam": 1.5}``).
        element: the one chemical symbol the potential describes.
        skin: neighbour-list buffer in Å; lists are rebuilt at every call, the skin only lets their
            capacity (and so the compiled code) be reused while atoms move.

    Examples:
        >>> from ase.build import bulk
        >>> from ffdiff import Calculator
        >>> atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        >>> atoms.calc = Calculator("sw")
        >>> round(atoms.get_potential_energy() / len(atoms), 6)
        -4.33652
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, potential: str | Potential = "sw", params: Mapping[str, float] | None = None,
                 *, element: str = "Si", skin: float = 0.25, **kwargs):
        super().__init__(**kwargs)
        self.potential = get_potential(potential)
        self.params = self.potential.params(params)
        self.element = element
        self.skin = float(skin)
        self._neighbors: nl.NeighborList | None = None

    @classmethod
    def from_file(cls, path, *, element: str = "Si", **kwargs) -> Calculator:
        """A calculator with the parameters of a LAMMPS ``.sw``/``.edip`` file or ffdiff JSON."""
        name, params = load_params(path, element=element)
        return cls(name, params, element=element, **kwargs)

    def _neighbor_list(self, position: np.ndarray, box: np.ndarray, pbc) -> nl.NeighborList:
        cutoff = self.potential.cutoff(self.params)
        old = self._neighbors
        if old is not None and old.pbc == tuple(bool(p) for p in pbc) and old.reference_position.shape == position.shape:
            try:
                return nl.update(old, position, box)
            except NeighborListOverflowError:
                logger.debug("neighbour list overflow; re-allocating")
        return nl.neighbor_list(position, box, cutoff, skin=self.skin, pbc=pbc,
                                triplets=self.potential.three_body)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        symbols = set(self.atoms.get_chemical_symbols())
        if symbols - {self.element}:
            raise StructureError(
                f"{self.potential.name} describes {self.element} only; structure has {sorted(symbols)}"
            )
        position = np.asarray(self.atoms.positions, dtype=np.float64)
        box = np.asarray(self.atoms.cell.array, dtype=np.float64)
        self._neighbors = self._neighbor_list(position, box, self.atoms.pbc)
        energy, forces, stress = _compiled(self.potential)(self.params, position, box, self._neighbors)
        self.results = {"energy": float(energy), "free_energy": float(energy),
                        "forces": np.asarray(forces)}
        if self.atoms.pbc.all():
            self.results["stress"] = np.asarray(to_voigt(stress))
