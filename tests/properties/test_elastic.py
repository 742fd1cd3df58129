"""Elastic constants by AD: the published constants, LAMMPS-independent finite differences, gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

from ffdiff import get_potential, neighbor_list
from ffdiff.properties.elastic import bulk_modulus, elastic_constants, paper_convention


def _crystal(potential, a):
    atoms = bulk("Si", "diamond", a=a, cubic=True)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, potential.cutoff(potential.params()), skin=0.3)
    return jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array), nbrs


# (potential, a Å, C11, C12, relaxed C44, unrelaxed C44⁰) in GPa. C11, C12, C44 agree with
# tests/test_calculator.py, which gets them by finite differences of energies through ASE.
CASES = [("sw", 5.431, 151.4131, 76.4154, 56.4463, 109.7479),
         ("edip", 5.430, 172.0389, 64.6745, 72.7841, 112.3904),
         ("tersoff", 5.431, 121.7515, 85.8583, 10.2985, 92.3825)]  # Si(B): its C44 is famously soft


@pytest.mark.parametrize(("name", "a", "c11", "c12", "c44", "c44_0"), CASES)
def test_constants(name, a, c11, c12, c44, c44_0):
    potential = get_potential(name)
    c = jax.jit(elastic_constants, static_argnums=0)(potential.energy, potential.params(),
                                                     *_crystal(potential, a))
    relaxed = np.asarray(c["relaxed"])
    assert relaxed[0, 0] == pytest.approx(c11, abs=1e-4)
    assert relaxed[0, 1] == pytest.approx(c12, abs=1e-4)
    assert relaxed[3, 3] == pytest.approx(c44, abs=1e-4)
    assert float(c["born"][3, 3]) == pytest.approx(c44_0, abs=1e-4)
    # cubic symmetry, and only C44 relaxes
    np.testing.assert_allclose(relaxed, relaxed.T, atol=1e-9)
    assert np.abs(relaxed[:3, 3:]).max() < 1e-9
    assert np.abs(np.asarray(c["relaxation"])[:3, :3]).max() < 1e-9
    assert float(bulk_modulus(c["relaxed"])) == pytest.approx((c11 + 2 * c12) / 3, abs=1e-4)
    assert float(paper_convention(c["relaxed"])[3, 3]) == pytest.approx(2 * c44, abs=2e-4)


@pytest.mark.parametrize("name", ["sw", "edip", "tersoff"])
def test_parameter_gradient_matches_finite_differences(name):
    potential = get_potential(name)
    params = potential.params()
    geometry = _crystal(potential, 5.431)
    fn = jax.jit(lambda p: elastic_constants(potential.energy, p, *geometry)["relaxed"][np.array([0, 0, 3]),
                                                                                          np.array([0, 1, 3])])
    jac = jax.jit(jax.jacrev(fn))(params)
    for key, value in params.items():
        h = 1e-5 * max(abs(float(value)), 1.0)
        fd = (fn({**params, key: value + h}) - fn({**params, key: value - h})) / (2 * h)
        np.testing.assert_allclose(np.asarray(jac[key]), np.asarray(fd), rtol=1e-6, atol=1e-6, err_msg=key)
