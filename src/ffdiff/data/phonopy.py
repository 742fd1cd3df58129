"""phonopy files: displacements (``phonopy_disp.yaml`` and the older ``disp.yaml``), FORCE_SETS,
FORCE_CONSTANTS and ``phonopy_params.yaml``.

Each is read from the path given and from nothing else: ``phonopy.load`` would also read a ``BORN``,
``FORCE_SETS`` or ``FORCE_CONSTANTS`` it finds in the working directory whenever the yaml lacks those
data, so a stray file there would change (or break) every job. Every number read is checked to be
finite.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import phonopy
import yaml
from ase import Atoms
from phonopy.file_IO import parse_disp_yaml, parse_FORCE_CONSTANTS, parse_FORCE_SETS
from phonopy.harmonic.force_constants import compact_fc_to_full_fc, full_fc_to_compact_fc
from phonopy.structure.atoms import PhonopyAtoms

from ffdiff.finite import require_finite


def _to_ase(cell) -> Atoms:
    return Atoms(symbols=cell.symbols, cell=np.asarray(cell.cell), scaled_positions=cell.scaled_positions,
                 pbc=True)


def read_displacements(path) -> tuple[Atoms, list[dict]]:
    """Perfect supercell and displacement list of a phonopy displacement file.

    Returns:
        (supercell, [{"atom": index, "displacement": `[3]` Å}, ...]) in phonopy's order.
    """
    path = Path(path)
    try:
        with open(path) as handle:
            head = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"cannot read phonopy displacement file {path}: {err}") from err
    expected = "expected phonopy_disp.yaml, or disp.yaml of phonopy < 2"
    if not isinstance(head, dict):
        raise ValueError(f"{path}: not a phonopy displacement file ({expected})")
    try:
        if "phonopy" in head:  # phonopy_disp.yaml
            ph = _read_phonopy_yaml(path)
            dataset = ph.dataset["first_atoms"]
            supercell = _to_ase(ph.supercell)
        else:  # disp.yaml of phonopy < 2
            data, cell = parse_disp_yaml(path, return_cell=True)
            dataset, supercell = data["first_atoms"], _to_ase(cell)
    except Exception as err:  # phonopy raises KeyError, TypeError, RuntimeError... on incomplete files
        raise ValueError(f"{path}: not a phonopy displacement file ({type(err).__name__}: {err}; {expected})") from err
    for k, d in enumerate(dataset, start=1):
        require_finite(d["displacement"], "displacement", f"{path}, displacement {k}")
    return supercell, [{"atom": int(d["number"]), "displacement": np.asarray(d["displacement"], float)}
                       for d in dataset]


def supercell_matrix(unitcell: Atoms, supercell: Atoms) -> np.ndarray:
    """Integer M with supercell.cell = M @ unitcell.cell (rows are lattice vectors)."""
    m = np.asarray(supercell.cell) @ np.linalg.inv(np.asarray(unitcell.cell))
    rounded = np.rint(m)
    if np.abs(m - rounded).max() > 1e-6:
        raise ValueError(f"supercell is not an integer multiple of the unit cell: M = {m.tolist()}")
    return rounded.astype(int)


def unitcell_from_supercell(supercell: Atoms, matrix) -> Atoms:
    """The unit cell that ``supercell`` repeats ``matrix`` times (supercell.cell = matrix @ unit cell).

    Atoms are the supercell's images folded into the unit cell, in the order they first appear
    (phonopy's supercells list the unit cell's own atoms first, so the order survives).

    Raises:
        ValueError: the supercell does not hold ``det(matrix)`` images of one set of atoms.
    """
    matrix = np.asarray(matrix, dtype=float).reshape(3, 3) if np.size(matrix) == 9 else np.diag(matrix)
    cell = np.linalg.solve(matrix, np.asarray(supercell.cell))
    fractional = np.asarray(supercell.positions) @ np.linalg.inv(cell)
    fractional -= np.floor(fractional + 1e-6)  # images at 1 - δ fold to -δ, i.e. 0
    unique: list[int] = []
    for k, f in enumerate(fractional):
        if not any(np.allclose(f, fractional[j], atol=1e-5) for j in unique):
            unique.append(k)
    multiple = round(abs(np.linalg.det(matrix)))
    if len(unique) * multiple != len(supercell):
        raise ValueError(f"a {len(supercell)}-atom supercell with matrix {matrix.tolist()} should hold "
                         f"{multiple} images of each unit-cell atom; found {len(unique)} distinct atoms")
    symbols = np.asarray(supercell.get_chemical_symbols())[unique]
    return Atoms(symbols=list(symbols), cell=cell, scaled_positions=np.clip(fractional[unique], 0.0, None),
                 pbc=True)


def to_phonopy_atoms(atoms: Atoms):
    return PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=np.asarray(atoms.cell),
                        scaled_positions=atoms.get_scaled_positions())


def _new_phonopy(unitcell, supercell_matrix, primitive_matrix="auto", **kwargs):
    """``phonopy.Phonopy(...)``, without its warning that "auto" resolved to the FCC primitive cell
    (which is what we want)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="primitive_matrix defaulted")
        return phonopy.Phonopy(unitcell, supercell_matrix=supercell_matrix, primitive_matrix=primitive_matrix,
                               **kwargs)


def _read_phonopy_yaml(path):
    """A ``phonopy.Phonopy`` of a phonopy yaml file's cells, displacement dataset and force constants
    (kept as stored: full or compact), read from that file only (see the module docstring). NAC
    parameters are not read: silicon has none, and the force constants do not use them."""
    from phonopy.interface.phonopy_yaml import PhonopyYaml

    content = PhonopyYaml()
    content.read(path)
    if content.unitcell is None:
        raise ValueError("no unit cell")
    matrix = content.supercell_matrix if content.supercell_matrix is not None else np.eye(3, dtype=int)
    primitive = content.primitive_matrix if content.primitive_matrix is not None else "auto"
    phonon = _new_phonopy(content.unitcell, matrix, primitive, calculator=content.calculator)
    if content.dataset is not None:
        phonon.dataset = content.dataset
    if content.force_constants is not None:
        phonon.force_constants = content.force_constants
    return phonon


def _phonopy(unitcell: Atoms, supercell: Atoms):
    """An empty ``phonopy.Phonopy`` whose supercell is checked to be ``supercell``, atom by atom."""

    phonon = _new_phonopy(to_phonopy_atoms(unitcell), supercell_matrix(unitcell, supercell))
    built = phonon.supercell.scaled_positions
    if not np.allclose(built, supercell.get_scaled_positions(), atol=1e-6):
        raise ValueError("the displacement file's supercell atom order differs from phonopy's")
    return phonon


def phonopy_from_displacements(unitcell: Atoms, supercell: Atoms, dataset: list[dict],
                               forces: list[np.ndarray]):
    """A ``phonopy.Phonopy`` with force constants from finite-displacement forces (eV/Å).

    The supercell is rebuilt by phonopy from the unit cell; its atom order is checked against the
    displacement file's, so the force sets line up.
    """
    phonon = _phonopy(unitcell, supercell)
    phonon.dataset = {"natom": len(supercell), "first_atoms": [
        {"number": d["atom"], "displacement": d["displacement"], "forces": f}
        for d, f in zip(dataset, forces, strict=True)]}
    phonon.produce_force_constants()
    return phonon


def load_phonopy(path):
    """A ``phonopy.Phonopy`` with full `[n, n, 3, 3]` force constants from a ``phonopy_params.yaml``
    (stored full, or compact: `[n_primitive, n, 3, 3]`).

    A full matrix is read as it is: by default phonopy would keep only its primitive-cell rows,
    and rebuild the others from them, which silently replaces any part of it the lattice
    translations do not reproduce.
    """

    try:
        phonon = _read_phonopy_yaml(path)
    except Exception as err:  # phonopy raises several types on malformed files
        raise ValueError(f"cannot read force constants from {path}: {err}") from err
    fc = phonon.force_constants
    if fc is None:
        raise ValueError(f"{path} holds no force constants")
    require_finite(fc, "force constants", str(path))
    if fc.shape[0] != fc.shape[1]:
        phonon.force_constants = compact_fc_to_full_fc(phonon.primitive, fc)
    return phonon


def save_phonopy(phonon, path, rtol: float = 1e-12) -> None:
    """Write ``phonon`` with its force constants as a ``phonopy_params.yaml``, atomically.

    The force constants are stored compact (the primitive cell's rows, `[n_primitive, n, 3, 3]`)
    when the lattice translations rebuild the full matrix from them up to rounding (``rtol`` of its
    largest element), as they do for force constants phonopy produced; a matrix they do not rebuild
    (e.g. a user's unsymmetrised FORCE_CONSTANTS) is stored in full. Compact holds 2 of the 64 rows of
    a 64-atom supercell of diamond Si, which every fit, landscape and phonon job reads.
    """
    path = Path(path)
    full = stored = phonon.force_constants
    if full.shape[0] == full.shape[1]:
        compact = full_fc_to_compact_fc(phonon.primitive, full)
        rebuilt = compact_fc_to_full_fc(phonon.primitive, compact)
        if np.max(np.abs(rebuilt - full)) <= rtol * np.max(np.abs(full)):
            stored = compact
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        phonon.force_constants = stored
        phonon.save(tmp, settings={"force_constants": True})
    finally:
        phonon.force_constants = full
    tmp.replace(path)


def phonopy_from_force_sets(unitcell: Atoms, supercell: Atoms, path):
    """Force constants from a phonopy ``FORCE_SETS`` file (displacements and forces of the supercell)."""

    try:
        dataset = parse_FORCE_SETS(filename=path)
    except Exception as err:  # phonopy raises several types on malformed files
        raise ValueError(f"cannot read {path} as phonopy FORCE_SETS: {err}") from err
    if dataset.get("natom") != len(supercell):
        raise ValueError(f"{path}: {dataset.get('natom')} atoms, the supercell has {len(supercell)}")
    for k, d in enumerate(dataset["first_atoms"], start=1):
        for name in ("displacement", "forces"):
            require_finite(d[name], name, f"{path}, displacement {k}")
    phonon = _phonopy(unitcell, supercell)
    phonon.dataset = dataset
    phonon.produce_force_constants()
    return phonon


def phonopy_from_force_constants(unitcell: Atoms, supercell: Atoms, path):
    """Force constants read from a phonopy ``FORCE_CONSTANTS`` file (full or compact)."""

    phonon = _phonopy(unitcell, supercell)
    try:
        fc = parse_FORCE_CONSTANTS(filename=path)
    except Exception as err:
        raise ValueError(f"cannot read {path} as phonopy FORCE_CONSTANTS: {err}") from err
    n, n_prim = len(supercell), len(phonon.primitive)
    if fc.shape[1] != n or fc.shape[0] not in (n, n_prim):
        raise ValueError(f"{path}: force constants of shape {fc.shape[:2]}, expected ({n}, {n}) or ({n_prim}, {n}) "
                         f"for the {n}-atom supercell")
    rows = np.arange(n) if fc.shape[0] == n else phonon.primitive.p2s_map  # atom of each row of the file

    def line(index):  # the file: a line of sizes, then per atom pair a line "i j" and 3 lines of 3 numbers
        i, j, row = index[:3]
        return f"{path}, line {3 + 4 * (i * n + j) + row} (atoms {rows[i] + 1} and {j + 1})"

    require_finite(fc, "force constants", line)
    phonon.force_constants = fc if fc.shape[0] == n else compact_fc_to_full_fc(phonon.primitive, fc)
    return phonon
