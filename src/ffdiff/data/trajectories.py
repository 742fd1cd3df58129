"""Trajectory frames from VASP, extended XYZ, ASE databases and Cubuk files, through ASE's readers.

Energy/force training needs frames with both (``vasprun.xml``, OUTCAR, an extended XYZ or database that
stores them, Cubuk files). The Cubuk et al. data as distributed today is an ASE ``aselmdb`` database
(ase-db-backends' LMDB backend): a folder of ``*.aselmdb`` shards beside a ``manifest.json``, each row a
64-atom frame with its energy, forces and ``data["phase"]`` (``"cubic_300K"``, ..., ``"liq_1"``). A VASP XDATCAR, or an extended XYZ without energies or forces, is
positions-only: good for an RDF target or an MD-test reference (``dataset_from_files(...,
require_labels=False)``), not for training.
"""

from __future__ import annotations

from pathlib import Path

from ase import Atoms
from ase.io import read
from ase.io.formats import string2index

from ffdiff.finite import require_finite_frame

__all__ = ["FORMATS", "aselmdb_shards", "guess_format", "read_frames"]

#: Formats :func:`read_frames` reads; ASE's names, plus ``"db"`` (ASE's SQLite database), ``"aselmdb"``
#: (ase-db-backends' LMDB database: one ``.aselmdb`` file or a folder of them) and ``"cubuk"``.
FORMATS = ("vasp-xdatcar", "vasp-xml", "vasp-out", "extxyz", "db", "aselmdb", "cubuk")


def guess_format(path) -> str:
    """The format of a trajectory file from its name (VASP names are matched anywhere in it); a folder is
    an ``aselmdb`` database.

    Examples:
        >>> [guess_format(p) for p in ["run/XDATCAR_1000K", "vasprun-001.xml", "OUTCAR", "a.xyz",
        ...                            "si.db", "data_0000.aselmdb", "MD_DATA.liq_1"]]
        ['vasp-xdatcar', 'vasp-xml', 'vasp-out', 'extxyz', 'db', 'aselmdb', 'cubuk']
    """
    if Path(path).is_dir():
        return "aselmdb"
    name = Path(path).name
    suffix = Path(path).suffix.lower()
    if "XDATCAR" in name:
        return "vasp-xdatcar"
    if "OUTCAR" in name:
        return "vasp-out"
    if "MD_DATA" in name:
        return "cubuk"
    by_suffix = {".xml": "vasp-xml", ".xyz": "extxyz", ".extxyz": "extxyz", ".db": "db", ".aselmdb": "aselmdb"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    raise ValueError(f"{path}: cannot tell the format from the name; pass format= one of {list(FORMATS)}")


def aselmdb_shards(path) -> list[Path]:
    """The ``.aselmdb`` files of an ``aselmdb`` database: ``path`` itself, or a folder's shards in name order.

    Raises:
        ValueError: a folder without ``*.aselmdb`` files.
    """
    path = Path(path)
    if not path.is_dir():
        return [path]
    shards = sorted(p for p in path.glob("*.aselmdb") if p.is_file())
    if not shards:
        raise ValueError(f"{path}: a folder without .aselmdb files; expected an aselmdb database (a folder "
                         "of *.aselmdb shards, as ase-db-backends writes them)")
    return shards


def _read_db(path: Path, index, format: str) -> list[Atoms]:
    from ase.db import connect

    frames = []
    # type= so a database without its suffix opens too; readonly: never create or lock the user's files
    options = {"type": "aselmdb", "readonly": True} if format == "aselmdb" else {"type": "db"}
    for shard in aselmdb_shards(path) if format == "aselmdb" else [path]:
        if format == "aselmdb":  # refuse a file that is not LMDB here: the backend's cleanup would fail again
            import lmdb

            lmdb.open(str(shard), subdir=False, readonly=True, lock=False).close()
        with connect(shard, **options) as db:
            for row in db.select():
                atoms = row.toatoms(add_additional_information=False)
                phase = row.data.get("phase")
                if isinstance(phase, str):
                    atoms.info["phase"] = phase
                frames.append(atoms)
    picked = frames[index]
    return picked if isinstance(picked, list) else [picked]


def read_frames(path, format: str | None = None, index=":", *, element: str | None = "Si") -> list[Atoms]:
    """Frames of a trajectory, with energies and forces attached where the file has them.

    XDATCAR holds positions only (for structural targets such as the RDF; frames have no calculator);
    ``vasprun.xml`` and OUTCAR give every ionic step with its DFT energy (eV) and forces (eV/Å); extended
    XYZ, ASE databases (SQLite ``.db``; LMDB ``.aselmdb``, one file or a folder of shards) and Cubuk
    ``MD_DATA`` files give what they store (an extended XYZ
    without energies and forces gives frames without a calculator, one with only an energy a
    ``SinglePointCalculator`` without forces: both count as positions-only in
    :meth:`~ffdiff.data.dataset.Dataset.from_frames`).

    Args:
        path: the file (for ``aselmdb``, the file or the folder of shards).
        format: one of :data:`FORMATS`; guessed from the name when ``None`` (see :func:`guess_format`).
        index: which frames, as in ``ase.io.read`` (``":"``, ``"-1"``, ``"::10"``, an int or a slice).
        element: the one chemical symbol every frame must consist of; ``None`` skips the check.

    Returns:
        ``Atoms`` in file order (shards in name order); each has ``info["source_file"]`` (the path as
        given) and, where a database row names one in ``data["phase"]``, ``info["phase"]``.

    Raises:
        ValueError: unknown format, unreadable file, no frames, atoms of another element, or non-finite
            numbers (the message names the file, the frame, and the foreign symbols or the numbers).
    """
    path = Path(path)
    if not path.exists():  # before ASE: connecting to a missing database would create it
        raise ValueError(f"{path}: no such file")
    format = format or guess_format(path)
    if format not in FORMATS:
        raise ValueError(f"{path}: expected format in {list(FORMATS)}, got {format!r}")
    if path.is_dir() and format != "aselmdb":
        raise ValueError(f"{path}: a folder; only an aselmdb database can be one, got format {format!r}")
    index = string2index(index) if isinstance(index, str) else index
    try:
        if format in ("db", "aselmdb"):
            frames = _read_db(path, index, format)
        elif format == "cubuk":
            from ffdiff.data.cubuk import read_cubuk

            frames = read_cubuk(path, element=element or "Si")
            frames = frames[index] if isinstance(index, slice) else [frames[index]]
        else:
            frames = read(path, index=index, format=format)
            frames = frames if isinstance(frames, list) else [frames]
    except Exception as err:  # ASE's readers raise many types on malformed files
        raise ValueError(f"cannot read {format} frames from {path}: {err}") from err
    if not frames:
        raise ValueError(f"{path}: no frames selected by index {index!r}")
    for k, atoms in enumerate(frames):
        foreign = sorted(set(atoms.get_chemical_symbols()) - {element}) if element is not None else []
        if foreign:
            raise ValueError(f"{path}: frame {k} has {foreign} atoms; expected {element} only")
        require_finite_frame(atoms, f"{path}, frame {k}")
        atoms.info["source_file"] = str(path)
    return frames


def _labelled(frames: list[Atoms], path) -> list[Atoms]:
    for atoms in frames:
        phase = atoms.info.get("phase")
        atoms.info["source"] = f"file:{Path(path).name}" + (f":{phase}" if phase else "")
    return frames


def dataset_from_files(paths, *, temperature: float | None = None, element: str | None = "Si",
                       require_labels: bool = True):
    """One :class:`~ffdiff.data.dataset.Dataset` of every frame of every file, each frame labelled
    ``"file:<name>"``, or ``"file:<name>:<phase>"`` where a database row names its phase (so a split
    stratified by source sees each phase of the Cubuk database, as it sees each Cubuk text file).

    Any :func:`read_frames` format with energies and forces; with ``require_labels=False`` also
    positions-only files (VASP XDATCAR, extended XYZ without energies or forces), which give a
    positions-only dataset (energies and forces NaN, ``labelled`` ``False``) for an RDF target or an
    MD-test reference.

    Raises:
        ValueError: as :func:`read_frames`; a file without energies and forces (unless
            ``require_labels=False``), a file with them for some frames only, or labelled and
            positions-only files together (the messages name the file).
    """
    from ffdiff.data.dataset import Dataset

    paths = list(paths)
    datasets = [Dataset.from_frames(_labelled(read_frames(p, element=element), p), temperature=temperature,
                                    require_labels=require_labels) for p in paths]
    kinds = {d.labelled for d in datasets}
    if len(kinds) > 1:
        raise ValueError(f"{[str(p) for p in paths]}: mixes files with energies and forces "
                         f"({[str(p) for p, d in zip(paths, datasets, strict=True) if d.labelled]}) and "
                         "positions-only files; a Dataset is either labelled or positions-only")
    return Dataset.concatenate(*datasets)
