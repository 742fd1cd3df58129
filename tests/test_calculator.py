"""The ASE calculator: elastic constants by finite differences of its energies (no AD in the test), and a
model file's network checked against the library and finite differences."""

import dataclasses

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


def test_trained_model_file_gives_a_calculator(tmp_path):
    """An ffdiff model file (random weights stand in for trained ones) through Calculator.from_file,
    float64: energy and forces equal the library's direct evaluation to 1e-10; forces are -dE/dx by
    central differences (step 1e-4 Å) to 1e-7 eV/Å (seen: 4e-9, forces ~0.2 eV/Å); stress is
    (1/V) dE/dε by central differences in a symmetric strain (step 1e-5; ASE's sign and Voigt order
    xx yy zz yz xz xy) to 1e-9 eV/Å³ (seen: 2e-11, stress ~0.04 eV/Å³). get_potential builds the
    same network by name."""
    import jax
    import numpy as np

    from ffdiff import get_potential, neighbor_list
    from ffdiff.fitting.gnn import new_model
    from ffdiff.potentials.models import save_model

    model, weights = new_model({"cutoff": 3.77, "n_basis": 4, "features": 8, "n_steps": 2, "hidden": 16, "angular": 1},
                               seed=7, energy_per_atom=-4.6, energy_scale=30.0)
    save_model(tmp_path / "model.npz", model, weights)
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.set_cell(atoms.cell.array @ np.array([[1.01, 0.02, 0.0], [0.0, 0.99, 0.01], [0.0, 0.0, 1.0]]),
                   scale_atoms=True)
    atoms.rattle(0.1, seed=3)
    atoms.calc = Calculator.from_file(tmp_path / "model.npz")
    energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

    position, box = np.asarray(atoms.positions), np.asarray(atoms.cell.array)
    nbrs = neighbor_list(position, box, model.cutoff(weights))
    direct, gradient = jax.value_and_grad(model.energy, argnums=1)(weights, position, box, nbrs)
    assert energy == pytest.approx(float(direct), abs=1e-10)
    np.testing.assert_allclose(forces, -np.asarray(gradient), rtol=0, atol=1e-10)
    assert np.abs(forces).max() > 0.1 and np.abs(stress).max() > 1e-3  # nothing vanishes by symmetry

    def energy_at(positions=None, strain=None):
        trial = atoms.copy()
        trial.calc = atoms.calc
        if positions is not None:
            trial.positions = positions
        if strain is not None:
            trial.set_cell(box @ (np.eye(3) + strain), scale_atoms=True)
        return trial.get_potential_energy()

    h = 1e-4
    for atom, axis in [(0, 0), (3, 1), (5, 2), (7, 0)]:
        step = np.zeros_like(position)
        step[atom, axis] = h
        fd = (energy_at(positions=position + step) - energy_at(positions=position - step)) / (2 * h)
        assert -fd == pytest.approx(forces[atom, axis], abs=1e-7), (atom, axis)
    h = 1e-5
    for k, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        strain = np.zeros((3, 3))
        strain[i, j] = strain[j, i] = h
        de = (energy_at(strain=strain) - energy_at(strain=-strain)) / (2 * h) / (1 if i == j else 2)
        assert de / atoms.get_volume() == pytest.approx(stress[k], abs=1e-9), (i, j)

    network = get_potential("mpgnn", **dataclasses.asdict(model.config))
    assert network.config == model.config and Calculator(network, weights).potential is network
    with pytest.raises(TypeError, match="sw takes no settings"):
        get_potential("sw", cutoff=3.0)
