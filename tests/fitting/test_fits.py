"""The paper's fits: published optima, exact least-squares oracle, and loss gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import assert_gradient_matches_differences

from ffdiff import get_potential
from ffdiff.data.elastic import cubic_reference
from ffdiff.fitting import ParameterSpace, compile_objective, run_minimize
from ffdiff.fitting.geometry import Geometry
from ffdiff.fitting.potential_fit import Reference, build_loss, fit_potential, properties, property_row
from ffdiff.properties.phonons import force_constants

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa, the paper's DFT (standard C44)


def _fit(name, objective, a, fitted, optimizers=("BFGS",), n_starts=1, reference=None):
    return fit_potential(name, objective, reference or Reference(DFT), lattice_constant=a, fitted=fitted,
                         optimizers=optimizers, n_starts=n_starts, seed=0, spread=0.2, maxiter=200)


def test_elastic_fit_reproduces_the_paper():
    """Tables 3-4 of Gangan et al. (paper convention: shear block doubled)."""
    fits = _fit("sw", "elastic_paper", 5.431, ["epsilon", "lam"], ("BFGS", "CG", "Nelder-Mead"))
    runs = {r["method"]: r for r in fits["runs"]}
    eps, lam = runs["BFGS"]["x"]
    assert eps == pytest.approx(1.93516, abs=2e-5) and lam == pytest.approx(33.7867, abs=2e-4)
    props = runs["BFGS"]["properties"]
    assert [props["C11"], props["C12"], props["C44"]] == pytest.approx([162.305, 54.616, 70.442], abs=0.01)
    np.testing.assert_allclose(runs["CG"]["x"], runs["BFGS"]["x"], rtol=1e-5)
    np.testing.assert_allclose(runs["Nelder-Mead"]["x"], runs["BFGS"]["x"], rtol=1e-4)
    for method in ("BFGS", "CG"):
        history = runs[method]["history"]
        assert history[0]["loss"] > history[-1]["loss"] and history[-1]["grad_norm"] < 1e-5 * history[0]["grad_norm"]

    edip = _fit("edip", "elastic_paper", 5.430, ["A", "lam"])["runs"][0]["x"]
    assert edip == pytest.approx([7.19160, 1.45777], abs=2e-5)


def test_tersoff_elastic_fit():
    """The study's Tersoff pair (gamma, d), standard convention: the soft Si(B) shear (C44 = 10 GPa)
    fitted to DFT's 75 GPa (values of this fit; the study's LAMMPS re-check gives the same constants)."""
    run = _fit("tersoff", "elastic_standard", 5.431, ["gamma", "d"])["runs"][0]
    assert run["converged"] and run["x"] == pytest.approx([0.513783, 1.238110], abs=2e-6)
    props = run["properties"]
    assert [props["C11"], props["C12"], props["C44"]] == pytest.approx([158.847, 62.990, 75.193], abs=0.01)


def test_standard_convention_optimum():
    eps, lam = _fit("sw", "elastic_standard", 5.431, ["epsilon", "lam"])["runs"][0]["x"]
    assert eps == pytest.approx(1.91476, abs=1e-4) and lam == pytest.approx(32.1317, abs=1e-3)


@pytest.mark.parametrize(("name", "objective", "a", "fitted"), [
    ("sw", "elastic_paper", 5.431, ["epsilon", "lam"]),
    ("edip", "elastic_standard", 5.430, ["A", "lam"]),
    ("sw", "phonon", 5.431, ["epsilon", "lam"]),
])
def test_gradient_fits_converge_within_ten_iterations(dft_phonon, name, objective, a, fitted):
    """Every start (the original set and three random ±20 % ones) with BFGS and CG."""
    fits = _fit(name, objective, a, fitted, ("BFGS", "CG"), n_starts=4, reference=Reference(DFT, dft_phonon))
    best = np.asarray(fits["runs"][0]["x"])
    for run in fits["runs"]:
        assert run["converged"] and run["n_iter"] <= 10, (run["method"], run["start"], run["n_iter"])
        np.testing.assert_allclose(run["x"], best, rtol=1e-5)


def test_hessian_coordinates_solve_an_ill_conditioned_quadratic_at_once():
    """Whitened by its own Hessian, a correlated quadratic (condition number ~1e3 after magnitude
    scaling) is solved in two BFGS iterations instead of six."""
    space = ParameterSpace(("epsilon", "lam"), get_potential("sw").params())
    matrix = jnp.array([[4.0, 30.0], [30.0, 400.0]])
    target = jnp.array([1.9, 33.0])

    def loss(p):
        d = jnp.stack([p["epsilon"], p["lam"]]) - target
        return 0.5 * d @ matrix @ d

    objective = compile_objective(loss, space)
    runs = {pre: run_minimize(objective, space, [2.16826, 21.0], "BFGS", precondition=pre) for pre in (True, False)}
    np.testing.assert_allclose(runs[True].x, [1.9, 33.0], rtol=1e-9)
    assert runs[True].n_iter <= 2 < runs[False].n_iter


def _hessian(potential, params, geometry):
    fc = jax.jit(force_constants, static_argnums=0)(potential.energy, params, *geometry.supercell(params))
    return np.asarray(fc)


@pytest.mark.parametrize(("name", "fitted", "gain"), [("sw", ("epsilon", "lam"), 5), ("edip", ("A", "lam"), 5),
                                                      ("tersoff", ("A", "B"), 2.5)])
def test_force_constant_fit_equals_least_squares(dft_phonon, name, fitted, gain):
    """SW: Φ = ε Φ2 + ελ Φ3; EDIP: Φ = A Φ_A + λ Φ_λ; Tersoff: Φ = A Φ_R + B Φ_A (repulsion and
    bond-order attraction). The Frobenius fit is then linear least squares with a unique optimum,
    computed here without any optimizer."""
    potential = get_potential(name)
    base = potential.params()
    geometry = Geometry(potential, 5.431, dft_phonon)
    first, second = fitted
    one = {**base, first: 1.0, second: 0.0}
    phi_1 = _hessian(potential, one, geometry)
    phi_2 = _hessian(potential, {**one, second: 1.0}, geometry) - phi_1
    (c1, c2), *_ = np.linalg.lstsq(np.stack([phi_1.ravel(), phi_2.ravel()], 1),
                                   dft_phonon.force_constants.ravel(), rcond=None)
    exact = [c1, c2 / c1] if name == "sw" else [c1, c2]

    fits = _fit(name, "phonon", 5.431, list(fitted), reference=Reference(DFT, dft_phonon))
    np.testing.assert_allclose(fits["runs"][0]["x"], exact, rtol=1e-6)
    after = fits["runs"][0]["properties"]
    before = fits["original"]["properties"]
    assert before["fc_loss"] / after["fc_loss"] >= gain
    dft_gamma = fits["reference"]["nu_max_Gamma"]
    assert dft_gamma == pytest.approx(15.0987, abs=1e-3)  # THz, VASP PBE
    assert abs(after["nu_max_Gamma"] - dft_gamma) < abs(before["nu_max_Gamma"] - dft_gamma)


@pytest.mark.parametrize("objective", ["elastic_standard", "elastic_paper", "phonon", "multi"])
def test_loss_gradient_matches_finite_differences(dft_phonon, objective):
    """The fits' compiled objective (the multi-objective one part by part, summed on the host) against
    central differences of its own value, and the multi-objective value against the weighted sum of
    the full-matrix losses of ``property_row``."""
    potential = get_potential("edip")
    params = potential.params()
    geometry = Geometry(potential, 5.430, dft_phonon)
    loss = build_loss(objective, geometry, Reference(DFT, dft_phonon), params,
                      {"elastic": 1.0, "force_constants": 0.5})
    space = ParameterSpace(("A", "lam", "sigma"), params)
    objective_fn = compile_objective(loss, space)
    assert [(name, weight) for name, weight, _ in loss.parts] == (
        [("elastic", 1.0), ("force_constants", 0.5)] if objective == "multi" else [])
    theta = np.asarray(space.pack(params)) * np.array([0.97, 1.02, 1.0])
    value, _ = objective_fn.value_and_grad(theta)
    if objective == "multi":
        props = properties(geometry, Reference(DFT, dft_phonon), space)
        row = property_row(props, space.unpack(jnp.asarray(theta)))
        assert value == pytest.approx(row["elastic_loss"] + 0.5 * row["fc_loss"], rel=1e-7)
    assert_gradient_matches_differences(objective_fn, theta)


@pytest.mark.parametrize("objective", ["elastic_standard", "phonon"])
def test_fit_programs_compiled_for_speed_give_the_same_numbers(dft_phonon, objective):
    """The fits' losses compile with COMPILER_OPTIONS (older CPU emitters, for compile time): value,
    gradient and properties agree with XLA's default compilation to rounding."""
    from ffdiff.fitting import optimize

    potential = get_potential("sw")
    params = potential.params()
    loss = build_loss(objective, Geometry(potential, 5.431, dft_phonon), Reference(DFT, dft_phonon), params)
    space = ParameterSpace(("epsilon", "lam"), params)
    program = optimize._program(loss.fn, space.names)
    assert program.compiler_options == optimize.COMPILER_OPTIONS == {"xla_cpu_use_fusion_emitters": False}
    args = (np.asarray(space.pack(params)) * np.array([0.95, 1.1]), optimize._as_arguments(params), loss.data)
    fast, default = program(*args), program._traced(*args)
    for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(default), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-11, atol=1e-12)


def test_crystal_is_ases_diamond_cell():
    from ase.build import bulk

    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    position, box, _ = Geometry(get_potential("sw"), 5.431, None).crystal(get_potential("sw").params())
    assert np.array_equal(np.asarray(position), atoms.positions) and np.array_equal(np.asarray(box), atoms.cell.array)


def test_property_row_of_original_sw(dft_phonon):
    potential = get_potential("sw")
    space = ParameterSpace(("epsilon", "lam"), potential.params())
    row = property_row(properties(Geometry(potential, 5.431, dft_phonon), Reference(DFT, dft_phonon), space),
                       potential.params())
    assert row["C11"] == pytest.approx(151.4131, abs=1e-4)
    assert row["nu_max_Gamma"] == pytest.approx(17.558, abs=2e-3)  # THz, at the DFT geometry


def test_unknown_parameter_and_objective_are_refused():
    with pytest.raises(KeyError, match="cannot fit"):
        ParameterSpace(("epsilon", "kappa"), get_potential("sw").params())
    with pytest.raises(ValueError, match="unknown optimizer"):
        space = ParameterSpace(("epsilon",), get_potential("sw").params())
        run_minimize(compile_objective(lambda p: p["epsilon"] ** 2, space), space, [1.0], "Adam")


@pytest.mark.parametrize("name", ["sw", "edip"])
def test_force_constant_loss_from_independent_rows_equals_full_matrix(name, dft_phonon):
    """Diamond's 64-atom supercell has one symmetry-independent atom: its 3 Hessian-vector products
    give the full-matrix loss (and gradient) to 1e-9, away from the optimum too, and its row,
    distributed by the supercell's symmetry, the full Hessian to 1e-12 eV/Å²."""
    import functools

    from ffdiff.fitting.objectives import init_force_constant_loss
    from ffdiff.fitting.potential_fit import symmetry_orbits
    from ffdiff.properties.phonons import distribute_rows

    potential = get_potential(name)
    geometry = Geometry(potential, 5.431, dft_phonon)
    params = potential.params()
    orbits = symmetry_orbits(dft_phonon)
    assert orbits is not None and orbits[0].tolist() == [0] and orbits[1].tolist() == [64]
    target = dft_phonon.force_constants
    full = init_force_constant_loss(potential.energy, *geometry.supercell(params), target)
    rows = init_force_constant_loss(potential.energy, *geometry.supercell(params), target, orbits=orbits)
    # each compiled once: ((loss, force constants), gradient)
    full, rows = (jax.jit(jax.value_and_grad(functools.partial(loss.fn, data=loss.data), has_aux=True))
                  for loss in (full, rows))
    for scale in (1.0, 0.9):
        p = {**params, "lam": params["lam"] * scale}
        ((v_full, fc), g_full), ((v_rows, independent), g_rows) = full(p), rows(p)
        np.testing.assert_allclose(distribute_rows(dft_phonon, orbits[0], independent), fc, rtol=0, atol=1e-12)
        assert float(v_rows) == pytest.approx(float(v_full), rel=1e-9)
        for k in params:
            assert float(g_rows[k]) == pytest.approx(float(g_full[k]), rel=1e-8, abs=1e-10)


def test_asymmetric_reference_force_constants_fall_back_to_the_full_matrix(dft_phonon):
    import copy

    from ffdiff.fitting.potential_fit import symmetry_orbits

    phonon = copy.deepcopy(dft_phonon)
    fc = np.array(phonon.force_constants)
    fc[5, 9, 0, 1] += 1e-3
    phonon.force_constants = fc
    assert symmetry_orbits(phonon) is None
