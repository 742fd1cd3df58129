"""The one finiteness check of every reader of numbers: NaN or infinity in an input is refused where it
is read, with the file and the frame or line, instead of flowing into fits and results."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["require_finite", "require_finite_frame"]


def require_finite(values, what: str, where: str | Callable[[tuple[int, ...]], str], *,
                   error: type[Exception] = ValueError) -> None:
    """Refuse ``values`` unless every one is a finite number.

    Args:
        values: a number or an array of them.
        what: what they are, e.g. ``"energies"``.
        where: where they come from, e.g. ``"snapshots.xyz, frame 3"``; or a function of the index of
            the first non-finite entry (a tuple, ``()`` for a number) that says so.
        error: the exception type to raise.

    Raises:
        ``error``: "``<where>``: non-finite ``<what>`` (nan)", for the first non-finite entry.

    Examples:
        >>> require_finite([[1.0, 2.0], [3.0, float("inf")]], "energies", lambda i: f"x.npz, frame {i[0]}")
        Traceback (most recent call last):
        ...
        ValueError: x.npz, frame 1: non-finite energies (inf)
    """
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if finite.all():
        return
    index = tuple(int(k) for k in np.argwhere(~finite)[0])
    place = where(index) if callable(where) else where
    raise error(f"{place}: non-finite {what} ({array[index]})")


def require_finite_frame(atoms, where: str) -> None:
    """Refuse an ASE frame whose positions, cell, energy, forces or stress (those it has) are not all finite.

    Raises:
        ValueError: "``<where>``: non-finite energy (nan)" and the like.
    """
    require_finite(atoms.positions, "positions", where)
    require_finite(atoms.cell.array, "cell", where)
    results = atoms.calc.results if atoms.calc is not None else {}
    for name in ("energy", "forces", "stress"):
        if name in results:
            require_finite(results[name], name, where)
