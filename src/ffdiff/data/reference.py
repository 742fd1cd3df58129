"""The reference structure set: unit cell, perfect supercell and DFT-computed displaced supercells."""

from __future__ import annotations

from ase import Atoms
from ase.io import read

from ffdiff.finite import require_finite_frame
from ffdiff.data.phonopy import read_displacements
from ffdiff.data.vasp import check_element, read_vasprun


def read_poscar(path, element: str | None = None) -> Atoms:
    """A VASP POSCAR, all of ``element`` when given.

    Raises:
        ValueError: a missing or unreadable file, or non-finite numbers (the message names it).
        StructureError: atoms of another element (a ``ValueError`` too).
    """
    try:
        atoms = read(path, format="vasp")
    except Exception as err:  # ASE raises many types on malformed files
        raise ValueError(f"{path}: not a readable POSCAR ({err}; expected a VASP POSCAR file)") from err
    require_finite_frame(atoms, str(path))
    if element is not None:
        check_element(atoms, path, element)
    return atoms


def reference_structures(unitcell, displacements=None, vaspruns=(), *, supercell=None,
                         element: str = "Si") -> list[Atoms]:
    """Structures tagged in ``atoms.info["name"]``; DFT results stay attached as a calculator.

    Args:
        unitcell: POSCAR of the unit cell.
        displacements: phonopy displacement file for the supercell (finite-displacement sources).
        vaspruns: ``vasprun.xml`` of each displaced supercell, in the displacement file's order.
        supercell: POSCAR of the perfect supercell (``SPOSCAR``), for sources that ship force
            constants rather than displaced runs; used instead of ``displacements``.

    Raises:
        ValueError: unreadable files, or counts or atom numbers that do not match; every message
            names the file.
        StructureError: atoms of another element than ``element`` (a ``ValueError`` too).
    """
    if (displacements is None) == (supercell is None):
        raise ValueError("give either a phonopy displacement file or a supercell POSCAR")
    cell = read_poscar(unitcell, element)
    if supercell is not None:
        perfect, dataset = read_poscar(supercell, element), []
    else:
        perfect, dataset = read_displacements(displacements)
        check_element(perfect, displacements, element)
    if len(dataset) != len(vaspruns):
        raise ValueError(f"{displacements} lists {len(dataset)} displacements but {len(vaspruns)} "
                         "vasprun.xml files were given (expected one per displacement, in the file's order)")
    cell.info["name"] = "unitcell"
    perfect.info["name"] = "supercell"
    out = [cell, perfect]
    for k, (path, disp) in enumerate(zip(vaspruns, dataset, strict=True), start=1):
        atoms = read_vasprun(path, element=element)
        if len(atoms) != len(perfect):
            raise ValueError(f"{path}: {len(atoms)} atoms (expected {len(perfect)}, the supercell of {displacements})")
        atoms.info.update(name=f"displacement-{k:03d}", displaced_atom=disp["atom"])
        out.append(atoms)
    return out
