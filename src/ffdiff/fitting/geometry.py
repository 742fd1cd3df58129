"""The structures a classical fit evaluates its potential on: the 8-atom diamond crystal and phonopy's
supercell, at a fixed lattice constant or at the potential's own zero-pressure one, with neighbour
lists that serve every parameter set the fit reaches."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import numpy as np

from ffdiff.neighbors import neighbor_list
from ffdiff.potentials import Potential
from ffdiff.properties.equilibrium import equilibrium_lattice_constant
from ffdiff.typing import Params

# Fractional coordinates of the 8-atom cubic diamond cell in the order of ASE's
# bulk("Si", "diamond", cubic=True) (importing ase.build would cost each fit job half a second).
DIAMOND = np.array([[0.0, 0.0, 0.0], [0.25, 0.25, 0.25], [0.0, 0.5, 0.5], [0.25, 0.75, 0.75],
                    [0.5, 0.0, 0.5], [0.75, 0.25, 0.75], [0.5, 0.5, 0.0], [0.75, 0.75, 0.25]])
CUTOFF_SKIN = 0.5  # Å: list head room when a fit moves the cutoff (checked after every fit)

GEOMETRIES = ("fixed", "relaxed")


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Structures a potential is evaluated on: 8-atom cell at ``a`` and phonopy's supercell.

    Neighbour lists are built for the starting parameters with ``skin`` of head room: zero unless
    the fit moves the cutoff or the lattice, which keeps the triplet lists (and Hessians) ~20× smaller.

    With ``relaxed`` the structures follow the potential's own zero-pressure lattice constant a0(θ)
    (:func:`ffdiff.fitting.objectives.at_own_lattice`): :meth:`crystal` and :meth:`supercell` then
    give positions and box for a = 1 Å (phonopy's supercell divided by the DFT lattice constant) and
    a list built at a0 of the parameters given, which serves every a0 whose cutoff sphere stays within
    its skin (checked after each fit by :func:`check_range`).
    """

    potential: Potential
    lattice_constant: float
    phonon: object | None
    skin: float = 0.0
    relaxed: bool = False

    def a(self, params: Params) -> float:
        """The lattice constant (Å) the structures have at ``params``: a0(params) if relaxed."""
        if self.relaxed:
            return float(equilibrium_lattice_constant(self.potential, params))
        return self.lattice_constant

    def crystal(self, params: Params):
        if self.relaxed:
            return self._per_a0(params, DIAMOND, np.eye(3))
        box = self.lattice_constant * np.eye(3)
        return self._listed(params, DIAMOND @ box, box)

    def supercell(self, params: Params, scale: float = 1.0):
        """Phonopy's supercell, uniformly stretched by ``scale`` (1: the DFT geometry; relaxed: per Å
        of a0, ``scale`` unused)."""
        position, box = np.asarray(self.phonon.supercell.positions), np.asarray(self.phonon.supercell.cell)
        if self.relaxed:
            unit = 1.0 / dft_lattice_constant(self.phonon)
            return self._per_a0(params, unit * position, unit * box)
        return self._listed(params, scale * position, scale * box)

    def _listed(self, params: Params, position, box, at: float = 1.0):
        """(position, box, list) on the device, the list built for the structure stretched by ``at``."""
        nbrs = neighbor_list(at * position, at * box, self.potential.cutoff(params), skin=self.skin)
        return jax.device_put(position), jax.device_put(box), nbrs

    def _per_a0(self, params: Params, unit_position, unit_box):
        return self._listed(params, unit_position, unit_box, at=self.a(params))


def dft_lattice_constant(phonon) -> float:
    """Cubic lattice constant (Å) of phonopy's unit cell, (8 V / n)^(1/3) with V its volume (Å³) and n its
    atoms: the conventional diamond cell's a whether the unit cell is conventional or primitive."""
    cell = phonon.unitcell
    return float((8.0 * abs(np.linalg.det(np.asarray(cell.cell))) / len(cell.numbers)) ** (1.0 / 3.0))


def skin_for(potential: Potential, fitted: Sequence[str], relaxed: bool = False) -> float:
    return CUTOFF_SKIN if relaxed or set(fitted) & potential.cutoff_params else 0.0


def check_range(geometry: Geometry, start: Params, params: Params) -> None:
    """A fit that moved the cutoff (or, relaxed, shrank the lattice) beyond the lists' head room evaluated
    a truncated potential: every pair within the cutoff at ``params`` must have been within the list's
    radius at ``start``, distances scaling with a0."""
    potential, skin = geometry.potential, geometry.skin
    stretch = geometry.a(params) / geometry.a(start) if geometry.relaxed else 1.0
    if potential.cutoff(params) > stretch * (potential.cutoff(start) + skin):
        raise RuntimeError(
            f"{potential.name} cutoff {potential.cutoff(params):.4f} Å at lattice stretch {stretch:.4f} reaches "
            f"beyond the neighbour lists built for {potential.cutoff(start):.4f} Å with a skin of {skin} Å "
            "during the fit; constrain the fitted parameters"
        )
