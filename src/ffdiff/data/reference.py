"""The reference structure set: unit cell, perfect supercell and DFT-computed displaced supercells."""

from __future__ import annotations

from ase import Atoms
from ase.io import read

from ffdiff.data.phonopy import read_displacements
from ffdiff.data.vasp import read_vasprun


def reference_structures(unitcell, displacements, vaspruns, *, element: str = "Si") -> list[Atoms]:
    """Structures tagged in ``atoms.info["name"]``; DFT results stay attached as a calculator.

    Args:
        unitcell: POSCAR of the unit cell.
        displacements: phonopy displacement file for the supercell.
        vaspruns: ``vasprun.xml`` of each displaced supercell, in the displacement file's order.

    Raises:
        ValueError: counts, atom numbers or elements that do not match.
    """
    cell = read(unitcell, format="vasp")
    if set(cell.get_chemical_symbols()) != {element}:
        raise ValueError(f"{unitcell}: expected {element} only, found {sorted(set(cell.get_chemical_symbols()))}")
    supercell, dataset = read_displacements(displacements)
    if len(dataset) != len(vaspruns):
        raise ValueError(f"{displacements} lists {len(dataset)} displacements but {len(vaspruns)} "
                         "vasprun.xml files were given")
    cell.info["name"] = "unitcell"
    supercell.info["name"] = "supercell"
    out = [cell, supercell]
    for k, (path, disp) in enumerate(zip(vaspruns, dataset, strict=True), start=1):
        atoms = read_vasprun(path, element=element)
        if len(atoms) != len(supercell):
            raise ValueError(f"{path}: {len(atoms)} atoms, supercell in {displacements} has {len(supercell)}")
        atoms.info.update(name=f"displacement-{k:03d}", displaced_atom=disp["atom"])
        out.append(atoms)
    return out
