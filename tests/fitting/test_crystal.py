"""Scalar targets of the zero-pressure crystal (lattice constant, cohesive energy, bulk modulus, phase
energy difference): their loss, its gradient, the exact optimum of a fit of SW's two scales, the multi
objective's optional part, and the targets' checks."""

import jax
import numpy as np
import pytest

from conftest import assert_gradient_matches_differences

from ffdiff import get_potential
from ffdiff.data.elastic import cubic_reference
from ffdiff.fitting import ParameterSpace, compile_objective
from ffdiff.fitting.crystal import CrystalTarget, crystal_targets
from ffdiff.fitting.geometry import Geometry
from ffdiff.fitting.potential_fit import Reference, build_loss, fit_potential
from ffdiff.fitting.uncertainty import fit_uncertainty
from ffdiff.properties import equilibrium_crystal

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa
TARGETS = {"lattice_constant": {"value": 5.466164, "std": 0.02, "source": "PBE"},
           "cohesive_energy": {"value": 4.62, "std": 0.08, "source": "experiment"},
           "bulk_modulus": {"value": 88.936, "std": 5.0, "source": "PBE"},
           "phase_energy": {"beta_sn": {"value": 0.25, "std": 0.05, "source": "DFT"}}}


def test_loss_and_its_gradient_through_both_relaxations():
    """SW, every target: the compiled loss is √Σ((q − q_ref)/σ)² of the quantities equilibrium_crystal
    gives (cohesive energy = −E/atom, the phase energy a difference of two relaxations), its aux those
    quantities, and its gradient over (ε, σ, λ, A) equals central differences."""
    potential = get_potential("sw")
    params = potential.params()
    targets = crystal_targets(TARGETS)
    loss = build_loss("crystal", Geometry(potential, 5.431, None), Reference(DFT, None, targets), params)
    space = ParameterSpace(("epsilon", "sigma", "lam", "A"), params)
    objective = compile_objective(loss, space)
    theta = np.asarray(space.pack(params)) * np.array([1.03, 0.99, 1.02, 0.98])
    value, aux, _ = objective.evaluate(theta)
    moved = space.unpack(jax.numpy.asarray(theta))
    diamond, beta = (equilibrium_crystal(potential, moved, s) for s in ("diamond", "beta_sn"))
    expected = np.array([diamond["lattice_constant"], -diamond["energy_per_atom"], diamond["bulk_modulus"],
                         beta["energy_per_atom"] - diamond["energy_per_atom"]])
    np.testing.assert_allclose(aux["values"], expected, rtol=1e-12)
    misfit = (expected - [t.value for t in targets]) / [t.std for t in targets]
    assert float(value) == pytest.approx(np.linalg.norm(misfit), rel=1e-12)
    assert [t.name for t in targets] == ["a0", "E_coh", "B", "dE_beta_sn"]
    assert_gradient_matches_differences(objective, theta)


def test_fit_of_sws_two_scales_reaches_the_exact_optimum():
    """SW's a0 is proportional to σ and its cohesive energy 2ε: a fit of (ε, σ) to those two targets has
    the exact solution ε = E_ref / 2, σ = σ0 a_ref / a0(σ0), loss 0; its uncertainty is then exactly
    the targets' (std(ε) = std(E) / 2, relative std(σ) = relative std(a)), with E_coh and a0 listed."""
    targets = {k: TARGETS[k] for k in ("lattice_constant", "cohesive_energy")}
    reference = Reference(DFT, None, crystal_targets(targets))
    fits = fit_potential("sw", "crystal", reference, lattice_constant=5.431, fitted=["epsilon", "sigma"],
                         optimizers=("BFGS",))
    sigma0 = get_potential("sw").params()["sigma"]
    a0 = float(equilibrium_crystal("sw", get_potential("sw").params())["lattice_constant"])
    best = fits["best"]["params"]
    assert best["epsilon"] == pytest.approx(4.62 / 2, rel=1e-7)
    assert best["sigma"] == pytest.approx(float(sigma0) * 5.466164 / a0, rel=1e-7)
    assert fits["best"]["loss"] < 1e-6
    row = fits["runs"][0]["properties"]
    assert row["a0"] == pytest.approx(5.466164, rel=1e-8) and row["E_coh"] == pytest.approx(4.62, rel=1e-8)
    assert fits["reference"]["a0"] == 5.466164
    result = fit_uncertainty(fits, reference, lattice_constant=5.431, sigma_elastic_gpa=5.0,
                             sigma_force_constants_ev_a2=0.25)
    assert result["noise"] == {"crystal": 1.0}
    assert result["parameters"]["epsilon"]["std"] == pytest.approx(0.08 / 2, rel=1e-6)
    assert result["parameters"]["sigma"]["std"] / best["sigma"] == pytest.approx(0.02 / 5.466164, rel=1e-6)
    assert result["properties"]["E_coh"]["std"] == pytest.approx(0.08, rel=1e-6)
    assert result["properties"]["a0"]["std"] == pytest.approx(0.02, rel=1e-6)


def test_multi_objective_adds_the_targets_only_where_weighted(dft_phonon):
    """Weight 0 (the default): the paper's two-part loss; weight w: a third part, the crystal objective's
    very loss (same function and data, so the same compiled program), weighted w."""
    potential = get_potential("sw")
    params = potential.params()
    geometry = Geometry(potential, 5.431, dft_phonon)
    reference = Reference(DFT, dft_phonon, crystal_targets(TARGETS))
    paper = build_loss("multi", geometry, reference, params, {"elastic": 1.0, "force_constants": 1.0, "crystal": 0.0})
    assert paper.weights == {"elastic": 1.0, "force_constants": 1.0}
    both = build_loss("multi", geometry, reference, params, {"elastic": 1.0, "force_constants": 1.0, "crystal": 3.0})
    assert both.weights == {"elastic": 1.0, "force_constants": 1.0, "crystal": 3.0}
    crystal = build_loss("crystal", geometry, reference, params)
    part = dict((name, loss) for name, _, loss in both.parts)["crystal"]
    assert part.fn is crystal.fn
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), part.data, crystal.data))


@pytest.mark.parametrize(("entry", "message"), [
    (("bulk_modulus", 90.0, 0.0), "std > 0"),
    (("lattice_constant", float("nan"), 0.02), "finite"),
    (("band_gap", 1.1, 0.1), "unknown crystal target"),
    (("phase_energy", 0.2, 0.05, "", "diamond"), "structure 'diamond'"),
    (("cohesive_energy", 4.6, 0.1, "", "bcc"), "expected 'diamond'"),
])
def test_targets_are_checked_as_they_are_made(entry, message):
    with pytest.raises(ValueError, match=message):
        CrystalTarget(*entry)


def test_config_block_gives_one_target_per_entry_and_none_for_null():
    targets = crystal_targets({**TARGETS, "bulk_modulus": None,
                               "phase_energy": {"beta_sn": TARGETS["phase_energy"]["beta_sn"], "fcc": None}})
    assert [(t.quantity, t.structure) for t in targets] == [("lattice_constant", "diamond"),
                                                            ("cohesive_energy", "diamond"), ("phase_energy", "beta_sn")]
    assert crystal_targets(None) == ()
