"""Readers for reference data (VASP, phonopy, the Cubuk et al. dataset, ASE formats) into ASE
``Atoms`` with their DFT results, and the energy/force dataset format of the GNN stages."""

from ffdiff.data.archive import download_sdist, extract_members, fetch_url, sha256sum
from ffdiff.data.cubuk import read_cubuk, write_cubuk
from ffdiff.data.dataset import Dataset, split
from ffdiff.data.phonopy import read_displacements
from ffdiff.data.reference import reference_structures
from ffdiff.data.trajectories import read_frames
from ffdiff.data.vasp import read_vasprun

__all__ = ["Dataset", "download_sdist", "extract_members", "fetch_url", "read_cubuk", "read_displacements", "read_frames",
           "read_vasprun", "reference_structures", "sha256sum", "split", "write_cubuk"]
