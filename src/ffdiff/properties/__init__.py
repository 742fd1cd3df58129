"""Properties of a configuration, differentiable in the potential parameters (names load on first
use)."""

from ffdiff._lazy import attach

_PUBLIC = {
    "energy_forces_stress": "ffdiff.properties.static",
    "forces": "ffdiff.properties.static",
    "init_state": "ffdiff.properties.md",
    "rdf_histogram": "ffdiff.properties.rdf",
    "rdf_mse": "ffdiff.properties.rdf",
    "run_md": "ffdiff.properties.md",
    "simulate": "ffdiff.properties.md",
    "smooth_rdf": "ffdiff.properties.rdf",
    "stress": "ffdiff.properties.static",
    "to_voigt": "ffdiff.properties.static",
}

__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = attach(__name__, _PUBLIC)
