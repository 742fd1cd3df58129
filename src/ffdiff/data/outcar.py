"""Elastic constants from a VASP OUTCAR (IBRION = 6, ISIF ≥ 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ffdiff.finite import require_finite

_HEADER = "TOTAL ELASTIC MODULI (kBar)"
# VASP prints rows and columns in the order XX YY ZZ XY YZ ZX; Voigt is xx yy zz yz xz xy.
_VASP_TO_VOIGT = [0, 1, 2, 4, 5, 3]


def read_elastic_moduli(path) -> np.ndarray:
    """`[6, 6]` stiffness in GPa (Voigt order, standard convention) from the last
    "TOTAL ELASTIC MODULI" block, which includes the ionic relaxation contributions.

    Raises:
        ValueError: the file has no such block, or it is truncated, or holds a number that is not finite
            (the message names the file and the line).
    """
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    starts = [k for k, line in enumerate(lines) if _HEADER in line]
    if not starts:
        raise ValueError(f"{path}: no '{_HEADER}' block (expected the OUTCAR of a VASP run with IBRION = 6 "
                         "and ISIF >= 3)")
    rows = []
    for number, line in enumerate(lines[starts[-1] + 1:], start=starts[-1] + 2):
        words = line.split()
        if len(words) == 7 and words[0] in ("XX", "YY", "ZZ", "XY", "YZ", "ZX"):
            try:
                rows.append([float(w) for w in words[1:]])
            except ValueError as err:  # VASP prints ****** for a number too wide for its column
                raise ValueError(f"{path}, line {number}: cannot read the elastic moduli ({err})") from err
            require_finite(rows[-1], "elastic moduli", f"{path}, line {number}")
            if len(rows) == 6:
                break
    if len(rows) != 6:
        raise ValueError(f"{path}: the '{_HEADER}' block is truncated ({len(rows)} of 6 rows)")
    vasp = np.asarray(rows) / 10.0  # kBar -> GPa
    return vasp[np.ix_(_VASP_TO_VOIGT, _VASP_TO_VOIGT)]
