"""Readers for reference data (VASP, phonopy, the Cubuk et al. dataset, ASE formats) into ASE
``Atoms`` with their DFT results, and the energy/force dataset format of the GNN stages (names
load on first use)."""

from ffdiff._lazy import attach

_PUBLIC = {
    "Dataset": "ffdiff.data.dataset",
    "download_sdist": "ffdiff.data.archive",
    "extract_members": "ffdiff.data.archive",
    "fetch_url": "ffdiff.data.archive",
    "read_cubuk": "ffdiff.data.cubuk",
    "read_displacements": "ffdiff.data.phonopy",
    "read_frames": "ffdiff.data.trajectories",
    "read_vasprun": "ffdiff.data.vasp",
    "reference_structures": "ffdiff.data.reference",
    "sha256sum": "ffdiff.data.archive",
    "split": "ffdiff.data.dataset",
    "write_cubuk": "ffdiff.data.cubuk",
}

__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = attach(__name__, _PUBLIC)
