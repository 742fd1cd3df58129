"""Fit results as :func:`ffdiff.fitting.potential_fit.fit_potential` writes them, read without JAX
(table and figure jobs import only this, pandas and matplotlib)."""

from __future__ import annotations


def best_run(fits: dict) -> dict:
    """The run of a :func:`ffdiff.fitting.potential_fit.fit_potential` result with the lowest loss."""
    best = fits["best"]
    return next(r for r in fits["runs"] if r["method"] == best["method"] and r["start"] == best["start"])
