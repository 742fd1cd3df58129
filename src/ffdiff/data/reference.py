"""The reference structure set: unit cell, perfect supercell and DFT-computed displaced supercells."""

from __future__ import annotations

from ase import Atoms
from ase.io import read

from ffdiff.data.phonopy import read_displacements
from ffdiff.data.vasp import read_vasprun


def _check_element(atoms: Atoms, path, element: str) -> None:
    found = sorted(set(atoms.get_chemical_symbols()))
    if found != [element]:
        raise ValueError(f"{path}: expected {element} only, found {found}")


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
        ValueError: counts, atom numbers or elements that do not match.
    """
    if (displacements is None) == (supercell is None):
        raise ValueError("give either a phonopy displacement file or a supercell POSCAR")
    cell = read(unitcell, format="vasp")
    _check_element(cell, unitcell, element)
    if supercell is not None:
        perfect, dataset = read(supercell, format="vasp"), []
        _check_element(perfect, supercell, element)
    else:
        perfect, dataset = read_displacements(displacements)
    if len(dataset) != len(vaspruns):
        raise ValueError(f"{displacements} lists {len(dataset)} displacements but {len(vaspruns)} "
                         "vasprun.xml files were given")
    cell.info["name"] = "unitcell"
    perfect.info["name"] = "supercell"
    out = [cell, perfect]
    for k, (path, disp) in enumerate(zip(vaspruns, dataset, strict=True), start=1):
        atoms = read_vasprun(path, element=element)
        if len(atoms) != len(perfect):
            raise ValueError(f"{path}: {len(atoms)} atoms, supercell in {displacements} has {len(perfect)}")
        atoms.info.update(name=f"displacement-{k:03d}", displaced_atom=disp["atom"])
        out.append(atoms)
    return out
