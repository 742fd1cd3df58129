"""Bounded fits: the parameter transform, its gradient, ``fitted="all"`` with regularisation, and the
exported files of all-parameter fits against LAMMPS."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff import get_potential
from ffdiff.data.elastic import cubic_reference
from ffdiff.fitting import ParameterSpace, compile_objective, run_minimize
from ffdiff.fitting.objectives import init_regularization, regularized
from ffdiff.fitting.optimize import free_objective
from ffdiff.fitting.geometry import CUTOFF_SKIN, Geometry
from ffdiff.fitting.potential_fit import Reference, build_loss, fit_potential

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa, the paper's DFT (standard C44)
NAMES = ("sw", "edip", "tersoff")


def _space(name: str) -> ParameterSpace:
    potential = get_potential(name)
    return ParameterSpace(potential.fitted_names("all"), potential.params(), potential.bounds)


@pytest.mark.parametrize("name", NAMES)
def test_transform_round_trips_and_stays_inside_the_bounds(name):
    """θ → u → θ to 1e-12 relative for the start and random starts; u → θ → u to 1e-12 where the
    map is not saturated; every θ of u = ±50 (and of a mix of both) finite and strictly inside."""
    space = _space(name)
    starts = space.starts(6, seed=1, spread=0.5)
    np.testing.assert_allclose(space.bounded(space.free(starts)), starts, rtol=1e-12, atol=0)
    u = np.random.default_rng(0).uniform(-1.0, 3.0, size=(20, len(space.names)))
    np.testing.assert_allclose(space.free(space.bounded(u)), u, rtol=0, atol=1e-12)
    lower, upper = space.interval
    mixed = np.where(np.arange(len(space.names)) % 2, 50.0, -50.0)
    for extreme in (np.full(len(space.names), -50.0), np.full(len(space.names), 50.0), mixed):
        theta = space.bounded(extreme)
        assert np.all(np.isfinite(theta)) and np.all(lower < theta) and np.all(theta < upper), theta
    for row in starts:
        assert np.all(lower < row) and np.all(row < upper)


def test_one_sided_map_is_the_scaled_identity_far_from_its_bound():
    """A parameter at its start value (θ − L = s) moves as θ / s would, to 1e-4: fits far inside
    their bounds take the steps of unbounded ones."""
    space = _space("sw")
    k = space.names.index("lam")
    u0 = space.free(space.pack(space.base))
    assert u0[k] == pytest.approx(1.0, abs=1e-5)
    assert space.jacobian(u0)[k] == pytest.approx(space.scale[k], rel=1e-4)


def test_start_on_a_bound_and_unknown_selection_are_refused():
    sw = get_potential("sw")
    assert "q" not in sw.fitted_names("all") and "m" not in get_potential("tersoff").fitted_names("all")
    assert len(get_potential("edip").fitted_names("all")) == 17
    with pytest.raises(ValueError, match=r"q = 0.0 is not inside its legal range \(0.0, inf\)"):
        ParameterSpace(("q",), sw.params(), sw.bounds)
    space = ParameterSpace(("q", "a"), sw.params({"q": 0.5}), sw.bounds)  # a positive start is fine
    with pytest.raises(ValueError, match=r"values of \['a'\] outside their legal ranges \{'a': \(1.0, inf\)\}"):
        run_minimize(compile_objective(lambda p: p["q"] ** 2, space), space, [0.5, 0.9], "BFGS")
    with pytest.raises(ValueError, match="'all' or a list"):
        sw.fitted_names("everything")
    with pytest.raises(KeyError, match="has no parameter 'kappa'"):
        sw.fitted_names(["epsilon", "kappa"])


def test_bounded_minimum_stays_inside_when_the_free_one_lies_outside():
    """ε pulled towards −1 eV with a bound ε > 0: BFGS approaches 0 from above and never crosses
    (the unbounded fit would land on −1)."""
    sw = get_potential("sw")
    space = ParameterSpace(("epsilon",), sw.params(), sw.bounds)
    objective = compile_objective(lambda p: (p["epsilon"] + 1.0) ** 2, space)
    result = run_minimize(objective, space, [2.16826], "BFGS", maxiter=50)
    assert 0.0 < result.x[0] < 1e-3
    assert all(h["epsilon"] > 0 for h in result.history)
    free = ParameterSpace(("epsilon",), sw.params())
    assert run_minimize(compile_objective(lambda p: (p["epsilon"] + 1.0) ** 2, free), free, [2.16826],
                        "BFGS").x[0] == pytest.approx(-1.0, abs=1e-6)


def test_regularization_is_the_relative_l2_distance():
    params = {"epsilon": 2.0, "lam": 20.0, "cos_theta0": 0.0}
    loss = init_regularization(params)
    moved = {"epsilon": 2.2, "lam": 15.0, "cos_theta0": -0.3}
    assert float(loss(moved)) == pytest.approx(0.1**2 + 0.25**2 + 0.3**2, rel=1e-14)
    grad = jax.grad(loss)({k: jnp.asarray(v) for k, v in moved.items()})
    assert float(grad["lam"]) == pytest.approx(2 * (15.0 - 20.0) / 20.0**2, rel=1e-14)
    plain = init_regularization({"x": 1.0})
    assert regularized(plain, {"x": 1.0}, 0.0) is plain
    with pytest.raises(ValueError, match="strength >= 0"):
        regularized(plain, {"x": 1.0}, -1.0)


def test_gradient_through_the_transform_matches_finite_differences():
    """∂(elastic loss + 0.1 · regularisation)/∂u of SW's all-parameter space (the optimizer's
    gradient, chain rule through the bijection) against central differences in u."""
    potential = get_potential("sw")
    space = _space("sw")
    loss = build_loss("elastic_standard", Geometry(potential, 5.431, None, skin=CUTOFF_SKIN), Reference(DFT),
                      space.base)
    origin = {k: space.base[k] for k in space.names}
    objective = free_objective(compile_objective(regularized(loss, origin, 0.1), space), space)
    u = space.free(space.pack(space.base)) + np.random.default_rng(2).uniform(-0.05, 0.05, len(space.names))
    _, grad = objective.value_and_grad(u)
    h = 1e-5
    for k in range(len(u)):
        step = h * np.eye(len(u))[k]
        fd = (objective.value(u + step) - objective.value(u - step)) / (2 * h)
        assert grad[k] == pytest.approx(fd, rel=1e-5, abs=1e-7), (space.names[k], grad[k], fd)


@pytest.mark.parametrize(("name", "a"), [("sw", 5.431), ("edip", 5.430)])
def test_all_parameter_fit_is_legal_and_agrees_with_lammps(tmp_path, name, a):
    """``fitted="all"``, 30 BFGS iterations with regularisation 0.1: every parameter strictly inside
    its bounds, the loss far below the start's, and the exported LAMMPS file runs: LAMMPS's energy
    of the crystal to 1e-8 eV/atom and its finite-difference elastic constants to 0.1 GPa of ffdiff's."""
    from ase.build import bulk

    from ffdiff import neighbor_list
    from ffdiff.interop.lammps import elastic_constants, evaluate
    from ffdiff.potentials import read_lammps, write_lammps

    potential = get_potential(name)
    fits = fit_potential(name, "elastic_standard", Reference(DFT), lattice_constant=a, fitted="all",
                         maxiter=30, regularization=0.1)
    assert fits["fitted"] == list(potential.fitted_names("all"))
    run = fits["runs"][0]
    assert run["loss"] < 0.01 * fits["original"]["loss"]
    params = fits["best"]["params"]
    for k in fits["fitted"]:
        lower, upper = potential.bounds[k]
        assert (lower is None or params[k] > lower) and (upper is None or params[k] < upper), (k, params[k])
        assert all((lower is None or h[k] > lower) and (upper is None or h[k] < upper) for h in run["history"])

    path = tmp_path / f"Si.{name}"
    write_lammps(path, name, params)
    style, exported = read_lammps(path)
    assert style == potential.lammps_style and exported == params  # what LAMMPS runs below
    atoms = bulk("Si", "diamond", a=a, cubic=True)
    full = potential.params(params)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, potential.cutoff(full))
    ours = float(jax.jit(potential.energy)(full, jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array), nbrs))
    theirs = evaluate(atoms, name, exported)
    assert abs(ours - theirs["energy"]) / len(atoms) <= 1e-8
    moduli = elastic_constants(name, exported, a)
    for key in ("C11", "C12", "C44_0", "C44"):
        assert run["properties"][key] == pytest.approx(moduli[key], abs=0.1), (key, run["properties"][key], moduli[key])
