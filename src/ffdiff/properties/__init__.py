"""Properties of a configuration, differentiable in the potential parameters (names load on first
use)."""

from ffdiff._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    "ffdiff.properties.elastic": ("elastic_constants",),
    "ffdiff.properties.equilibrium": ("equilibrium_lattice_constant", "relaxed_elastic_constants"),
    # equilibrium.equilibrium (the dict) is not attached: the package's attribute of that name is the module
    "ffdiff.properties.phonons": ("force_constants",),
    "ffdiff.properties.rdf": ("rdf_histogram", "rdf_mse", "smooth_rdf"),
    "ffdiff.properties.static": ("energy_forces_stress", "forces", "stress", "to_voigt"),
})
