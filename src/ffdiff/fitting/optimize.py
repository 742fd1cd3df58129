"""scipy minimisers driven by exact JAX gradients, with a per-iteration record."""

from __future__ import annotations

import dataclasses
import logging

import jax
import numpy as np
from scipy.optimize import OptimizeResult, minimize

from ffdiff.fitting.objectives import LossFn
from ffdiff.fitting.parameters import ParameterSpace

logger = logging.getLogger(__name__)

METHODS = ("BFGS", "CG", "Nelder-Mead")
# Tighter than scipy's defaults (gtol 1e-5; xatol, fatol 1e-4), as losses are O(1–100).
DEFAULT_OPTIONS = {
    "BFGS": {"gtol": 1e-6},
    "CG": {"gtol": 1e-6},
    "Nelder-Mead": {"xatol": 1e-8, "fatol": 1e-10},
}


@dataclasses.dataclass
class FitResult:
    """Outcome of one minimisation.

    Attributes:
        method: scipy method name.
        names: fitted parameter names.
        x0: `[n_fitted]` starting values.
        x: `[n_fitted]` final values.
        loss: final loss.
        n_iter: iterations.
        n_fev: loss evaluations requested by the optimizer.
        converged: scipy's success flag.
        message: scipy's message.
        history: per iteration (0 = start): parameters, loss, norm of ∂loss/∂θ, cumulative n_fev.
    """

    method: str
    names: tuple[str, ...]
    x0: list[float]
    x: list[float]
    loss: float
    n_iter: int
    n_fev: int
    converged: bool
    message: str
    history: list[dict]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Objective:
    """Jitted θ -> loss and θ -> (loss, ∂loss/∂θ) over the fitted vector."""

    value: object
    value_and_grad: object


def compile_objective(loss_fn: LossFn, space: ParameterSpace) -> Objective:
    """Compile the loss over the scaled vector z = θ / ``space.scale``, with and without its gradient."""
    scale = jax.numpy.asarray(space.scale)
    fn = lambda z: loss_fn(space.unpack(z * scale))  # noqa: E731
    return Objective(jax.jit(fn), jax.jit(jax.value_and_grad(fn)))


def run_minimize(objective: Objective, space: ParameterSpace, start, method: str, *, maxiter: int = 200,
                 options: dict | None = None) -> FitResult:
    """Minimise from ``start`` with a scipy method; gradient methods get the exact JAX gradient."""
    if method not in METHODS:
        raise ValueError(f"unknown optimizer {method!r}; expected one of {METHODS}")
    scale = space.scale
    counter = {"fev": 0}
    cache: dict[bytes, tuple[float, np.ndarray]] = {}

    def evaluate(theta):
        theta = np.asarray(theta, dtype=np.float64)
        key = theta.tobytes()
        if key not in cache:  # the accepted point was usually just evaluated by the line search
            value, grad = objective.value_and_grad(theta)
            cache[key] = float(value), np.asarray(grad)
        return cache[key]

    def fun(theta):
        counter["fev"] += 1
        if method == "Nelder-Mead":  # gradient-free: never pay for a gradient here
            return float(objective.value(np.asarray(theta, dtype=np.float64)))
        return evaluate(theta)

    history: list[dict] = []

    def record(z, iteration):
        value, grad = evaluate(z)
        theta = np.asarray(z) * scale
        history.append({"iteration": iteration, **dict(zip(space.names, map(float, theta), strict=True)),
                        "loss": value, "grad_norm": float(np.linalg.norm(grad / scale)), "n_fev": counter["fev"]})

    def callback(intermediate_result: OptimizeResult):
        record(intermediate_result.x, len(history))

    start = np.asarray(start, dtype=np.float64)
    record(start / scale, 0)
    result = minimize(fun, start / scale, jac=method != "Nelder-Mead", method=method, callback=callback,
                      options={"maxiter": maxiter, **DEFAULT_OPTIONS[method], **(options or {})})
    logger.info("%s from %s: loss %.6g after %d iterations, %d evaluations (%s)", method, start.tolist(),
                result.fun, result.nit, counter["fev"], result.message)
    return FitResult(method=method, names=space.names, x0=start.tolist(), x=(np.asarray(result.x) * scale).tolist(),
                     loss=float(result.fun), n_iter=int(result.nit), n_fev=counter["fev"],
                     converged=bool(result.success), message=str(result.message), history=history)


def loss_grid(loss_fn: LossFn, space: ParameterSpace, axis0, axis1, batch_size: int = 64) -> np.ndarray:
    """`[len(axis0), len(axis1)]` loss over a grid of the two fitted parameters (vectorised in batches)."""
    if len(space.names) != 2:
        raise ValueError(f"a landscape needs exactly two fitted parameters, got {space.names}")
    g0, g1 = np.meshgrid(np.asarray(axis0, float), np.asarray(axis1, float), indexing="ij")
    thetas = np.stack([g0.ravel(), g1.ravel()], axis=1)
    values = jax.jit(lambda t: jax.lax.map(lambda th: loss_fn(space.unpack(th)), t, batch_size=batch_size))
    return np.asarray(values(thetas)).reshape(g0.shape)
