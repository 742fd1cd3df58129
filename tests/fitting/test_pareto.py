"""Pareto fronts of the elastic and force-constant losses: end points and the paper's point against
the fits, monotone and non-dominated fronts, the hypervolume against a hand count."""

import numpy as np
import pytest

from ffdiff.data.elastic import cubic_reference
from ffdiff.fitting.nsga import hypervolume, nsga2_front
from ffdiff.fitting.pareto import Normalisation, monotone_violations, pareto_potential, pareto_setup
from ffdiff.fitting.potential_fit import Reference, fit_potential

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa, the paper's DFT (standard C44)
SW = {"lattice_constant": 5.431, "fitted": ["epsilon", "lam"]}


@pytest.fixture(scope="module")
def reference(dft_phonon):
    return Reference(DFT, dft_phonon)


@pytest.fixture(scope="module")
def front(reference):
    return pareto_potential("sw", reference, points=5, **SW)


def _fit(reference, objective, **kw):
    return np.asarray(fit_potential("sw", objective, reference, optimizers=("BFGS",), **SW, **kw)["runs"][0]["x"])


def _losses(front):
    return np.array([[p["elastic_loss"], p["fc_loss"]] for p in front["points"]])


def test_end_points_are_the_single_objective_fits(front, reference):
    """Weight 0 on one loss: the fits of the other alone (fit_potential, BFGS from the original set)."""
    ends = [p for p in front["points"] if p["end"]]
    assert [p["t"] for p in ends] == [0.0, pytest.approx(np.pi / 2)] and all(p["converged"] for p in ends)
    np.testing.assert_allclose(ends[0]["x"], _fit(reference, "elastic_standard"), rtol=1e-6)
    np.testing.assert_allclose(ends[1]["x"], _fit(reference, "phonon"), rtol=1e-6)
    assert front["utopia"] == pytest.approx([ends[0]["elastic_loss"], ends[1]["fc_loss"]], rel=1e-12)


def test_paper_point_is_the_multi_fit(front, reference):
    paper = front["points"][front["paper"]]
    assert paper["paper"] and (paper["w_elastic"], paper["w_fc"]) == pytest.approx((1.0, 1.0), rel=1e-12)
    multi = _fit(reference, "multi", weights={"elastic": 1.0, "force_constants": 1.0})
    np.testing.assert_allclose(paper["x"], multi, rtol=1e-6)


def test_front_is_monotone_and_non_dominated(front):
    f = _losses(front)
    assert len(f) == 6 and front["monotone"] and not front["violations"]  # 5 points and the paper's
    assert np.all(np.diff(f[:, 0]) > 0) and np.all(np.diff(f[:, 1]) < 0)
    assert not any(p["dominated"] for p in front["points"]) and all(p["converged"] for p in front["points"])


def test_a_fold_in_the_front_is_reported():
    points = [{"elastic_loss": e, "fc_loss": f} for e, f in [(1.0, 5.0), (2.0, 3.0), (1.5, 4.0), (4.0, 1.0)]]
    assert [v["between"] for v in monotone_violations(points)] == [[1, 2]]


def test_chebyshev_front_is_non_dominated(reference):
    cheb = pareto_potential("sw", reference, points=5, scalarization="chebyshev", **SW)
    f = _losses(cheb)
    assert cheb["monotone"] and all(p["converged"] for p in cheb["points"])
    for i in range(len(f)):  # no other point at least as good in both losses
        others = np.delete(f, i, axis=0)
        assert not np.any(np.all(others <= f[i], axis=1)), i
    # The interior points sit on the rays of their weights: w_e (f̂_e + δ) = w_f (f̂_f + δ).
    norm = Normalisation(cheb["utopia"], cheb["nadir"])
    for p in cheb["points"]:
        if not (p["end"] or p["paper"]):
            w, fhat = np.asarray(p["weights"]), norm([p["elastic_loss"], p["fc_loss"]]) + 0.01
            assert w[0] * fhat[0] == pytest.approx(w[1] * fhat[1], rel=1e-6)


def test_hypervolume_counts_the_dominated_area():
    """Normalised points (0, 1), (0.5, 0.5), (1, 0) against (1.1, 1.1): 1.21 − 3 · 0.5² + overlaps
    counted by hand = 0.1·1.1 + 0.5·0.6 + 0.5·0.1 ... = 0.71."""
    norm = Normalisation([10.0, 2.0], [30.0, 6.0])
    losses = [[10.0, 6.0], [20.0, 4.0], [30.0, 2.0]]
    # Strips in f̂_e: [0, 0.5) above f̂_f = 1 (0.1 high), [0.5, 1) above 0.5 (0.6), [1, 1.1) above 0 (1.1).
    assert hypervolume(losses, norm) == pytest.approx(0.5 * 0.1 + 0.5 * 0.6 + 0.1 * 1.1, rel=1e-12)


def test_nsga2_approaches_the_gradient_front(front, reference):
    parts, space, _ = pareto_setup("sw", reference, **SW)
    norm = Normalisation(front["utopia"], front["nadir"])
    nsga = nsga2_front(parts, space, norm, pop_size=20, n_gen=15, seed=0)
    assert nsga["history"][-1]["n_eval"] == 20 * 15 and nsga["n_nonfinite"] == 0
    # Nothing NSGA-II finds beats the gradient front by more than its sampling gaps allow.
    assert nsga["history"][-1]["hypervolume"] > 0.9 * hypervolume(_losses(front), norm)
    grad = _losses(front)
    for f in nsga["front"]:
        assert not np.any(np.all(np.asarray(f) < grad - 1e-6 * grad, axis=1))
