"""Reference elastic constants."""

from __future__ import annotations

import numpy as np

from ffdiff.properties.elastic import cubic_matrix


def cubic_reference(c11: float, c12: float, c44: float) -> np.ndarray:
    """`[6, 6]` Voigt stiffness (GPa, standard convention) of a cubic crystal; C44 must be the
    standard one (Gangan et al.'s tables print 2·C44)."""
    for name, value in {"C11": c11, "C12": c12, "C44": c44}.items():
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"elastic reference {name} must be a positive number of GPa, got {value!r}")
    return np.asarray(cubic_matrix(c11, c12, c44))
