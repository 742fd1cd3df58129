"""Shared fixtures: the test structures, including liquid and amorphous snapshots made by LAMMPS MD."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ffdiff import get_potential


def diamond(a: float = 5.431, repeat: int = 1) -> Atoms:
    return bulk("Si", "diamond", a=a, cubic=True).repeat(repeat)


def rattled(atoms: Atoms, stdev: float, seed: int) -> Atoms:
    atoms = atoms.copy()
    atoms.rattle(stdev=stdev, seed=seed)
    return atoms


def deformed(atoms: Atoms, matrix) -> Atoms:
    """Apply x -> x @ matrix to positions and cell rows (lower-triangular matrix keeps LAMMPS's frame)."""
    atoms = atoms.copy()
    atoms.set_cell(atoms.cell.array @ np.asarray(matrix), scale_atoms=True)
    return atoms


SHEAR = [[1.0, 0.0, 0.0], [0.12, 1.0, 0.0], [-0.08, 0.10, 1.0]]
STRAIN_8 = [[1.01, 0.0, 0.0], [0.004, 0.995, 0.0], [0.0, -0.003, 1.002]]

CRYSTALS = {
    "diamond8": lambda: diamond(),
    "diamond64": lambda: diamond(repeat=2),
    "diamond216": lambda: diamond(repeat=3),
    "strained8": lambda: deformed(diamond(), STRAIN_8),
    "rattled0.05": lambda: rattled(diamond(repeat=2), 0.05, 1),
    "rattled0.15": lambda: rattled(diamond(repeat=2), 0.15, 2),
    "rattled0.30": lambda: rattled(diamond(repeat=2), 0.30, 3),
    "triclinic64": lambda: rattled(deformed(diamond(repeat=2), SHEAR), 0.1, 4),
    "primitive2": lambda: rattled(bulk("Si", "diamond", a=5.431), 0.05, 5),  # cell < 2 cutoffs
}


def _md(potential: str, schedule, seed: int) -> Atoms:
    from lammps_runner import md_snapshot

    params = {k: float(v) for k, v in get_potential(potential).params().items()}
    return md_snapshot(diamond(repeat=2), potential, params, schedule, seed)


@pytest.fixture(scope="session")
def structures() -> dict[str, Atoms]:
    """Crystals plus a 3000 K SW liquid and an EDIP melt-quench amorphous snapshot (64 atoms)."""
    out = {name: make() for name, make in CRYSTALS.items()}
    out["liquid64"] = _md("sw", [(3000.0, 3000.0, 4000)], seed=4928)
    out["amorphous64"] = _md("edip", [(3000.0, 3000.0, 3000), (3000.0, 300.0, 6000)], seed=1307)
    return out
