"""Force constants by AD equal finite differences of forces; phonopy post-processing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

from ffdiff import Calculator, get_potential, neighbor_list
from ffdiff.properties.phonons import force_constant_rows, force_constants


@pytest.mark.parametrize("name", ["sw", "edip"])
def test_hessian_equals_finite_differences_of_forces(name):
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    atoms.rattle(0.03, seed=7)
    potential = get_potential(name)
    params = potential.params()
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, potential.cutoff(params), skin=0.3)
    # compiled: an eager Hessian dispatches op by op, several times slower than compiling it
    x, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    fc = np.asarray(jax.jit(force_constants, static_argnums=0)(potential.energy, params, x, box, nbrs))
    calc, h = Calculator(name), 1e-4
    for atom, axis in [(0, 0), (5, 2), (33, 1)]:
        forces = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[atom, axis] += sign * h
            moved.calc = calc
            forces.append(moved.get_forces())
        column = -(forces[0] - forces[1]) / (2 * h)  # ∂²E/∂r_j∂r_(atom, axis)
        np.testing.assert_allclose(fc[:, atom, :, axis], column, atol=1e-6)
    np.testing.assert_allclose(fc, fc.transpose(1, 0, 3, 2), atol=1e-10)
    np.testing.assert_allclose(fc.sum(axis=1), 0.0, atol=1e-9)  # acoustic sum rule
    rows = jax.jit(force_constant_rows, static_argnums=0)(potential.energy, params, x, box, nbrs,
                                                           jnp.array([33, 0, 5]))
    np.testing.assert_allclose(np.asarray(rows), fc[[33, 0, 5]], rtol=0, atol=1e-11)


def test_frequencies_without_the_symmetry_search_are_the_same(dft_phonon):
    """with_force_constants(symmetry=False), which the fits' property rows use, changes no frequency
    at the high-symmetry points (phonopy evaluates q-points from the force constants alone)."""
    from ffdiff.properties.phonons import frequencies_at, with_force_constants

    fc = dft_phonon.force_constants * 1.1
    assert frequencies_at(with_force_constants(dft_phonon, fc, symmetry=False)) == \
        frequencies_at(with_force_constants(dft_phonon, fc))
