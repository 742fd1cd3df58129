"""Readers for reference data (VASP, phonopy) into ASE ``Atoms`` with their DFT results."""

from ffdiff.data.archive import download_sdist, extract_members, sha256sum
from ffdiff.data.phonopy import read_displacements
from ffdiff.data.reference import reference_structures
from ffdiff.data.vasp import read_vasprun

__all__ = ["download_sdist", "extract_members", "read_displacements", "read_vasprun", "reference_structures", "sha256sum"]
