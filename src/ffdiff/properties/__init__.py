"""Properties of a configuration, differentiable in the potential parameters."""

from ffdiff.properties.md import init_state, run_md, simulate
from ffdiff.properties.rdf import rdf_histogram, rdf_mse, smooth_rdf
from ffdiff.properties.static import energy_forces_stress, forces, stress, to_voigt

__all__ = ["energy_forces_stress", "forces", "init_state", "rdf_histogram", "rdf_mse", "run_md", "simulate",
           "smooth_rdf", "stress", "to_voigt"]
