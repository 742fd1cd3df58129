"""scipy minimisers driven by exact JAX gradients, with a per-iteration record."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
import numpy as np

from ffdiff.runtime.programs import Program, stable_name
from ffdiff.fitting.objectives import Loss, as_loss
from ffdiff.fitting.parameters import ParameterSpace, unpack
from ffdiff.typing import Params

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult

logger = logging.getLogger(__name__)

METHODS = ("BFGS", "CG", "Nelder-Mead")
# Tighter than scipy's defaults (gtol 1e-5; xatol, fatol 1e-4), as losses are O(1–100).
DEFAULT_OPTIONS = {
    "BFGS": {"gtol": 1e-5},
    "CG": {"gtol": 1e-5, "c2": 0.1},
    "Nelder-Mead": {"xatol": 1e-8, "fatol": 1e-10},
}
# XLA's CPU fusion emitters take twice as long to compile a loss's value and gradient (a Hessian
# inside a gradient: 3.3 s against 1.7 s for EDIP's elastic loss, one core) as the older emitters,
# for no gain at a millisecond per call; the results agree to the last digit printed.
COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


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
    """θ -> (loss, aux, ∂loss/∂θ) over the fitted vector, compiled (a weighted sum: its parts'
    compiled programs, summed on the host, with aux ``{part: aux}``); ``aux`` is the property the
    loss compared (see :class:`ffdiff.fitting.objectives.Loss`).

    The same programs serve value-only optimizers too: an evaluation of these losses costs about a
    millisecond with or without the gradient (dispatch-bound), while compiling a value-only
    program would cost seconds per job.
    """

    evaluate: Callable

    def value_and_grad(self, theta) -> tuple[float, np.ndarray]:
        value, _, grad = self.evaluate(theta)
        return value, grad

    def value(self, theta) -> float:
        return float(self.evaluate(theta)[0])


def compile_objective(loss: Loss | Callable, space: ParameterSpace) -> Objective:
    """Compile the loss of the fitted vector θ and its gradient (once, reused by every start and
    optimizer: coordinates change outside the compiled function).

    The fixed parameters and the loss's data are arguments of the compiled function, not constants
    inside it: a rerun with other targets, weights, structures or fixed parameter values of the
    same shapes compiles nothing new (a persistent-cache hit), and so does a later job on the same
    loss (the loss landscape after the fit). Losses that share their ``fn`` (every elastic loss of
    one potential, whatever its convention, and so on) share one traced program in the process. A
    plain ``loss(params)`` works too.

    A weighted sum of losses is compiled part by part and summed on the host: its parts are then the
    very programs of the fits to each part alone, which the persistent cache already holds when those
    ran first (an XLA compilation of the sum costs as much as the parts' together, 10-15 s per
    potential), for one more dispatch, about a millisecond, per evaluation.
    """
    loss = as_loss(loss)
    if loss.parts:
        parts = {name: compile_objective(part, space) for name, _, part in loss.parts}
        return Objective(functools.partial(_weighted_sum, loss, parts))
    program = _program(loss.fn, space.names)
    return Objective(functools.partial(_evaluate, program, _as_arguments(space.base), loss.data))


@functools.cache
def _program(fn: Callable, names: tuple[str, ...]) -> Program:
    """(θ, base, data) -> ((loss, aux), ∂loss/∂θ), compiled; one per loss function and fitted names.
    The losses of ffdiff's own fits are kept traced on disk when :mod:`ffdiff.runtime.programs` is on."""
    name = stable_name(fn)
    return Program(jax.value_and_grad(_theta_fn(fn, names), has_aux=True),
                   None if name is None else f"value_and_grad of {name} over {names}", COMPILER_OPTIONS)


def _evaluate(program, base, data, theta):
    (value, aux), grad = program(theta, base, data)
    return value, aux, grad


def evaluate_at(loss: Loss, space: ParameterSpace, params: Params) -> tuple[float, object]:
    """(value, aux as numpy arrays) of ``loss`` at full parameters ``params`` (the fitted ones and
    the fixed ones, which may differ from ``space.base``), through the program that
    :func:`compile_objective` compiles for ``loss`` and ``space``."""
    (value, aux), _ = _program(loss.fn, space.names)(space.pack(params), _as_arguments(params), loss.data)
    return float(value), jax.tree.map(np.asarray, aux)


def _as_arguments(params: Params) -> Params:
    """Parameters as arrays: a Python float and a JAX scalar would give two signatures, two compilations."""
    return jax.tree.map(np.asarray, params)


def _weighted_sum(loss: Loss, parts: dict[str, Objective], theta) -> tuple[float, dict, np.ndarray]:
    results = {name: objective.evaluate(theta) for name, objective in parts.items()}
    return (loss.total({name: float(value) for name, (value, _, _) in results.items()}),
            {name: aux for name, (_, aux, _) in results.items()},
            loss.total({name: np.asarray(grad) for name, (_, _, grad) in results.items()}))


def theta_loss(loss: Loss, space: ParameterSpace):
    """``(θ, base, data) -> (loss, aux)``: the loss of the fitted vector with everything else as
    arguments."""
    return _theta_fn(loss.fn, space.names)


def _theta_fn(fn: Callable, names: tuple[str, ...]):
    return lambda theta, base, data: fn(unpack(names, theta, base), data)


def free_objective(objective: Objective, space: ParameterSpace) -> Objective:
    """``objective`` as a function of the unconstrained vector u (:meth:`ParameterSpace.bounded`):
    (loss, aux, ∂loss/∂u), the gradient by the chain rule through the elementwise bijection,
    ∂loss/∂u_k = ∂loss/∂θ_k · dθ_k/du_k. The compiled program is ``objective``'s own."""
    return Objective(functools.partial(_free_evaluate, objective, space))


def _free_evaluate(objective: Objective, space: ParameterSpace, u):
    value, aux, grad = objective.evaluate(space.bounded(u))
    return value, aux, np.asarray(grad) * space.jacobian(u)


@dataclasses.dataclass(frozen=True)
class Coordinates:
    """The affine map x = origin + matrix @ z in which an optimizer works (x: the vector it minimises over)."""

    origin: np.ndarray
    matrix: np.ndarray

    def x(self, z) -> np.ndarray:
        return self.origin + self.matrix @ np.asarray(z, dtype=np.float64)

    def z(self, x) -> np.ndarray:
        return np.linalg.solve(self.matrix, np.asarray(x, dtype=np.float64) - self.origin)


def hessian_coordinates(objective: Objective, x, scale, *, step: float = 1e-4,
                        floor: float = 1e-6) -> tuple[Coordinates, int]:
    """Coordinates centred on ``x`` in which the loss's Hessian there is the identity.

    The Hessian comes from central differences of the exact gradient (2 n evaluations, no extra
    compilation), with steps ``step`` × ``scale``; eigenvalues are taken in magnitude and floored at
    ``floor`` × the largest, so the map stays regular away from a minimum. BFGS and CG then start
    with a near-Newton model and converge in a few iterations whatever the parameters' units.

    Returns:
        (coordinates, number of loss evaluations spent).
    """
    x = np.asarray(x, dtype=np.float64)
    h = step * np.asarray(scale, dtype=np.float64)
    grads = [[np.asarray(objective.value_and_grad(x + sign * h[i] * np.eye(len(x))[i])[1])
              for sign in (1.0, -1.0)] for i in range(len(x))]
    hess = np.stack([(plus - minus) / (2 * h[i]) for i, (plus, minus) in enumerate(grads)])
    values, vectors = np.linalg.eigh(0.5 * (hess + hess.T))
    magnitude = np.abs(values)
    magnitude = np.maximum(magnitude, floor * max(magnitude.max(), np.finfo(float).tiny))
    return Coordinates(x, vectors / np.sqrt(magnitude)), 2 * len(x)


def run_minimize(objective: Objective, space: ParameterSpace, start, method: str, *, maxiter: int = 200,
                 options: dict | None = None, precondition: bool = True) -> FitResult:
    """Minimise from the values ``start`` (`[n_fitted]` θ) with a scipy method; gradient methods get
    the exact JAX gradient.

    The optimizer works on the unconstrained vector u (:meth:`ParameterSpace.free`), so every
    parameter it tries lies inside ``space.bounds``: gradient methods in :func:`hessian_coordinates`
    of u at ``start`` (``precondition``), Nelder–Mead (whose initial simplex is 5 % of each
    coordinate) in u itself, which is θ / scale for unbounded parameters. The result and its history
    are in θ.
    """
    if method not in METHODS:
        raise ValueError(f"unknown optimizer {method!r}; expected one of {METHODS}")
    gradient_based = method != "Nelder-Mead"
    start = np.asarray(start, dtype=np.float64)
    free = free_objective(objective, space)
    u0 = space.free(start)
    counter = {"fev": 0}
    if gradient_based and precondition:
        coords, counter["fev"] = hessian_coordinates(free, u0, np.ones_like(u0))
    else:
        coords = Coordinates(np.zeros_like(u0), np.eye(len(u0)))
    cache: dict[bytes, tuple[float, np.ndarray, np.ndarray]] = {}

    def evaluate(z):  # -> (loss, ∂loss/∂u, ∂loss/∂θ)
        u = coords.x(z)
        key = u.tobytes()
        if key not in cache:  # the accepted point was usually just evaluated by the line search
            value, _, grad = objective.evaluate(space.bounded(u))
            value, grad = float(value), np.asarray(grad)
            if not (np.isfinite(value) and np.all(np.isfinite(grad))):
                # NaN: a relaxation inside the loss failed there (no minimum, beyond its list). inf
                # makes the line search step back, where NaN would end the run.
                value, grad = np.inf, np.zeros_like(grad)
            cache[key] = value, grad * space.jacobian(u), grad
        return cache[key]

    def fun(z):
        counter["fev"] += 1
        value, grad_u, _ = evaluate(z)
        if not gradient_based:
            return value
        return value, coords.matrix.T @ grad_u

    history: list[dict] = []

    def record(z, iteration):
        value, _, grad = evaluate(z)
        theta = space.bounded(coords.x(z))
        history.append({"iteration": iteration, **dict(zip(space.names, map(float, theta), strict=True)),
                        "loss": value, "grad_norm": float(np.linalg.norm(grad)), "n_fev": counter["fev"]})

    def callback(intermediate_result: OptimizeResult):
        record(intermediate_result.x, len(history))

    from scipy.optimize import minimize  # half a second to import: landscape and phonon jobs never need it

    z0 = coords.z(u0)
    record(z0, 0)
    result = minimize(fun, z0, jac=gradient_based, method=method, callback=callback,
                      options={"maxiter": maxiter, **DEFAULT_OPTIONS[method], **(options or {})})
    logger.info("%s from %s: loss %.6g after %d iterations, %d evaluations (%s)", method, start.tolist(),
                result.fun, result.nit, counter["fev"], result.message)
    return FitResult(method=method, names=space.names, x0=start.tolist(), x=space.bounded(coords.x(result.x)).tolist(),
                     loss=float(result.fun), n_iter=int(result.nit), n_fev=counter["fev"],
                     converged=bool(result.success), message=str(result.message), history=history)


def loss_grid(loss: Loss | Callable, space: ParameterSpace, axis0, axis1) -> np.ndarray:
    """`[len(axis0), len(axis1)]` loss over a grid of the two fitted parameters.

    Point by point through :func:`compile_objective`'s program, which the fit of the same loss has
    already compiled (persistent cache): a 41 × 41 grid costs ~2 s, less than compiling a batched one.
    """
    if len(space.names) != 2:
        raise ValueError(f"a landscape needs exactly two fitted parameters, got {space.names}")
    objective = compile_objective(loss, space)
    return np.array([[objective.value(np.array([t0, t1], dtype=np.float64)) for t1 in axis1] for t0 in axis0])
