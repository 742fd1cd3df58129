"""Property fits: pure loss builders, a parameter-vector view, and scipy drivers (names load on
first use)."""

from ffdiff._lazy import attach

_PUBLIC = {
    "METHODS": "ffdiff.fitting.optimize",
    "FitResult": "ffdiff.fitting.optimize",
    "ParameterSpace": "ffdiff.fitting.parameters",
    "compile_objective": "ffdiff.fitting.optimize",
    "frobenius": "ffdiff.fitting.objectives",
    "init_elastic_loss": "ffdiff.fitting.objectives",
    "init_force_constant_loss": "ffdiff.fitting.objectives",
    "init_weighted_loss": "ffdiff.fitting.objectives",
    "loss_grid": "ffdiff.fitting.optimize",
    "run_minimize": "ffdiff.fitting.optimize",
}

__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = attach(__name__, _PUBLIC)
