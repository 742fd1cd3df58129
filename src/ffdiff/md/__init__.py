"""Molecular dynamics with JAX, differentiable in the potential parameters (names load on first use).

:mod:`~ffdiff.md.settings` holds :class:`MDSettings`, the settings of a run for this engine and the ASE
teacher alike; :mod:`~ffdiff.md.integrators` the pure-JAX state and steps (velocity Verlet, Nosé–Hoover
chains); :mod:`~ffdiff.md.driver` trajectories (:func:`simulate`) and the host driver of long runs
(:func:`run_md`); :mod:`~ffdiff.md.lists` the neighbour lists of those runs.
"""

from ffdiff._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    "ffdiff.md.driver": ("run_md", "simulate"),
    "ffdiff.md.integrators": ("MDState", "conserved_energy", "init_state", "kinetic_energy", "nve_step", "nvt_step",
                              "temperature"),
    "ffdiff.md.lists": ("shared_list",),
    "ffdiff.md.settings": ("MDSettings",),
})
