"""The three-loss surface (elastic, force constants, scalar targets): its corners against the
single-objective fits, the paper's point against the multi fit, no point dominated, and the lattice
of weights it walks."""

import numpy as np
import pytest

from ffdiff.data.elastic import cubic_reference
from ffdiff.fitting.crystal import crystal_targets
from ffdiff.fitting.nsga import hypervolume
from ffdiff.fitting.pareto import Normalisation
from ffdiff.fitting.pareto_surface import simplex_lattice, surface_potential
from ffdiff.fitting.potential_fit import Reference, fit_potential

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa
SW = {"lattice_constant": 5.431, "fitted": ["epsilon", "lam"]}
# SW's E_coh (2ε) and B (∝ ε) pull ε apart and its β-Sn energy depends on ε and λ: the scalar targets
# alone have one optimum in (ε, λ), not at zero loss (a norm's kink). On the way there the line search
# crosses (ε, λ) where β-Sn has no zero-pressure minimum (NaN), which it must step back from.
TARGETS = {"cohesive_energy": {"value": 4.62, "std": 0.08, "source": "experiment"},
           "bulk_modulus": {"value": 88.936, "std": 5.0, "source": "DFT"},
           "phase_energy": {"beta_sn": {"value": 0.25, "std": 0.05, "source": "DFT"}}}


@pytest.fixture(scope="module")
def reference(dft_phonon):
    return Reference(DFT, dft_phonon, crystal_targets(TARGETS))


@pytest.fixture(scope="module")
def surface(reference):
    return surface_potential("sw", reference, divisions=2, **SW)


def _fit(reference, objective, **kw):
    return np.asarray(fit_potential("sw", objective, reference, optimizers=("BFGS",), **SW, **kw)["runs"][0]["x"])


def test_corners_are_the_single_objective_fits(surface, reference):
    corners = {tuple(p["weights"]): p for p in surface["points"] if p["corner"]}
    assert len(corners) == 3 and all(p["converged"] for p in corners.values())
    for weights, objective in (((1.0, 0.0, 0.0), "elastic_standard"), ((0.0, 1.0, 0.0), "phonon"),
                               ((0.0, 0.0, 1.0), "crystal")):
        np.testing.assert_allclose(corners[weights]["x"], _fit(reference, objective), rtol=1e-6, err_msg=objective)
    utopia = [corners[w][k] for w, k in (((1.0, 0.0, 0.0), "elastic_loss"), ((0.0, 1.0, 0.0), "fc_loss"),
                                          ((0.0, 0.0, 1.0), "crystal_loss"))]
    assert surface["utopia"] == pytest.approx(utopia, rel=1e-12)


def test_paper_point_is_the_multi_fit_and_nothing_is_dominated(surface, reference):
    paper = surface["points"][surface["paper"]]
    assert paper["paper"] and (paper["w_elastic"], paper["w_fc"], paper["w_crystal"]) == pytest.approx((1, 1, 0))
    np.testing.assert_allclose(paper["x"], _fit(reference, "multi", weights={"elastic": 1.0, "force_constants": 1.0}),
                               rtol=1e-6)
    points = surface["points"]
    assert len(points) == 7 and not any(p["dominated"] for p in points) and all(p["converged"] for p in points)
    f = np.array([[p["elastic_loss"], p["fc_loss"], p["crystal_loss"]] for p in points])
    norm = Normalisation(surface["utopia"], surface["nadir"])
    assert 0.0 < hypervolume(f, norm) < 1.1**3


def test_simplex_lattice_walks_between_neighbours():
    lattice = simplex_lattice(4)
    assert lattice.shape == (15, 3) and np.allclose(lattice.sum(axis=1), 1.0)
    assert len({tuple(w) for w in lattice}) == 15
    steps = np.abs(np.diff(lattice, axis=0)).max(axis=1)
    assert np.all(steps <= 0.25 + 1e-12)
    with pytest.raises(ValueError, match="at least 1 division"):
        simplex_lattice(0)
