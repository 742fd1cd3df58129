"""Property fits: pure loss builders, a parameter-vector view, and scipy drivers."""

from ffdiff.fitting.objectives import (
    frobenius,
    init_elastic_loss,
    init_force_constant_loss,
    init_weighted_loss,
)
from ffdiff.fitting.optimize import METHODS, FitResult, compile_objective, loss_grid, run_minimize
from ffdiff.fitting.parameters import ParameterSpace

__all__ = [
    "METHODS",
    "FitResult",
    "ParameterSpace",
    "compile_objective",
    "frobenius",
    "init_elastic_loss",
    "init_force_constant_loss",
    "init_weighted_loss",
    "loss_grid",
    "run_minimize",
]
