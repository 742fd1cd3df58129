"""Energies, forces and stress equal LAMMPS (`sw`, `edip/multi`) with the same parameter values."""

import numpy as np
import pytest
from conftest import CRYSTALS
from lammps_runner import evaluate

from ffdiff import Calculator
from ffdiff.units import EV_PER_A3_TO_GPA

NAMES = [*CRYSTALS, "liquid64", "amorphous64"]


def _ours(atoms, potential):
    atoms = atoms.copy()
    atoms.calc = Calculator(potential)
    return {
        "energy": atoms.get_potential_energy(),
        "forces": atoms.get_forces(),
        "stress": atoms.get_stress() * EV_PER_A3_TO_GPA,
        "params": {k: float(v) for k, v in atoms.calc.params.items()},
    }


@pytest.mark.parametrize("potential", ["sw", "edip"])
@pytest.mark.parametrize("name", NAMES)
def test_matches_lammps(structures, potential, name):
    atoms = structures[name]
    ours = _ours(atoms, potential)
    ref = evaluate(atoms, potential, ours["params"])
    assert abs(ours["energy"] - ref["energy"]) / len(atoms) <= 1e-8  # eV/atom
    np.testing.assert_allclose(ours["forces"], ref["forces"], rtol=0, atol=1e-7)  # eV/Å
    np.testing.assert_allclose(ours["stress"], ref["stress"], rtol=0, atol=1e-6)  # GPa


def test_snapshots_are_disordered(structures):
    """The liquid and amorphous cells really left the lattice (else they would test nothing new)."""
    for name in ("liquid64", "amorphous64"):
        e = _ours(structures[name], "sw")["energy"] / 64
        assert e > -4.2, f"{name} looks crystalline: {e:.3f} eV/atom (diamond -4.337)"


@pytest.mark.parametrize("potential", ["sw", "edip"])
def test_matches_lammps_10k_atoms(potential):
    """A 10 648-atom rattled crystal: the neighbour list scales to the sizes MD needs."""
    from conftest import diamond, rattled

    atoms = rattled(diamond(repeat=11), 0.1, seed=11)
    ours = _ours(atoms, potential)
    ref = evaluate(atoms, potential, ours["params"])
    assert abs(ours["energy"] - ref["energy"]) / len(atoms) <= 1e-8
    np.testing.assert_allclose(ours["forces"], ref["forces"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours["stress"], ref["stress"], rtol=0, atol=1e-6)
