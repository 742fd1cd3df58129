"""Fits at the potential's own zero-pressure lattice (``geometry="relaxed"``): the same losses as at a
fixed lattice placed at a0, and gradients through a0 equal to finite differences."""

import jax
import numpy as np
import pytest

from conftest import assert_gradient_matches_differences

from ffdiff import get_potential
from ffdiff.data.elastic import cubic_reference
from ffdiff.fitting import ParameterSpace, compile_objective
from ffdiff.fitting.geometry import Geometry, dft_lattice_constant
from ffdiff.fitting.potential_fit import Reference, build_loss, force_constant_loss
from ffdiff.properties import equilibrium_lattice_constant

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa


def test_relaxed_losses_are_the_fixed_ones_at_the_potentials_own_lattice(dft_phonon):
    """SW with σ stretched 2 %: the relaxed-geometry losses equal the fixed-geometry ones with the crystal
    at a0(θ) and phonopy's supercell stretched from the DFT lattice constant to a0(θ)."""
    potential = get_potential("sw")
    params = potential.params({"sigma": 2.0951 * 1.02})
    a0 = float(equilibrium_lattice_constant(potential, params))
    assert a0 == pytest.approx(5.43095 * 1.02, rel=1e-5)  # SW's lengths scale with σ
    reference = Reference(DFT, dft_phonon)
    relaxed = Geometry(potential, 5.431, dft_phonon, skin=0.5, relaxed=True)
    fixed = Geometry(potential, a0, dft_phonon, skin=0.5)
    scale = a0 / dft_lattice_constant(dft_phonon)
    for objective in ("elastic_standard", "phonon"):
        ours = build_loss(objective, relaxed, reference, params)
        theirs = (force_constant_loss(fixed, reference, params, scale) if objective == "phonon"
                  else build_loss(objective, fixed, reference, params))
        values = [float(jax.jit(loss.fn)(params, loss.data)[0]) for loss in (ours, theirs)]
        assert values[0] == pytest.approx(values[1], rel=1e-9), objective


def test_relaxed_multi_objective_gradient_matches_finite_differences(dft_phonon):
    """The compiled relaxed-geometry objective over (ε, σ, λ): σ moves a0 and with it both structures."""
    potential = get_potential("sw")
    params = potential.params()
    geometry = Geometry(potential, 5.431, dft_phonon, skin=0.5, relaxed=True)
    loss = build_loss("multi", geometry, Reference(DFT, dft_phonon), params, {"elastic": 1.0, "force_constants": 1.0})
    space = ParameterSpace(("epsilon", "sigma", "lam"), params)
    objective = compile_objective(loss, space)
    theta = np.asarray(space.pack(params)) * np.array([0.97, 1.01, 1.02])
    assert_gradient_matches_differences(objective, theta)
