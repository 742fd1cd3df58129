"""Zero-pressure geometry: published lattice constants and energies, LAMMPS's box relaxation, and the
implicit gradients of a0 and of the relaxed-geometry elastic constants against central finite
differences in every parameter (the relaxation redone at each displaced parameter set)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase import Atoms

from ffdiff import get_potential, neighbor_list
from ffdiff.exceptions import EquilibriumError
from ffdiff.properties import equilibrium_lattice_constant, relaxed_elastic_constants
from ffdiff.properties.equilibrium import STRUCTURES, equilibrium_crystal

STEP = 1e-4  # relative parameter step (absolute for parameters that are 0): truncation ~1e-8 relative


def _central(fn, params, key):
    """Central difference of ``fn(params)[0]`` in ``params[key]``."""
    h = STEP * abs(float(params[key])) or STEP
    up, down = ({**params, key: params[key] + s * h} for s in (1, -1))
    return (np.asarray(fn(up)[0]) - np.asarray(fn(down)[0])) / (2 * h), h


def _a0_with_grad(name):
    """Compiled (a0, ∇a0) of diamond: params traced, so every parameter set shares one list and program
    (the finite differences reuse it)."""
    return jax.jit(jax.value_and_grad(lambda p: equilibrium_lattice_constant(name, p)))


@pytest.mark.parametrize(("name", "published"), [("sw", 5.43095), ("edip", 5.4305), ("tersoff", 5.4312)])
def test_a0_gradient_matches_finite_differences(name, published):
    """Every parameter; a zero derivative (e.g. SW's ε, λ, A; Tersoff's R, D) must be ~0 both ways.
    Published a0: SW 4 · 2^(1/6) σ / √3 = 5.431 Å, EDIP 5.430 Å, Tersoff Si(B) (LAMMPS's Si.tersoff) 5.4312 Å."""
    params = get_potential(name).params()
    fn = _a0_with_grad(name)
    a0, g = fn(params)
    assert float(a0) == pytest.approx(published, abs=5e-5)
    assert set(g) == set(params)
    for key in params:
        fd, h = _central(fn, params, key)
        ad = float(g[key])
        # d ln a0 / d ln θ below 1e-9 reads as zero: a0's round-off over the step is ~1e-15 / (2h)
        atol = 1e-9 * float(a0) / max(abs(float(params[key])), 1.0)
        assert abs(ad - fd) <= 1e-6 * abs(ad) + atol, f"{name} {key}: AD {ad!r} FD {fd!r}"


@pytest.mark.parametrize("name", ["sw", "edip"])
def test_relaxed_elastic_gradient_matches_finite_differences(name):
    """∂(C11, C12, C44)/∂θ at a0(θ), every parameter, and B = (C11 + 2 C12)/3 at a0."""
    params = get_potential(name).params()

    def moduli(p):
        c = relaxed_elastic_constants(name, p)["relaxed"]
        c = jnp.stack([c[0, 0], c[0, 1], c[3, 3]])
        return c, c

    # One program gives (C, ∂C/∂θ): the differences read its values, since compiling a value-only
    # program costs more than the Jacobians they compute along (milliseconds each)
    both = jax.jit(lambda p: jax.jacrev(moduli, has_aux=True)(p)[::-1])
    c, jac = both(params)
    c = np.asarray(c)
    assert float(equilibrium_crystal(name, params)["bulk_modulus"]) == pytest.approx((c[0] + 2 * c[1]) / 3, rel=1e-10)
    for key in params:
        fd, h = _central(both, params, key)
        ad = np.asarray(jac[key])
        # C carries ~1e-12 relative round-off (a Hessian and a solve), ~5e-9 |C| / |θ| over the step:
        # d ln C / d ln θ below 2e-8 reads as zero
        atol = 2e-8 * np.abs(c) / max(abs(float(params[key])), 1.0)
        assert np.all(np.abs(ad - fd) <= 1e-6 * np.abs(ad) + atol), f"{name} {key}: AD {ad} FD {fd}"


def _primitives(jaxpr) -> list[str]:
    """Names of the primitives of a jaxpr and of every jaxpr nested in it."""
    names = []
    for eqn in jaxpr.eqns:
        names.append(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    names += _primitives(inner)
    return names


def test_gradient_is_implicit_not_unrolled():
    """The gradient's program holds the forward solve's one while loop and no loop of its own (an
    unrolled solver would need its iterations replayed backwards: a scan, or a while loop per pass);
    with the finite-difference tests this shows the gradient is the implicit one at the solution."""
    params = get_potential("sw").params()
    names = _primitives(jax.make_jaxpr(jax.grad(lambda p: equilibrium_lattice_constant("sw", p)))(params).jaxpr)
    assert names.count("while") == 1 and "scan" not in names
    assert "custom_linear_solve" in names  # custom_root's tangent solve: the implicit rule


@pytest.mark.parametrize(("name", "energy"), [("sw", -2 * 2.16826), ("edip", -4.65), ("tersoff", -4.6304)])
def test_published_diamond_energy(name, energy):
    """SW −2ε per atom (cohesive energy 4.3365 eV; 4.3366 with LAMMPS's ε = 2.1683); EDIP −4.650 eV;
    Tersoff Si(B) −4.6304 eV."""
    result = equilibrium_crystal(name, get_potential(name).params())
    assert float(result["energy_per_atom"]) == pytest.approx(energy, abs=5e-5 if name != "sw" else 1e-9)


@pytest.mark.parametrize("name", ["sw", "edip", "tersoff"])
def test_isolated_atom_has_zero_energy(name):
    """So the cohesive energy is −energy_per_atom."""
    potential = get_potential(name)
    params = potential.params()
    box = 20.0 * np.eye(3)
    nbrs = neighbor_list(np.zeros((1, 3)), box, potential.cutoff(params), triplets=potential.triplets)
    assert float(potential.energy(params, jnp.zeros((1, 3)), jnp.asarray(box), nbrs)) == 0.0


def test_structures_match_ase():
    """The cells' coordinates are ASE's (diamond, fcc, bcc, sc by bulk; β-Sn by space group 141)."""
    from ase.build import bulk
    from ase.spacegroup import crystal

    oracles = {"diamond": bulk("Si", "diamond", a=1.0, cubic=True), "fcc": bulk("Si", "fcc", a=1.0, cubic=True),
               "bcc": bulk("Si", "bcc", a=1.0, cubic=True), "sc": bulk("Si", "sc", a=1.0),
               "beta_sn": crystal("Si", [(0, 0, 0)], spacegroup=141, cellpar=[1, 1, 0.55, 90, 90, 90])}
    for name, atoms in oracles.items():
        ours = STRUCTURES[name].fractional
        theirs = atoms.get_scaled_positions()
        assert len(ours) == len(theirs), name
        distance = np.abs((ours[:, None] - theirs[None] + 0.5) % 1.0 - 0.5).sum(axis=-1)
        assert np.all(distance.min(axis=1) < 1e-12), name


@pytest.mark.parametrize(("name", "structure"),
                         [("sw", "diamond"), ("edip", "diamond"), ("tersoff", "diamond"), ("sw", "beta_sn"),
                          ("edip", "beta_sn")])
def test_matches_lammps_box_relaxation(name, structure):
    """LAMMPS minimises positions and cell (fix box/relax, iso for diamond, aniso for β-Sn) from a
    cell 1 % off ours, with the same parameter values; measured agreement ~1e-15 Å and 1e-15 eV/atom
    (Tersoff's β-Sn too, left out for time)."""
    from ffdiff.interop.lammps import relax_cell

    params = get_potential(name).params()
    ours = equilibrium_crystal(name, params, structure)
    a, c = float(ours["lattice_constant"]), float(ours.get("c", ours["lattice_constant"]))
    frac = STRUCTURES[structure].fractional
    atoms = Atoms(f"Si{len(frac)}", scaled_positions=frac, cell=np.diag([1.01 * a, 1.01 * a, 1.01 * c]), pbc=True)
    theirs = relax_cell(atoms, name, {k: float(v) for k, v in params.items()},
                        couple="iso" if structure == "diamond" else "aniso")
    np.testing.assert_allclose(theirs["lengths"], [a, a, c], rtol=0, atol=1e-9)
    assert theirs["energy"] / len(frac) == pytest.approx(float(ours["energy_per_atom"]), abs=1e-10)


def test_phase_order_and_failure():
    """SW's diamond is below its β-Sn; a guess with no minimum in reach is refused, not returned."""
    params = get_potential("sw").params()
    assert float(equilibrium_crystal("sw", params, "beta_sn")["energy_per_atom"]) > -4.3365
    with pytest.raises(EquilibriumError, match="sw diamond"):
        equilibrium_lattice_constant("sw", params, guess=9.0)  # every pair beyond the cutoff: flat energy
    with pytest.raises(ValueError, match="unknown structure"):
        equilibrium_lattice_constant("sw", params, "hcp")
