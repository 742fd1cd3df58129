"""Uncertainty bands of a fitted phonon dispersion: parameter sets drawn from the fit's Laplace
posterior N(θ*, Σ) (:mod:`ffdiff.fitting.uncertainty`), each one's band structure, and the central
68 % of the frequencies at every point of the path.

The draws come in antithetic pairs θ* ± δ: the sample is symmetric about θ*, so where a frequency
is linear in θ its 16th and 84th percentiles lie symmetrically about the fitted curve (and always
enclose it), at no extra cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from ffdiff.properties.phonons import band_structure, with_force_constants

logger = logging.getLogger(__name__)

BAND_PERCENTILES = (16.0, 84.0)  # ±1σ of a Gaussian: its central 68 %
MAX_DRAWS = 100  # pairs drawn per pair kept before the legal range is deemed out of reach


def laplace_samples(theta, covariance, n_samples: int, seed: int, *, lower=None, upper=None) -> np.ndarray:
    """`[n_samples, p]` draws from N(``theta``, ``covariance``) in antithetic pairs (θ + δ, θ − δ).

    Args:
        theta: `[p]` the mean (the fit's optimum), in the parameters' units.
        covariance: `[p, p]` symmetric positive semi-definite (a zero matrix gives ``theta`` every time).
        n_samples: even, ≥ 2.
        seed: of ``numpy.random.default_rng``; the same seed gives the same draws.
        lower, upper: `[p]` open legal range, ±inf for none (:attr:`ParameterSpace.interval
            <ffdiff.fitting.parameters.ParameterSpace.interval>`; default unbounded); pairs with a
            member outside it are redrawn (the posterior truncated to the range), the count logged.
    """
    theta = np.asarray(theta, dtype=np.float64)
    if n_samples < 2 or n_samples % 2:
        raise ValueError(f"expected an even number of samples ≥ 2, got {n_samples!r}")
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.shape != (theta.size, theta.size):
        raise ValueError(f"expected a [{theta.size}, {theta.size}] covariance, got shape {cov.shape}")
    # Σ = R Rᵀ by eigenvectors: unlike Cholesky it takes a singular (or zero) Σ
    values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    lower = np.full(theta.size, -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    upper = np.full(theta.size, np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    rng, pairs, drawn = np.random.default_rng(seed), [], 0
    while len(pairs) < n_samples // 2:
        if drawn >= MAX_DRAWS * (n_samples // 2):
            raise RuntimeError(f"{drawn} pairs drawn from N(θ* = {theta.tolist()}, Σ), {len(pairs)} inside the legal "
                               f"range ({lower.tolist()}, {upper.tolist()}); expected {n_samples // 2}")
        delta = root @ rng.standard_normal(theta.size)
        drawn += 1
        pair = np.stack([theta + delta, theta - delta])
        if np.all((pair > lower) & (pair < upper)):
            pairs.append(pair)
    if drawn > len(pairs):
        logger.info("%d of %d pairs drawn fell outside the legal range and were redrawn", drawn - len(pairs), drawn)
    return np.concatenate(pairs)


def percentile_band(frequencies: Sequence[Sequence], percentiles: tuple[float, float] = BAND_PERCENTILES) -> dict:
    """{"lower", "upper"}: per point and branch, percentiles over samples of band structures.

    Args:
        frequencies: one entry per sample, each a band structure's ``"frequencies"`` (segments of
            `[n_points, n_branches]`, THz).
        percentiles: lower and upper, in %.

    Returns:
        ``"lower"`` and ``"upper"`` in the layout of ``"frequencies"`` (lists of segments), THz. Each
        point's frequencies are sorted first, so branch k is every sample's k-th lowest mode there.
    """
    n_segments = {len(f) for f in frequencies}
    if len(n_segments) != 1:
        raise ValueError(f"expected band structures of one path, got segment counts {sorted(n_segments)}")
    lower, upper = [], []
    for segment in zip(*frequencies, strict=True):
        stack = np.sort(np.asarray(segment, dtype=np.float64), axis=-1)  # [n_samples, n_points, n_branches]
        low, high = np.percentile(stack, percentiles, axis=0)
        lower.append(low.tolist())
        upper.append(high.tolist())
    return {"lower": lower, "upper": upper}


def sampled_band(force_constants_fn: Callable[[np.ndarray], np.ndarray], phonon, samples: np.ndarray,
                 percentiles: tuple[float, float] = BAND_PERCENTILES) -> dict:
    """The band of the dispersions of parameter ``samples``.

    Args:
        force_constants_fn: θ `[p]` -> `[n, n, 3, 3]` force constants (eV/Å²) of ``phonon``'s supercell.
        phonon: ``phonopy.Phonopy`` of the cells (its force constants are not used).
        samples: `[n_samples, p]` parameter sets (:func:`laplace_samples`).
        percentiles: see :func:`percentile_band`.

    Returns:
        :func:`percentile_band` of the samples' :func:`~ffdiff.properties.phonons.band_structure`.
    """
    curves, copy = [], None
    for theta in samples:
        fc = force_constants_fn(theta)
        if copy is None:  # one phonopy object: new force constants rebuild only its dynamical matrix
            copy = with_force_constants(phonon, fc, symmetry=False)
        else:
            copy.force_constants = fc
        curves.append(band_structure(copy)["frequencies"])
    return percentile_band(curves, percentiles)
