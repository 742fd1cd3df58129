"""Property fits: pure loss builders, a parameter-vector view, scipy drivers, and the whole fit of a
potential to reference data, :func:`fit_potential` (names load on first use)."""

from ffdiff._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    "ffdiff.fitting.objectives": ("frobenius", "init_elastic_loss", "init_force_constant_loss", "init_weighted_loss"),
    "ffdiff.fitting.optimize": ("METHODS", "FitResult", "compile_objective", "loss_grid", "run_minimize"),
    "ffdiff.fitting.parameters": ("ParameterSpace",),
    "ffdiff.fitting.potential_fit": ("Reference", "fit_potential"),
})
