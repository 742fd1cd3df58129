"""The Cubuk et al. (2017) Si molecular-dynamics data in its published text form.

The JCP supplementary archive (doi 10.1063/1.4990503) ships ``MD_DATA.cubic_{300,600,900}K`` and
``MD_DATA.liq_1``. Each file is a run of blocks, each starting with ``iter= <step>``::

    iter= 17
     10.862 0.0 0.0          lattice vector a, Å
     0.0 10.862 0.0          lattice vector b, Å
     0.0 0.0 10.862          lattice vector c, Å
    64                       number of atoms
    1 x y z fx fy fz         one line per atom: a token (ignored), position Å, force eV/Å
    ...
    el-ion E= -368.91 eV     potential energy (required)
    Temp.= 301.2 K           instantaneous temperature (optional)

Other lines after the atoms (kinetic and total energy, comments) are ignored, as is text before the
first ``iter= ``.

Examples:
    >>> import io
    >>> from ase.build import bulk
    >>> from ase.calculators.singlepoint import SinglePointCalculator
    >>> atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    >>> atoms.calc = SinglePointCalculator(atoms, energy=-37.0, forces=atoms.positions * 0.0)
    >>> atoms.info.update(step=3, temperature=300.0)
    >>> text = write_cubuk(io.StringIO(), [atoms]).getvalue()
    >>> text.splitlines()[0], text.splitlines()[4]
    ('iter= 3', '8')
    >>> frame, = read_cubuk(io.StringIO(text))
    >>> frame.get_potential_energy(), frame.info["temperature"], frame.info["step"]
    (-37.0, 300.0, 3)
"""

from __future__ import annotations

import io
import math
import os
import re
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ffdiff.finite import require_finite, require_finite_frame

__all__ = ["cubuk_source", "read_cubuk", "write_cubuk"]

_SPLIT = "iter= "
_NUMBER = re.compile(r"=\s*([-+0-9.eEdD]+)")


def cubuk_source(path) -> str:
    """Source label of a Cubuk file: ``MD_DATA.cubic_300K`` -> ``"cubuk:cubic_300K"``."""
    name = Path(path).name
    return "cubuk:" + (name.split("MD_DATA.", 1)[1] if "MD_DATA." in name else name)


def _value(line: str, what: str, where: str) -> float:
    match = _NUMBER.search(line)
    if match is None:
        raise ValueError(f"{where}: cannot read the {what} from {line.strip()!r}")
    return float(match.group(1).replace("d", "e").replace("D", "e"))


def _atom_row(line: str) -> list[float] | None:
    words = line.split()
    if len(words) != 7:
        return None
    try:
        return [float(w) for w in words[1:]]
    except ValueError:
        return None


def _parse_block(text: str, where: str, element: str) -> Atoms:
    lines = text.split("\n")
    try:
        step = int(lines[0].split()[0])
        cell = np.array([[float(w) for w in line.split()[:3]] for line in lines[1:4]])
        n_atoms = int(lines[4].split()[0])
    except (IndexError, ValueError) as err:
        raise ValueError(f"{where}: expected 'iter= <step>', 3 lattice lines and the atom count: {err}") from err
    if cell.shape != (3, 3):
        raise ValueError(f"{where}: expected 3 lattice vectors of 3 numbers, found {cell.tolist()}")
    if n_atoms < 1:
        raise ValueError(f"{where}: expected a positive atom count, found {n_atoms}")
    rows = []
    for line in lines[5:]:
        row = _atom_row(line)
        if row is None:
            break
        rows.append(row)
    if len(rows) != n_atoms:
        raise ValueError(f"{where}: the block declares {n_atoms} atoms but has {len(rows)} atom lines "
                         "('token x y z fx fy fz')")
    data = np.asarray(rows, dtype=np.float64).reshape(n_atoms, 6)
    rest = lines[5 + n_atoms:]
    energy = [line for line in rest if "el-ion E" in line]
    if not energy:
        raise ValueError(f"{where}: no 'el-ion E= <energy> eV' line after the atoms")
    temperature = [line for line in rest if "Temp" in line]
    atoms = Atoms([element] * n_atoms, positions=data[:, :3], cell=cell, pbc=True)
    atoms.calc = SinglePointCalculator(atoms, energy=_value(energy[0], "energy", where), forces=data[:, 3:])
    atoms.info["step"] = step
    atoms.info["temperature"] = _value(temperature[0], "temperature", where) if temperature else math.nan
    require_finite_frame(atoms, where)
    if temperature:
        require_finite(atoms.info["temperature"], "temperature", where)
    return atoms


def read_cubuk(path, *, every: int = 1, element: str = "Si") -> list[Atoms]:
    """Frames of a Cubuk ``MD_DATA.*`` file, with energy and forces attached.

    Args:
        path: the text file (or an open text stream).
        every: keep every ``every``-th block (JAX-MD's example keeps every 15th).
        element: chemical symbol given to every atom (the files do not name it).

    Returns:
        ``Atoms`` with a ``SinglePointCalculator`` (energy eV, forces `[n_atoms, 3]` eV/Å),
        ``info["step"]`` (int), ``info["temperature"]`` (K, NaN when the block has no ``Temp`` line) and
        ``info["source"]`` (see :func:`cubuk_source`).

    Raises:
        ValueError: a malformed block (wrong atom count, missing energy, a number that is not finite); the
            message names the file and the block number (1-based, in file order).
    """
    if every < 1:
        raise ValueError(f"expected every >= 1, got {every}")
    if isinstance(path, io.TextIOBase):
        name, text = getattr(path, "name", "<stream>"), path.read()
    else:
        name = str(path)
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise ValueError(f"cannot read Cubuk file {path}: {err}") from err
    blocks = text.split(_SPLIT)[1:]
    if not blocks:
        raise ValueError(f"{name}: no '{_SPLIT.strip()}' blocks; not a Cubuk MD_DATA file")
    source = cubuk_source(name)
    frames = []
    for k in range(0, len(blocks), every):
        atoms = _parse_block(blocks[k], f"{name}, block {k + 1}", element)
        atoms.info["source"] = source
        frames.append(atoms)
    return frames


def _format_block(atoms: Atoms, token: str) -> str:
    fmt = repr  # shortest text that reads back to the same float
    lines = [f"{_SPLIT}{int(atoms.info.get('step', 0))}"]
    lines += [" ".join(fmt(float(x)) for x in row) for row in atoms.cell.array]
    lines.append(str(len(atoms)))
    forces = atoms.get_forces()
    for r, f in zip(atoms.positions, forces, strict=True):
        lines.append(" ".join([token] + [fmt(float(x)) for x in (*r, *f)]))
    lines.append(f"el-ion E= {fmt(float(atoms.get_potential_energy()))} eV")
    temperature = atoms.info.get("temperature", math.nan)
    if not math.isnan(float(temperature)):
        lines.append(f"Temp.= {fmt(float(temperature))} K")
    return "\n".join(lines) + "\n"


def write_cubuk(path, frames, *, token: str = "1"):
    """Write frames in the Cubuk ``MD_DATA`` layout (numbers at full precision, so they read back exactly).

    Args:
        path: destination file (written atomically) or an open text stream (written to and returned).
        frames: ``Atoms`` with energy and forces; ``info["step"]`` (default 0) and ``info["temperature"]``
            (K; omitted when NaN or absent) are written when present.
        token: the leading token of each atom line.

    Returns:
        The path, or the stream.

    Raises:
        ValueError: a frame without energy or forces.
    """
    parts = []
    for k, atoms in enumerate(frames):
        try:
            parts.append(_format_block(atoms, token))
        except Exception as err:  # ASE raises several types when results are missing
            raise ValueError(f"frame {k}: cannot write without energy and forces: {err}") from err
    text = "".join(parts)
    if isinstance(path, io.TextIOBase):
        path.write(text)
        return path
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
