"""VASP outputs through ASE's readers, with the checks a fit needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read


def read_vasprun(path, *, element: str | None = "Si") -> Atoms:
    """Final ionic step of a ``vasprun.xml`` with its DFT energy (eV), forces (eV/Å) and stress.

    Raises:
        ValueError: unreadable or truncated file, missing forces, or atoms of another element.
    """
    path = Path(path)
    try:
        atoms = read(path, index=-1, format="vasp-xml")
        forces = atoms.get_forces()
        atoms.get_potential_energy()
    except Exception as err:  # ASE raises many types on malformed XML
        raise ValueError(f"cannot read energies and forces from {path}: {err}") from err
    if not np.all(np.isfinite(forces)):
        raise ValueError(f"{path}: non-finite forces")
    if element is not None and set(atoms.get_chemical_symbols()) != {element}:
        raise ValueError(f"{path}: expected {element} only, found {sorted(set(atoms.get_chemical_symbols()))}")
    return atoms
