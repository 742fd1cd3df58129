"""Properties of a configuration, differentiable in the potential parameters."""

from ffdiff.properties.static import energy_forces_stress, forces, stress, to_voigt

__all__ = ["energy_forces_stress", "forces", "stress", "to_voigt"]
