"""Energies, forces and stress equal LAMMPS (`sw`, `edip/multi`, `tersoff`) with the same parameter values."""

import collections
import functools

import jax
import numpy as np
import pytest

from conftest import CRYSTALS
from ffdiff import Calculator, get_potential, neighbor_list
from ffdiff.interop.lammps import evaluate
from ffdiff.properties.static import energy_forces_stress, to_voigt
from ffdiff.units import EV_PER_A3_TO_GPA

POTENTIALS = ["sw", "edip", "tersoff"]
# Every test structure but diamond216, the perfect lattice of diamond8 and diamond64 on a larger list
# (which the 10 648-atom test below covers).
NAMES = [name for name in (*CRYSTALS, "liquid64", "amorphous64") if name != "diamond216"]


def _ours(atoms, potential):
    atoms = atoms.copy()
    atoms.calc = Calculator(potential)
    return {
        "energy": atoms.get_potential_energy(),
        "forces": atoms.get_forces(),
        "stress": atoms.get_stress() * EV_PER_A3_TO_GPA,
        "params": {k: float(v) for k, v in atoms.calc.params.items()},
    }


def _assert_matches(ours, ref, n_atoms):
    assert abs(ours["energy"] - ref["energy"]) / n_atoms <= 1e-8  # eV/atom
    np.testing.assert_allclose(ours["forces"], ref["forces"], rtol=0, atol=1e-7)  # eV/Å
    np.testing.assert_allclose(ours["stress"], ref["stress"], rtol=0, atol=1e-6)  # GPa


def _calculator_list(atoms, potential, **sizes):
    """The list ffdiff's Calculator builds for ``atoms`` (its skin, triplets and short list), at these
    sizes (``capacity``, ``short``, ``short_triplets``) if given."""
    calc = Calculator(potential)
    sizes = {"short": calc.potential.three_body, **sizes}
    return neighbor_list(atoms.positions, atoms.cell.array, calc.potential.cutoff(calc.params), skin=calc.skin,
                         triplets=calc.potential.triplets, **sizes)


def _group(potential, atoms):
    """Cells of one size whose Calculator lists are of one kind (with a short list or without)."""
    return potential, len(atoms), bool(_calculator_list(atoms, potential).short_capacity)


@pytest.fixture(scope="module")
def list_sizes(structures):
    """Per group (:func:`_group`), the largest sizes its cells' lists take: every cell is listed at
    those of its group, so that one compiled program serves the group."""
    groups = collections.defaultdict(list)
    for potential in POTENTIALS:
        for name in NAMES:
            groups[_group(potential, structures[name])].append(_calculator_list(structures[name], potential))
    sizes = {}
    for key, lists in groups.items():
        slots = max(n.short_slots for n in lists)
        sizes[key] = {"capacity": tuple(max(n.capacity[k] for n in lists) for k in range(2)),
                      "short": max(n.short_capacity for n in lists) or False,
                      "short_triplets": (slots, max(n.short_triplets for n in lists)) if slots else None}
    return sizes


@functools.partial(jax.jit, static_argnums=0)
def _efs(potential, params, position, box, nbrs):
    """What the Calculator computes: energy, forces and Voigt stress (eV/Å³) in one compiled call."""
    energy, forces, stress = energy_forces_stress(get_potential(potential).energy, params, position, box, nbrs)
    return energy, forces, to_voigt(stress)


def _padded(atoms, potential, list_sizes):
    """Energy, forces and stress (GPa) on the Calculator's list for ``atoms`` padded to its group's sizes."""
    nbrs = _calculator_list(atoms, potential, **list_sizes[_group(potential, atoms)])
    params = get_potential(potential).params()
    energy, forces, stress = _efs(potential, params, atoms.positions, atoms.cell.array, nbrs)
    return {"energy": float(energy), "forces": np.asarray(forces), "stress": np.asarray(stress) * EV_PER_A3_TO_GPA,
            "params": {k: float(v) for k, v in params.items()}}


@pytest.mark.parametrize("potential", POTENTIALS)
@pytest.mark.parametrize("name", NAMES)
def test_matches_lammps(structures, list_sizes, potential, name):
    """Each cell on the list the Calculator builds for it (with a short list where it sizes one),
    padded to the largest of its group; the Calculator itself is compared below."""
    atoms = structures[name]
    ours = _padded(atoms, potential, list_sizes)
    _assert_matches(ours, evaluate(atoms, potential, ours["params"]), len(atoms))


def test_snapshots_are_disordered(structures, list_sizes):
    """The liquid and amorphous cells really left the lattice (else they would test nothing new)."""
    for name in ("liquid64", "amorphous64"):
        e = _padded(structures[name], "sw", list_sizes)["energy"] / 64
        assert e > -4.2, f"{name} looks crystalline: {e:.3f} eV/atom (diamond -4.337)"


@pytest.mark.parametrize("potential", POTENTIALS)
def test_matches_lammps_10k_atoms(potential):
    """A 10 648-atom rattled crystal through ffdiff's ASE Calculator: the neighbour list scales to the
    sizes MD needs."""
    from conftest import diamond, rattled

    atoms = rattled(diamond(repeat=11), 0.1, seed=11)
    ours = _ours(atoms, potential)
    _assert_matches(ours, evaluate(atoms, potential, ours["params"]), len(atoms))


@pytest.mark.parametrize(("potential", "a"), [("sw", 5.431), ("edip", 5.430), ("tersoff", 5.431)])
def test_elastic_constants_match_lammps(potential, a):
    """ffdiff's AD elastic tensor against finite differences of LAMMPS energies (LAMMPS relaxing the
    atoms for the relaxed C44)."""
    import jax.numpy as jnp
    from ase.build import bulk

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
