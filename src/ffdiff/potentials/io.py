"""Parameter files: LAMMPS ``Si.sw`` / ``Si.edip`` / ``Si.tersoff`` and ffdiff's JSON.

LAMMPS files hold entries of whitespace-separated words (element1 element2 element3, then the
numbers) that may span lines; ``#`` starts a comment. ffdiff potentials describe one element: of a
multi-element file (``SiC.tersoff``) only the ``X X X`` entry of that element is read. Floats are written with ``repr`` so a
write/read round trip returns the identical values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from ffdiff.finite import require_finite
from ffdiff.exceptions import ParameterFileError
from ffdiff.potentials.lookup import get_potential
from ffdiff.potentials.registry import POTENTIALS

# Column order of each LAMMPS format after the three element names.
LAMMPS_COLUMNS: dict[str, tuple[str, ...]] = {
    "sw": ("epsilon", "sigma", "a", "lam", "gamma", "cos_theta0", "A", "B", "p", "q", "tol"),
    "edip": ("A", "B", "a", "c", "alpha", "beta", "eta", "gamma", "lam", "mu", "rho", "sigma",
             "Q0", "u1", "u2", "u3", "u4"),
    "tersoff": ("m", "gamma", "lambda3", "c", "d", "costheta0", "n", "beta", "lambda2", "B", "R", "D",
                "lambda1", "A"),
}
_SUFFIX_STYLE = {".sw": "sw", ".edip": "edip", ".tersoff": "tersoff"}
JSON_FORMAT = "ffdiff-params/1"


def _words(path: Path) -> tuple[list[str], list[int]]:
    """The file's words, comments left out, and the (1-based) line of each."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ParameterFileError(f"cannot read parameter file {path}: {err}") from err
    located = [(w, k) for k, line in enumerate(text.splitlines(), start=1) for w in line.split("#", 1)[0].split()]
    return [w for w, _ in located], [k for _, k in located]


def _entries(words: list[str], style: str, path: Path) -> list[list[str]]:
    width = 3 + len(LAMMPS_COLUMNS[style])
    if not words or len(words) % width:
        raise ParameterFileError(
            f"{path}: a {style} file holds entries of {width} words; found {len(words)} words"
        )
    return [words[k:k + width] for k in range(0, len(words), width)]


def _guess_style(path: Path, words: list[str]) -> str:
    if path.suffix in _SUFFIX_STYLE:
        return _SUFFIX_STYLE[path.suffix]
    fits = [s for s, cols in LAMMPS_COLUMNS.items() if words and len(words) % (3 + len(cols)) == 0]
    if len(fits) != 1:
        raise ParameterFileError(
            f"{path}: cannot tell its format ({', '.join(sorted(LAMMPS_COLUMNS))}) by its name or its "
            f"{len(words)} words; pass style="
        )
    return fits[0]


def read_lammps(path, style: str | None = None, element: str = "Si") -> tuple[str, dict[str, float]]:
    """Read the single-element entry ``element element element`` of a LAMMPS parameter file.

    Args:
        path: the file (``.sw``, ``.edip`` or ``.tersoff``, or give ``style``).
        style: ``"sw"``, ``"edip"`` or ``"tersoff"``; guessed from the suffix or the entry width if None.
        element: the one chemical symbol whose ``X X X`` entry is read; the file's entries for other
            elements and mixed triples (``Si Si C``) are ignored.

    Returns:
        (potential name, parameters); the SW tolerance column ``tol`` is dropped.

    Raises:
        ParameterFileError: an unreadable file, no such entry, more than one element asked for (mixed
            triples are not supported yet), or a value that is not a finite number (the message names
            the file and the line).
    """
    path = Path(path)
    if not isinstance(element, str) or len(element.split()) != 1:
        raise ParameterFileError(f"{path}: ffdiff reads one element's 'X X X' entry, got element={element!r}; "
                                 "entries mixing elements are not supported yet")
    words, lines = _words(path)
    style = style or _guess_style(path, words)
    if style not in LAMMPS_COLUMNS:
        raise ParameterFileError(f"unknown LAMMPS style {style!r}; expected one of {sorted(LAMMPS_COLUMNS)}")
    entries = _entries(words, style, path)
    for number, entry in enumerate(entries):
        if entry[:3] == [element] * 3:
            try:
                values = [float(w) for w in entry[3:]]
            except ValueError as err:
                raise ParameterFileError(f"{path}: entry {' '.join(entry[:3])}: {err}") from err
            params = dict(zip(LAMMPS_COLUMNS[style], values, strict=True))
            first = number * len(entry) + 3  # index of the entry's first number among the words
            for k, (name, value) in enumerate(params.items()):
                require_finite(value, f"parameter {name}", f"{path}, line {lines[first + k]}",
                               error=ParameterFileError)
            params.pop("tol", None)
            return style, params
    raise ParameterFileError(f"{path}: no '{element} {element} {element}' entry (ffdiff reads that entry only; "
                             "entries mixing elements are not supported yet)")


def write_lammps(path, name: str, params: Mapping[str, float], element: str = "Si") -> None:
    """Write one ``element element element`` entry in LAMMPS format (metal units)."""
    potential = get_potential(name)
    full = {**potential.default_params, **{k: float(v) for k, v in params.items()}, "tol": 0.0}
    columns = LAMMPS_COLUMNS[potential.lammps_style]
    numbers = " ".join(repr(float(full[c])) for c in columns)
    header = f"# {name} parameters written by ffdiff; columns: {' '.join(columns)}\n"
    Path(path).write_text(f"{header}{element} {element} {element} {numbers}\n")


def save_params(path, name: str, params: Mapping[str, float]) -> None:
    """Write parameters as ffdiff JSON: ``{"format", "potential", "params"}``."""
    get_potential(name)
    doc = {"format": JSON_FORMAT, "potential": name, "params": {k: float(v) for k, v in params.items()}}
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


def load_params(path, element: str = "Si") -> tuple[str, dict[str, float]]:
    """Read any supported parameter file; returns (potential name, parameters)."""
    path = Path(path)
    if path.suffix != ".json":
        return read_lammps(path, element=element)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ParameterFileError(f"cannot read parameter file {path}: {err}") from err
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT or doc.get("potential") not in POTENTIALS:
        raise ParameterFileError(
            f"{path}: expected JSON with format={JSON_FORMAT!r} and potential in {sorted(POTENTIALS)}"
        )
    params = {k: float(v) for k, v in doc["params"].items()}
    for name, value in params.items():  # Python's JSON reads NaN and Infinity
        require_finite(value, f"parameter {name}", str(path), error=ParameterFileError)
    return doc["potential"], params


def starting_params(name: str, params_file=None, overrides: Mapping[str, float] | None = None,
                    element: str = "Si") -> dict[str, float]:
    """Parameter overrides of a study's potential: a parameter file's values, then ``overrides``.

    Raises:
        ParameterFileError: the file holds another potential's parameters.
    """
    start: dict[str, float] = {}
    if params_file:
        found, start = load_params(params_file, element=element)
        if found != name:
            raise ParameterFileError(f"{params_file} holds {found} parameters, not {name}")
    return {**start, **dict(overrides or {})}
