"""Energies, forces and stress equal LAMMPS (`sw`, `edip/multi`, `tersoff`) with the same parameter values."""

import numpy as np
import pytest

from conftest import CRYSTALS
from ffdiff import Calculator
from ffdiff.interop.lammps import evaluate
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


@pytest.mark.parametrize("potential", ["sw", "edip", "tersoff"])
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


@pytest.mark.parametrize("potential", ["sw", "edip", "tersoff"])
def test_matches_lammps_10k_atoms(potential):
    """A 10 648-atom rattled crystal: the neighbour list scales to the sizes MD needs."""
    from conftest import diamond, rattled

    atoms = rattled(diamond(repeat=11), 0.1, seed=11)
    ours = _ours(atoms, potential)
    ref = evaluate(atoms, potential, ours["params"])
    assert abs(ours["energy"] - ref["energy"]) / len(atoms) <= 1e-8
    np.testing.assert_allclose(ours["forces"], ref["forces"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours["stress"], ref["stress"], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("potential", "a"), [("sw", 5.431), ("edip", 5.430), ("tersoff", 5.431)])
def test_elastic_constants_match_lammps(potential, a):
    """ffdiff's AD elastic tensor against finite differences of LAMMPS energies (LAMMPS relaxing the
    atoms for the relaxed C44)."""
    import jax
    import jax.numpy as jnp
    from ase.build import bulk

    from ffdiff import get_potential, neighbor_list
    from ffdiff.interop.lammps import elastic_constants as lammps_constants
    from ffdiff.properties.elastic import elastic_constants

    pot = get_potential(potential)
    params = pot.params()
    atoms = bulk("Si", "diamond", a=a, cubic=True)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, pot.cutoff(params))
    ours = jax.jit(elastic_constants, static_argnums=0)(pot.energy, params, jnp.asarray(atoms.positions),
                                                        jnp.asarray(atoms.cell.array), nbrs)
    theirs = lammps_constants(potential, {k: float(v) for k, v in params.items()}, a)
    assert float(ours["relaxed"][0, 0]) == pytest.approx(theirs["C11"], abs=0.01)
    assert float(ours["relaxed"][0, 1]) == pytest.approx(theirs["C12"], abs=0.01)
    assert float(ours["born"][3, 3]) == pytest.approx(theirs["C44_0"], abs=0.01)
    assert float(ours["relaxed"][3, 3]) == pytest.approx(theirs["C44"], abs=0.01)
