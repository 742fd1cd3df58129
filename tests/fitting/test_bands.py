"""The fitted dispersion's 68 % band: draws from N(θ*, Σ), their percentiles, and SW's band at its
force-constant optimum (collapsed for Σ = 0, around the fitted curve and √s times wider for s Σ)."""

import logging

import jax
import numpy as np
import pytest

from ffdiff.fitting.bands import laplace_samples, percentile_band
from ffdiff.fitting.potential_fit import Reference, fit_setup, posterior_band, properties
from ffdiff.properties.phonons import band_structure, with_force_constants

THETA = np.array([1.63397, 19.98434])  # SW's force-constant optimum (ε eV, λ): docs/results.md
# About 100 × the study's Laplace variance of that fit (σ 0.0028 eV, 0.16), correlated: bands of ~0.2 THz.
COVARIANCE = 100 * np.array([[0.0028 ** 2, -0.5 * 0.0028 * 0.16], [-0.5 * 0.0028 * 0.16, 0.16 ** 2]])


def test_samples_are_antithetic_reproducible_and_have_the_covariance():
    a, b = laplace_samples(THETA, COVARIANCE, 20_000, seed=3), laplace_samples(THETA, COVARIANCE, 20_000, seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, laplace_samples(THETA, COVARIANCE, 20_000, seed=4))
    np.testing.assert_allclose(a[0::2] + a[1::2], np.tile(2 * THETA, (10_000, 1)), rtol=1e-14)  # θ* ± δ
    # sample covariance of 10⁴ independent pairs: relative standard error ≈ √(2 / 10⁴) = 1.4 %
    scale = np.sqrt(np.outer(np.diag(COVARIANCE), np.diag(COVARIANCE)))
    assert (np.abs(np.cov(a.T) - COVARIANCE) / scale).max() < 0.05  # measured 0.0084 for seed 3
    assert np.array_equal(laplace_samples(THETA, np.zeros((2, 2)), 4, seed=0), np.tile(THETA, (4, 1)))


def test_samples_stay_inside_the_legal_range(caplog):
    lower = THETA - [0.01, 10.0]  # 0.4 σ below ε*: about a third of the pairs have a member below it
    with caplog.at_level(logging.INFO, logger="ffdiff.fitting.bands"):
        samples = laplace_samples(THETA, COVARIANCE, 64, seed=0, lower=lower, upper=[np.inf, np.inf])
    assert samples.shape == (64, 2) and np.all(samples > lower)
    assert "fell outside the legal range and were redrawn" in caplog.text
    with pytest.raises(RuntimeError, match="inside the legal range"):
        laplace_samples(THETA, COVARIANCE, 4, seed=0, lower=THETA + [1.0, 0.0])
    with pytest.raises(ValueError, match="even number of samples ≥ 2, got 7"):
        laplace_samples(THETA, COVARIANCE, 7, seed=0)


def test_percentiles_are_per_point_of_sorted_branches():
    rng = np.random.default_rng(0)
    samples = [[rng.normal(size=(3, 2)), rng.normal(size=(4, 2))] for _ in range(9)]
    band = percentile_band(samples)
    for k in range(2):
        stack = np.sort([s[k] for s in samples], axis=-1)
        np.testing.assert_array_equal(band["lower"][k], np.percentile(stack, 16, axis=0))
        np.testing.assert_array_equal(band["upper"][k], np.percentile(stack, 84, axis=0))
    with pytest.raises(ValueError, match="segment counts"):
        percentile_band([samples[0], samples[1][:1]])


@pytest.fixture(scope="module")
def sw_phonons(dft_phonon):
    geometry, space = fit_setup("sw", ["epsilon", "lam"], dft_phonon, 5.431, None)
    props = properties(geometry, Reference(None, dft_phonon), space)
    fc = props.full_force_constants(space.unpack(THETA))
    fitted = np.concatenate(band_structure(with_force_constants(dft_phonon, fc, symmetry=False))["frequencies"])

    def band(scale, seed=0, n_samples=8):
        laplace = {"names": ["epsilon", "lam"], "theta": THETA.tolist(), "covariance": (scale * COVARIANCE).tolist()}
        out = posterior_band(props, geometry, THETA, laplace, n_samples=n_samples, seed=seed)
        return np.concatenate(out["lower"]), np.concatenate(out["upper"])

    return fitted, band


def test_band_of_zero_covariance_is_the_fitted_curve(sw_phonons):
    fitted, band = sw_phonons
    lower, upper = band(0.0)
    assert np.abs(lower - fitted).max() < 1e-9 and np.abs(upper - fitted).max() < 1e-9  # THz (measured 0)


def test_band_contains_the_fitted_curve_and_widens_with_the_covariance(sw_phonons, caplog):
    fitted, band = sw_phonons
    band(1.0)  # compiles nothing new after the fixture's fitted curve: checked on the next calls
    with jax.log_compiles(), caplog.at_level(logging.DEBUG):
        widths = {}
        for scale in (1.0, 4.0):
            lower, upper = band(scale)
            # 1e-7 THz: at Γ the acoustic frequencies are 0 to within 1e-7 THz of rounding, sample and fit alike
            assert np.all(lower <= fitted + 1e-7) and np.all(fitted <= upper + 1e-7), scale
            widths[scale] = upper - lower
    assert "Compiling" not in caplog.text  # one compiled program serves every sample
    assert widths[1.0].max() > 0.1  # THz
    wide = widths[1.0] > 1e-3
    # frequencies are nearly linear in θ over ±2σ: the same draws, twice the spread, twice the band
    # (measured: ratios 1.916-2.192, median 2.0004; the extremes where sorted branches cross)
    ratio = widths[4.0][wide] / widths[1.0][wide]
    assert np.median(ratio) == pytest.approx(2.0, rel=0.005) and np.all((ratio > 1.8) & (ratio < 2.25))
    assert np.array_equal(band(1.0, seed=5)[0], band(1.0, seed=5)[0])
    assert not np.array_equal(band(1.0, seed=5)[0], band(1.0, seed=6)[0])
