"""Elastic constants from a VASP OUTCAR (IBRION = 6, ISIF ≥ 3), read with pymatgen's ``Outcar``."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from ffdiff.finite import require_finite

_HEADER = "TOTAL ELASTIC MODULI (kBar)"
# VASP prints rows and columns in the order XX YY ZZ XY YZ ZX; Voigt is xx yy zz yz xz xy.
_VASP_TO_VOIGT = [0, 1, 2, 4, 5, 3]
_LABEL = re.compile(r"^\s*(XX|YY|ZZ|XY|YZ|ZX)\s")
_ROW = re.compile(r"^\s*[X-Z][X-Z]" + r"\s+-*[.\d]+" * 6 + r"\s*$")  # a row pymatgen's pattern reads


def read_elastic_moduli(path) -> np.ndarray:
    """`[6, 6]` stiffness in GPa (Voigt order, standard convention) from the last
    "TOTAL ELASTIC MODULI" block, which includes the ionic relaxation contributions.

    The block is read by pymatgen (``Outcar.read_elastic_tensor``), which needs the whole OUTCAR of the
    run, not the block alone; its kBar become GPa (÷ 10) and its rows and columns VASP's order
    XX YY ZZ XY YZ ZX become Voigt's xx yy zz yz xz xy.

    Raises:
        ValueError: the file has no such block, is not an OUTCAR pymatgen reads, or its block is
            truncated or holds a number that is not finite (VASP prints NaN, or ****** for a number too
            wide for its column); the message names the file and, for a bad row, the line.
    """
    from pymatgen.io.vasp.outputs import Outcar

    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    if _HEADER not in text:
        raise ValueError(f"{path}: no '{_HEADER}' block (expected the OUTCAR of a VASP run with IBRION = 6 "
                         "and ISIF >= 3)")
    with warnings.catch_warnings():  # pymatgen warns of a truncated table: the errors below say so
        warnings.simplefilter("ignore")
        try:
            outcar = Outcar(path)
        except Exception as err:  # pymatgen raises several types on a file that is not a whole OUTCAR
            _check_block(path, text)  # a bad block is the better message
            raise ValueError(f"{path}: not a VASP OUTCAR that pymatgen reads ({type(err).__name__}: {err}); "
                             "expected the whole OUTCAR of the run, not the elastic block alone") from err
        try:
            outcar.read_elastic_tensor()
            table = outcar.data["elastic_tensor"]
        except IndexError:  # no complete table
            table = []
    if np.shape(table) != (6, 6):
        _check_block(path, text)
        raise ValueError(f"{path}: the '{_HEADER}' block does not end with VASP's line of dashes")
    vasp = np.asarray(table, dtype=np.float64) / 10.0  # kBar -> GPa
    require_finite(vasp, "elastic moduli", str(path))
    return vasp[np.ix_(_VASP_TO_VOIGT, _VASP_TO_VOIGT)]


def _check_block(path: Path, text: str) -> None:
    """Refuse the last "TOTAL ELASTIC MODULI" block if a row is not six numbers or rows are missing
    (pymatgen then reads no table; this names the line)."""
    lines = text.splitlines()
    start = max(k for k, line in enumerate(lines) if _HEADER in line)
    rows = 0
    for number, line in enumerate(lines[start + 1:start + 10], start=start + 2):
        if not _LABEL.match(line):
            continue
        if not _ROW.match(line):
            try:
                values = [float(w) for w in line.split()[1:]]
            except ValueError:  # ****** or text
                values = []
            if len(values) == 6:
                require_finite(values, "elastic moduli", f"{path}, line {number}")
            raise ValueError(f"{path}, line {number}: cannot read the elastic moduli from {line.strip()!r} "
                             "(expected a label and 6 numbers)")
        rows += 1
    if rows < 6:
        raise ValueError(f"{path}: the '{_HEADER}' block is truncated ({rows} of 6 rows)")
