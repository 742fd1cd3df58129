"""Elastic constants by AD: the published constants, LAMMPS-independent finite differences, jax-md's
athermal moduli, gradients."""

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


@pytest.mark.parametrize("energy_from", ["ffdiff", "jax_md"])
@pytest.mark.parametrize(("name", "a"), [("sw", 5.431), ("edip", 5.430)])
def test_relaxed_constants_equal_jax_md_athermal_moduli(name, a, energy_from):
    """jax-md's ``elasticity.athermal_moduli`` as an independent oracle of the relaxed constants: its
    affine term and non-affine (internal-relaxation) response by conjugate gradients on a tethered
    Hessian, against ffdiff's Born term minus the relaxation solved with atom 0 fixed.

    Given ffdiff's energy (8-atom cell), the two agree to 1e-6 GPa (seen: 2e-10). Given jax-md's own
    SW and EDIP energies, which are right on the perfect lattice (its EDIP's coordination is wrong
    only off it, where the second-derivative terms still vanish here) but need 64 atoms for their
    minimum image, to 1e-4 GPa (seen: 1.2e-5 for EDIP's C11). jax-md's moduli are eV/Å³."""
    from jax_md import elasticity, energy, space

    potential = get_potential(name)
    params = potential.params()
    position, box, nbrs = _crystal(potential, a)
    ours = np.asarray(jax.jit(elastic_constants, static_argnums=0)(potential.energy, params, position, box,
                                                                   nbrs)["relaxed"])
    if energy_from == "ffdiff":
        def energy_fn(r, perturbation=jnp.eye(3)):  # box rows are lattice vectors; perturbation symmetric
            return potential.energy(params, r @ perturbation.T, box @ perturbation.T, nbrs)

        r, tolerance = position, 1e-6
    else:
        big = bulk("Si", "diamond", a=a, cubic=True).repeat(2)
        box = jnp.asarray(big.cell.array)
        displacement, _ = space.periodic_general(box.T, fractional_coordinates=True)
        energy_fn = {"sw": energy.stillinger_weber, "edip": energy.edip}[name](displacement)
        r, tolerance = jnp.asarray(big.get_scaled_positions()), 1e-4
    c = np.asarray(jax.jit(elasticity.athermal_moduli(energy_fn))(r, box)) * 160.21766208  # eV/Å³ -> GPa
    voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    theirs = np.array([[c[i, j, k, m] for k, m in voigt] for i, j in voigt])
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=tolerance)
