"""Readings of the multi-objective loss: the study's multi fit, squared norms, the potential's own geometry."""

import numpy as np
import pytest

from ffdiff import get_potential
from ffdiff.data.elastic import cubic_reference
from ffdiff.fitting import ParameterSpace, compile_objective
from ffdiff.fitting.geometry import Geometry
from ffdiff.fitting.potential_fit import Reference, build_loss
from ffdiff.fitting.variants import (
    WEIGHTS,
    Variant,
    dft_lattice_constant,
    fc_scale,
    own_lattice_constant,
    variant_loss,
)

DFT = cubic_reference(153.2141, 56.7969, 74.83265)  # GPa, the paper's DFT (standard C44)
FITTED = ("epsilon", "lam")


@pytest.fixture(scope="module")
def sw(dft_phonon):
    potential = get_potential("sw")
    params = potential.params()
    return (Geometry(potential, 5.431, dft_phonon), Reference(DFT, dft_phonon), params,
            ParameterSpace(FITTED, params))


def _at(space, params, factors=(0.93, 1.4)):
    return space.pack(params) * np.asarray(factors)


def test_standard_dft_frobenius_variant_is_the_multi_fit(sw):
    """(standard, dft, frobenius) is the study's ``multi`` objective, value and gradient; the paper
    convention's variant is the ``elastic_paper`` plus the ``phonon`` objective, and differs from it."""
    geometry, reference, params, space = sw
    theta = _at(space, params)
    variant = compile_objective(variant_loss(Variant("standard", "dft", "frobenius"), geometry, reference, params),
                                space)
    multi = compile_objective(build_loss("multi", geometry, reference, params, WEIGHTS), space)
    (value, grad), (value_multi, grad_multi) = variant.value_and_grad(theta), multi.value_and_grad(theta)
    assert value == pytest.approx(value_multi, rel=1e-13)
    np.testing.assert_allclose(grad, grad_multi, rtol=1e-13)

    paper = compile_objective(variant_loss(Variant("paper", "dft", "frobenius"), geometry, reference, params), space)
    parts = sum(compile_objective(build_loss(o, geometry, reference, params), space).value(theta)
                for o in ("elastic_paper", "phonon"))
    assert paper.value(theta) == pytest.approx(parts, rel=1e-13)
    assert abs(paper.value(theta) - value) > 1.0  # GPa: the conventions differ by the doubled shear block


def test_squared_variant_gradient_matches_finite_differences(sw):
    """Σ_k ‖r_k‖² (each part squared, not the sum): its value from the plain variant's parts, its
    gradient against central differences of its own value (steps 1e-6 relative)."""
    geometry, reference, params, space = sw
    theta = _at(space, params)
    plain, squared = (variant_loss(Variant("paper", "own", norm), geometry, reference, params)
                      for norm in ("frobenius", "squared"))
    objective = compile_objective(squared, space)
    value, grad = objective.value_and_grad(theta)
    parts = {name: compile_objective(part, space).value(theta) for name, _, part in plain.parts}
    assert value == pytest.approx(parts["elastic"] ** 2 + parts["force_constants"] ** 2, rel=1e-12)
    for k in range(2):
        h = 1e-6 * abs(theta[k])
        step = np.eye(2)[k] * h
        fd = (objective.value(theta + step) - objective.value(theta - step)) / (2 * h)
        assert grad[k] == pytest.approx(fd, rel=1e-7), (k, grad[k], fd)


def test_own_geometry_at_the_dft_lattice_constant_is_the_dft_supercell(sw):
    """SW's a0 is proportional to sigma: with sigma scaled so that a0 = a_dft, the 'own' supercell is
    phonopy's (positions to 1e-9 Å) and its loss the 'dft' variant's."""
    geometry, reference, params, _ = sw
    a_dft = dft_lattice_constant(reference.phonon)
    assert a_dft == pytest.approx(5.4662, abs=1e-3)  # phonopy example's POSCAR-unitcell
    stretched = {**params, "sigma": params["sigma"] * a_dft / own_lattice_constant(geometry, params)}
    assert own_lattice_constant(geometry, stretched) == pytest.approx(a_dft, rel=1e-12)
    scale = fc_scale(Variant("paper", "own", "frobenius"), geometry, stretched)
    assert scale == pytest.approx(1.0, abs=1e-12)
    position, box, _ = geometry.supercell(stretched, scale)
    np.testing.assert_allclose(position, reference.phonon.supercell.positions, rtol=0, atol=1e-9)
    np.testing.assert_allclose(box, reference.phonon.supercell.cell, rtol=0, atol=1e-9)
    space = ParameterSpace(FITTED, stretched)
    own, dft = (compile_objective(variant_loss(Variant("paper", g, "frobenius"), geometry, reference, stretched),
                                  space).value(space.pack(stretched)) for g in ("own", "dft"))
    assert own == pytest.approx(dft, rel=1e-12)


def test_unknown_choice_is_refused():
    with pytest.raises(ValueError, match="unknown norm 'l1'"):
        Variant("paper", "dft", "l1")
