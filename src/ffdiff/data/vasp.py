"""VASP outputs through ASE's readers, with the checks a fit needs."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from ase import Atoms
from ase.io import read

from ffdiff.finite import require_finite_frame
from ffdiff.exceptions import StructureError


def check_element(atoms: Atoms, path, element: str) -> None:
    """Refuse ``atoms`` (read from ``path``) unless every atom is ``element``.

    Raises:
        StructureError: naming the file and the foreign symbols.
    """
    found = sorted(set(atoms.get_chemical_symbols()))
    if found != [element]:
        raise StructureError(f"{path}: expected {element} only, found {found}")


def _check_complete_xml(path: Path) -> None:
    """ASE reads a ``vasprun.xml`` up to its last complete ionic step and drops the rest without a word
    (it is made to follow running calculations), so a truncated or corrupt file would pass as a reference."""
    try:
        for _, elem in ElementTree.iterparse(path):
            elem.clear()
    except ElementTree.ParseError as err:
        raise ValueError(f"cannot read energies and forces from {path}: truncated or corrupt XML ({err}; "
                         "expected the complete vasprun.xml of a finished VASP run)") from None
    except OSError as err:
        raise ValueError(f"cannot read energies and forces from {path}: {err.strerror}") from None


def read_vasprun(path, *, element: str | None = "Si") -> Atoms:
    """Final ionic step of a ``vasprun.xml`` with its DFT energy (eV), forces (eV/Å) and stress.

    Raises:
        ValueError: unreadable, truncated or corrupt file, missing forces, or non-finite numbers.
        StructureError: atoms of another element (a ``ValueError`` too).
    """
    path = Path(path)
    _check_complete_xml(path)
    try:
        atoms = read(path, index=-1, format="vasp-xml")
        atoms.get_forces()
        atoms.get_potential_energy()
    except Exception as err:  # ASE raises many types on malformed XML
        raise ValueError(f"cannot read energies and forces from {path}: {err} "
                         "(expected a vasprun.xml with at least one finished ionic step)") from err
    require_finite_frame(atoms, str(path))
    if element is not None:
        check_element(atoms, path, element)
    return atoms
