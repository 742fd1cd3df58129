"""Laplace covariance against a sampled posterior, the delta method against finite differences and
Monte Carlo, the stiff/sloppy labels on a constructed case."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff import get_potential
from ffdiff.data.elastic import cubic_reference
from ffdiff.exceptions import UnidentifiableParametersError
from ffdiff.fitting import ParameterSpace
from ffdiff.fitting.objectives import residuals
from ffdiff.fitting.geometry import Geometry
from ffdiff.fitting.potential_fit import Reference, build_loss
from ffdiff.fitting.uncertainty import laplace_covariance, propagate, theta_residuals
from ffdiff.properties.elastic import elastic_constants

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa
SIGMA_FC = 0.25  # eV/Å², the study's default


@pytest.fixture(scope="module")
def sw_force_constants(dft_phonon):
    """SW's force-constant residuals (orbit-weighted rows) over (ε, ελ): linear in those."""
    potential = get_potential("sw")
    params = potential.params()
    loss = build_loss("phonon", Geometry(potential, 5.431, dft_phonon), Reference(DFT, dft_phonon), params)
    of_theta = theta_residuals(loss, ParameterSpace(("epsilon", "lam"), params))
    return loss, params, lambda u: of_theta(jnp.stack([u[0], u[1] / u[0]]))


def test_residual_norm_is_the_loss(sw_force_constants):
    loss, params, _ = sw_force_constants
    (target, r), = residuals(loss).items()
    assert target == "force_constants"
    assert float(jnp.linalg.norm(r.fn(params, r.data)[0])) == pytest.approx(float(loss(params)), rel=1e-12)


def _sampled_moments(log_weight: np.ndarray, samples: np.ndarray, n_batches: int):
    """Self-normalised importance-sampling mean `[p]` and covariance `[p, p]`, each estimated in
    ``n_batches`` independent batches: (estimate over all, standard error from the batches)."""
    def moments(lw, x):
        w = np.exp(lw - lw.max())
        w /= w.sum()
        mean = w @ x
        return mean, (x - mean).T @ ((x - mean) * w[:, None])

    whole = moments(log_weight, samples)
    batches = [moments(lw, x) for lw, x in zip(np.array_split(log_weight, n_batches),
                                               np.array_split(samples, n_batches), strict=True)]
    errors = [np.std([b[k] for b in batches], axis=0, ddof=1) / np.sqrt(n_batches) for k in range(2)]
    return whole, errors


def test_laplace_is_the_sampled_posterior_of_the_linear_force_constant_fit(sw_force_constants):
    """Φ = ε Φ2 + ελ Φ3, so the Gaussian likelihood of the force constants is exactly Gaussian in
    u = (ε, ελ) and the Laplace posterior (flat prior) is exact, mean included, from any point
    (here SW's original parameters, over 50 widths from the optimum).

    The sampled posterior: 100 000 draws from a Gaussian proposal (the Laplace one widened 1.5
    times; importance weights correct any proposal that covers the posterior) weighted by the
    likelihood of the JAX residuals. These are evaluated through their affine form r0 + A (u − u0),
    A from differences of three evaluations, which matches the residuals at 200 of the draws to
    1e-9 relative (a direct evaluation costs 0.5 ms per draw). Agreement within 3 Monte Carlo
    standard errors (20 batches), errors ≤ 1 % of each width, and a covariance 5 % off fails."""
    _, params, residual_u = sw_force_constants
    u0 = np.array([params["epsilon"], params["epsilon"] * params["lam"]])
    laplace = laplace_covariance(residual_u, u0, {"force_constants": SIGMA_FC}, ("epsilon", "epsilon_lam"))
    std = laplace.std
    assert not laplace.singular and np.all(np.abs(laplace.mean - u0) > 50 * std)

    samples = np.random.default_rng(0).multivariate_normal(laplace.mean, 1.5 ** 2 * laplace.covariance, 100_000)
    residual = jax.jit(lambda u: residual_u(u)["force_constants"])
    steps = 0.05 * u0 * np.eye(2)
    r0 = np.asarray(residual(u0))
    a = np.stack([np.asarray(residual(u0 + step)) - r0 for step in steps], axis=1) / np.diag(steps)
    direct = np.asarray(jax.jit(lambda x: jax.lax.map(residual, x))(jnp.asarray(samples[:200])))
    affine = r0 + (samples[:200] - u0) @ a.T
    assert np.max(np.abs(direct - affine)) < 1e-9 * np.max(np.abs(direct))

    log_likelihood = -0.5 * np.sum((r0 + (samples - u0) @ a.T) ** 2, axis=1) / SIGMA_FC ** 2
    delta = np.linalg.solve(1.5 ** 2 * laplace.covariance, (samples - laplace.mean).T).T
    log_weight = log_likelihood + 0.5 * np.sum((samples - laplace.mean) * delta, axis=1)
    (mean, cov), (mean_err, cov_err) = _sampled_moments(log_weight, samples, 20)

    assert np.all(mean_err < 1e-2 * std) and np.all(cov_err < 1e-2 * np.outer(std, std))
    np.testing.assert_array_less(np.abs(mean - laplace.mean), 3 * mean_err)
    np.testing.assert_array_less(np.abs(cov - laplace.covariance), 3 * cov_err)
    assert np.any(np.abs(cov - 1.05 * laplace.covariance) > 3 * cov_err)


def test_propagate_matches_finite_differences_and_monte_carlo():
    """Relaxed C11 and C44 of SW (C44 with internal relaxation, a ratio of quadratic forms in θ)
    under 1 % relative widths with correlation 0.6: σ by the delta method against central
    differences of the same function (rel 1e-6) and against the spread of 4000 sampled parameter
    sets (within 3 standard errors of a standard deviation, σ/√(2N) ≈ 1.1 %)."""
    from ffdiff.fitting.geometry import DIAMOND
    from ffdiff.neighbors import neighbor_list

    potential = get_potential("sw")
    params = potential.params()
    box = 5.431 * np.eye(3)
    position = DIAMOND @ box
    nbrs = neighbor_list(position, box, potential.cutoff(params))
    names = ("epsilon", "lam")

    def c11_c44(p):
        c = elastic_constants(potential.energy, p, jnp.asarray(position), jnp.asarray(box), nbrs)["relaxed"]
        return jnp.stack([c[0, 0], c[3, 3]])

    theta = np.array([params[n] for n in names])
    std = 0.01 * theta
    cov = np.outer(std, std) * np.array([[1.0, 0.6], [0.6, 1.0]])
    value, sigma = propagate(cov, c11_c44, params, names)

    at = jax.jit(lambda t: c11_c44({**params, "epsilon": t[0], "lam": t[1]}))
    h = 1e-5 * theta
    g = np.stack([(at(theta + h[k] * np.eye(2)[k]) - at(theta - h[k] * np.eye(2)[k])) / (2 * h[k])
                  for k in range(2)], axis=1)
    np.testing.assert_allclose(value, at(theta), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.sqrt(np.einsum("mi,ij,mj->m", g, cov, g)), rtol=1e-6)

    n = 4000
    samples = np.random.default_rng(1).multivariate_normal(theta, cov, size=n)
    sampled = np.asarray(jax.jit(jax.vmap(at))(jnp.asarray(samples)))
    spread = sampled.std(axis=0, ddof=1)
    np.testing.assert_array_less(np.abs(spread - sigma), 3 * sigma / np.sqrt(2 * n))
    assert np.all(sigma > 0.5) and np.all(sigma < 5.0)  # GPa: a test that a zero or a blown-up σ fails


def _linear(precision_eigen, vectors, theta_opt):
    """Residuals r = A (θ − θ_opt) with AᵀA = V diag(λ) Vᵀ."""
    a = np.sqrt(precision_eigen)[:, None] * vectors.T
    return lambda theta: {"x": jnp.asarray(a) @ (theta - theta_opt)}


def test_directions_are_labelled_on_a_constructed_case(caplog):
    """Precision eigenvalues 1e6 along a, 10 along 0.8 b + 0.6 c, 1e-2 along 0.6 b − 0.8 c, at θ = 1
    (so relative and absolute coordinates coincide): a is stiff, the others sloppy, condition number
    1e8; the mean is the optimum from any point; a zero eigenvalue raises, or warns with "pinv"."""
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, 0.8, 0.6], [0.0, 0.6, -0.8]])  # columns
    names = ("a", "b", "c")
    optimum = np.ones(3)
    laplace = laplace_covariance(_linear(np.array([1e6, 10.0, 1e-2]), vectors, optimum), optimum,
                                 {"x": 1.0}, names)
    assert [(d.kind, d.loads_on) for d in laplace.directions] == [
        ("stiff", ("a",)), ("sloppy", ("b", "c")), ("sloppy", ("c", "b"))]
    assert [d.precision for d in laplace.directions] == pytest.approx([1e6, 10.0, 1e-2], rel=1e-9)
    assert laplace.directions[2].vector == pytest.approx({"a": 0.0, "b": -0.6, "c": 0.8}, abs=1e-9)
    assert laplace.condition_number == pytest.approx(1e8, rel=1e-6)
    np.testing.assert_allclose(laplace.covariance, vectors @ np.diag([1e-6, 0.1, 100.0]) @ vectors.T, atol=1e-9)

    start = optimum + np.array([0.3, -0.2, 0.5])
    moved = laplace_covariance(_linear(np.array([1e6, 10.0, 1e-2]), vectors, optimum), start, {"x": 1.0}, names)
    np.testing.assert_allclose(moved.mean, optimum, atol=1e-8)

    singular = _linear(np.array([1e6, 10.0, 0.0]), vectors, optimum)
    with pytest.raises(UnidentifiableParametersError, match=r"\('c', 'b'\)"):
        laplace_covariance(singular, optimum, {"x": 1.0}, names)
    with caplog.at_level(logging.WARNING, logger="ffdiff.fitting.uncertainty"):
        pinv = laplace_covariance(singular, optimum, {"x": 1.0}, names, on_singular="pinv")
    assert "singular" in caplog.text and pinv.singular and pinv.condition_number == np.inf
    assert pinv.directions[-1].std == np.inf and pinv.directions[-1].kind == "sloppy"
    np.testing.assert_allclose(pinv.covariance @ vectors[:, 2], 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="no noise level"):
        laplace_covariance(singular, optimum, {"y": 1.0}, names)


def test_gaussian_prior_adds_its_precision():
    """A prior N(0, 1) on every parameter of r = θ − 2 (unit noise): precision 2, mean 1."""
    laplace = laplace_covariance(lambda t: {"x": t - 2.0}, np.full(2, 2.0), {"x": 1.0}, ("p", "q"),
                                 prior=(np.zeros(2), np.ones(2)))
    np.testing.assert_allclose(laplace.covariance, 0.5 * np.eye(2), rtol=1e-12)
    np.testing.assert_allclose(laplace.mean, [1.0, 1.0], rtol=1e-12)
