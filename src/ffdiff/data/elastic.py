"""Reference elastic constants."""

from __future__ import annotations

import numpy as np


def cubic_matrix(c11: float, c12: float, c44: float) -> np.ndarray:
    """`[6, 6]` Voigt stiffness of a cubic crystal."""
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    c[np.arange(3), np.arange(3)] = c11
    c[np.arange(3, 6), np.arange(3, 6)] = c44
    return c


def cubic_reference(c11: float, c12: float, c44: float) -> np.ndarray:
    """`[6, 6]` Voigt stiffness (GPa, standard convention) of a cubic crystal; C44 must be the
    standard one (Gangan et al.'s tables print 2·C44)."""
    for name, value in {"C11": c11, "C12": c12, "C44": c44}.items():
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"elastic reference {name} must be a positive number of GPa, got {value!r}")
    return cubic_matrix(c11, c12, c44)
