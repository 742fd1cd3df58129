"""The ASE calculator: elastic constants by finite differences of its energies (no AD in the test)."""

import pytest
from ase.build import bulk
from ase.optimize import BFGS

from ffdiff import Calculator
from ffdiff.exceptions import StructureError
from ffdiff.properties.elastic import finite_difference_constants


def _energy(calc):
    def energy(atoms, relax):
        atoms.calc = calc
        if relax:  # internal (sublattice) relaxation at fixed cell: the relaxed C44
            BFGS(atoms, logfile=None).run(fmax=1e-9, steps=500)
        return atoms.get_potential_energy()

    return energy


# (potential, a in Å, C11, C12, relaxed C44 in GPa): the originals' published constants, in the
# standard convention (the paper's tables print 2·C44).
CASES = [("sw", 5.431, 151.413, 76.415, 56.446), ("edip", 5.430, 172.039, 64.675, 72.784),
         ("tersoff", 5.431, 121.751, 85.858, 10.298)]


@pytest.mark.parametrize(("name", "a", "c11", "c12", "c44"), CASES)
def test_elastic_constants(name, a, c11, c12, c44):
    moduli = finite_difference_constants(_energy(Calculator(name)), bulk("Si", "diamond", a=a, cubic=True))
    assert moduli["C11"] == pytest.approx(c11, abs=0.01)
    assert moduli["C12"] == pytest.approx(c12, abs=0.01)
    assert moduli["C44"] == pytest.approx(c44, abs=0.01)


def test_properties_and_errors():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.calc = Calculator("sw")
    assert atoms.get_potential_energy() == atoms.get_potential_energy(force_consistent=True)
    assert atoms.get_stress().shape == (6,)
    atoms[0].symbol = "Ge"
    with pytest.raises(StructureError, match=r"Si only; structure has \['Ge', 'Si'\]"):
        atoms.get_potential_energy()
    with pytest.raises(ValueError, match="unknown potential 'meam'"):
        Calculator("meam")


def test_short_list_overflow_is_resized_and_recomputed(monkeypatch):
    """A short list sized exactly for the perfect crystal overflows once one atom moves 0.45 Å (less
    than skin/2, so the list itself is reused): the NaN energy makes the calculator rebuild and
    recompute, and energy and forces equal a fresh calculator's to 1e-10."""
    import functools

    import numpy as np

    from ffdiff import neighbors

    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    exact = functools.partial(neighbors.neighbor_list, short_multiplier=1.0)
    monkeypatch.setattr(neighbors, "neighbor_list", exact)
    calc = Calculator("sw", skin=1.0)
    atoms.calc = calc
    atoms.get_potential_energy()
    first = calc._neighbors
    assert not np.asarray(first.triplet_mask).any()  # SW reads no triplets, so its lists build none
    moved = atoms.copy()
    moved.positions[0] += 0.45 * np.array([1.0, 1.0, 0.0]) / np.sqrt(2.0)  # toward a second-shell atom
    moved.calc = calc
    energy, forces = moved.get_potential_energy(), moved.get_forces()
    assert calc._neighbors.short_capacity > first.short_capacity  # it did overflow and re-size
    monkeypatch.undo()
    moved.calc = Calculator("sw", skin=1.0)
    assert np.isfinite(energy) and energy == pytest.approx(moved.get_potential_energy(), abs=1e-10)
    np.testing.assert_allclose(forces, moved.get_forces(), rtol=0, atol=1e-10)


def test_cell_change_keeps_the_lists_capacity():
    """The list rebuilt for an expanded cell (a disordered one: 932 -> 824 pairs inside the list
    radius, for which a fresh list would allocate 1056 instead of 1184 slots) keeps the first list's
    capacities, so the compiled call is reused; energy, forces and stress equal a fresh calculator's
    to 1e-10."""
    import numpy as np

    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    atoms.rattle(0.3, seed=1)
    calc = Calculator("edip", skin=1.0)
    atoms.calc = calc
    atoms.get_potential_energy()
    first = calc._neighbors
    expanded = atoms.copy()
    expanded.set_cell(atoms.cell.array * 1.02, scale_atoms=True)
    expanded.calc = calc
    energy, forces, stress = expanded.get_potential_energy(), expanded.get_forces(), expanded.get_stress()
    rebuilt = calc._neighbors
    assert rebuilt is not first and np.array_equal(np.asarray(rebuilt.reference_position), expanded.positions)
    assert (rebuilt.capacity, rebuilt.short_capacity) == (first.capacity, first.short_capacity)
    expanded.calc = Calculator("edip", skin=1.0)
    assert energy == pytest.approx(expanded.get_potential_energy(), abs=1e-10)
    np.testing.assert_allclose(forces, expanded.get_forces(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(stress, expanded.get_stress(), rtol=0, atol=1e-10)
