"""Readers for reference data (VASP, phonopy, the Cubuk et al. dataset, ASE formats) into ASE
``Atoms`` with their DFT results, and the energy/force dataset format of the GNN stages (names
load on first use)."""

from ffdiff._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    "ffdiff.data.archive": ("download_sdist", "extract_members", "fetch_url", "redact_url", "sha256sum"),
    "ffdiff.data.cubuk": ("read_cubuk", "write_cubuk"),
    "ffdiff.data.dataset": ("Dataset", "split"),
    "ffdiff.data.elastic": ("cubic_reference",),
    "ffdiff.data.phonopy": ("read_displacements",),
    "ffdiff.data.reference": ("reference_structures",),
    "ffdiff.data.trajectories": ("read_frames",),
    "ffdiff.data.vasp": ("read_vasprun",),
})
