"""Property fits: pure loss builders, a parameter-vector view, and scipy drivers (names load on
first use)."""

from ffdiff._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    "ffdiff.fitting.objectives": ("frobenius", "init_elastic_loss", "init_force_constant_loss", "init_weighted_loss"),
    "ffdiff.fitting.optimize": ("METHODS", "FitResult", "compile_objective", "loss_grid", "run_minimize"),
    "ffdiff.fitting.parameters": ("ParameterSpace",),
})
