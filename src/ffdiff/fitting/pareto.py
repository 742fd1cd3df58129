"""The trade-off between the elastic and the force-constant loss: a Pareto front traced by gradients.

The two losses are the parts of the ``multi`` objective (:func:`ffdiff.fitting.potential_fit.build_loss`):
L_e, the Frobenius misfit of the relaxed stiffness (GPa), and L_f, that of the force constants (eV/Å²).

**Normalisation (utopia/nadir).** First each loss is minimised alone (BFGS to ``gtol`` 1e-7 in Hessian coordinates, the
front's end points). The utopia u_k is loss k at its own optimum, the nadir n_k loss k at the other
loss's optimum; the front is traced in f̂_k = (L_k − u_k) / (n_k − u_k), which runs from 0 to 1 on
both axes whatever the losses' units, so that weights spread evenly over angle sample the front
about evenly (raw weights would crowd the points at the end of the larger loss).

**Scalarisations**, with weights w = (cos t, sin t), t = 0 … π/2 in ``points`` equal steps:

- ``weighted``: minimise w_e f̂_e + w_f f̂_f (BFGS, exact gradient). It reaches only the convex
  part of the front;
- ``chebyshev``: augmented weighted Tchebycheff, minimise max_k w_k (f̂_k + δ) + ρ Σ_k w_k f̂_k
  (δ = 0.01 puts the reference point just below the utopia, ρ = 0.001), solved smoothly as
  min s + ρ Σ w_k f̂_k subject to s ≥ w_k (f̂_k + δ) (SLSQP, exact gradients). Its minimiser lies
  where the ray f̂_e + δ : f̂_f + δ = sin t : cos t meets the front: non-convex parts too.

Each point starts from the previous one's optimum (continuation); t = 0 and π/2 are the single-loss
optima. The paper's weights (1, 1) on the raw losses (the ``multi`` fit) are a weighted-sum point
with w ∝ (n_e − u_e, n_f − u_f), computed too and placed on the front by its angle. Reported weights
``w_elastic``, ``w_fc`` are those on the raw losses, scaled to a largest weight of 1.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence

import jax.numpy as jnp
import numpy as np

from ffdiff.fitting.optimize import Objective, compile_objective, run_minimize
from ffdiff.fitting.parameters import ParameterSpace
from ffdiff.fitting.geometry import check_range
from ffdiff.fitting.potential_fit import Reference, build_loss, crystal_loss, fit_setup

logger = logging.getLogger(__name__)

SCALARIZATIONS = ("weighted", "chebyshev")
PARTS = ("elastic", "force_constants")  # the order of every pair of losses and weights here
# BFGS in Hessian coordinates, where the loss is L* + |z|²/2 near its optimum: |z| below ~sqrt(2 ε L*)
# (1e-7 for L* ≈ 30, ε the float64 epsilon) changes no bit of the loss, so a tighter gtol ends in
# "precision loss"; at 1e-7 the optima agree to ~1e-9 relative across starts and runs.
END_OPTIONS = {"gtol": 1e-7}
DELTA, RHO = 0.01, 1e-3  # Tchebycheff reference point below the utopia; augmentation


class Normalisation:
    """f̂ = (L − utopia) / (nadir − utopia) of the two losses (`[2]` arrays, order :data:`PARTS`)."""

    def __init__(self, utopia, nadir):
        self.utopia, self.nadir = np.asarray(utopia, dtype=float), np.asarray(nadir, dtype=float)
        if not np.all(self.nadir > self.utopia):
            raise RuntimeError(f"no trade-off: nadir {self.nadir.tolist()} not above utopia {self.utopia.tolist()}")

    @property
    def span(self) -> np.ndarray:
        return self.nadir - self.utopia

    def __call__(self, losses) -> np.ndarray:
        return (np.asarray(losses, dtype=float) - self.utopia) / self.span

    def raw_weights(self, weights) -> np.ndarray:
        """Weights on the raw losses equivalent to ``weights`` on the normalised ones, largest 1."""
        raw = np.asarray(weights, dtype=float) / self.span
        return raw / raw.max()


class Evaluator:
    """The losses ``names`` (default :data:`PARTS`) and their gradients at θ, through the parts' compiled
    programs; counts the distinct θ evaluated (one evaluation = every loss with its gradient)."""

    def __init__(self, parts: Mapping[str, Objective], names: Sequence[str] = PARTS):
        self.parts, self.names, self.n_eval, self._cache = parts, tuple(names), 0, {}

    def __call__(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """(`[k]` losses, `[k, n_fitted]` gradients), k = len(names)."""
        theta = np.asarray(theta, dtype=np.float64)
        key = theta.tobytes()
        if key not in self._cache:
            self.n_eval += 1
            out = [self.parts[k].value_and_grad(theta) for k in self.names]
            self._cache = {key: (np.array([float(v) for v, _ in out]), np.stack([np.asarray(g) for _, g in out]))}
        return self._cache[key]


def _weighted(evaluate: Evaluator, weights: np.ndarray, theta):
    losses, grads = evaluate(theta)
    return float(weights @ losses), None, weights @ grads


def minimise_weighted(evaluate: Evaluator, space: ParameterSpace, start, weights, *, maxiter: int,
                      options: dict | None = None) -> dict:
    """BFGS on Σ_k weights_k L_k (raw losses) from ``start``, restarted once where it stopped if it
    did not converge (a line search that can no longer decrease the loss to ``gtol``, usually
    already at the optimum, whose restart then converges at once); the outcome as a point record."""
    objective = Objective(functools.partial(_weighted, evaluate, np.asarray(weights, dtype=float)))
    runs = [run_minimize(objective, space, start, "BFGS", maxiter=maxiter, options=options)]
    if not runs[0].converged:  # polish: BFGS restarted in Hessian coordinates of where it stopped
        runs.append(run_minimize(objective, space, runs[0].x, "BFGS", maxiter=maxiter, options=options))
    return {"x": runs[-1].x, "message": " / ".join(r.message for r in runs), "converged": runs[-1].converged,
            "n_fev": sum(r.n_fev for r in runs), "n_iter": sum(r.n_iter for r in runs)}


def minimise_chebyshev(evaluate: Evaluator, space: ParameterSpace, norm: Normalisation, start, weights, *,
                       maxiter: int, ftol: float = 1e-12) -> dict:
    """Augmented weighted Tchebycheff (module docstring) by SLSQP over (θ / scale, s)."""
    from scipy.optimize import minimize

    weights, scale = np.asarray(weights, dtype=float), space.scale
    before = evaluate.n_eval

    def normalised(y):  # -> (f̂ + δ `[2]`, ∂f̂/∂y `[2, n]`)
        losses, grads = evaluate(y[:-1] * scale)
        return norm(losses) + DELTA, grads * scale / norm.span[:, None]

    def fun(y):
        f, jac = normalised(y)
        return y[-1] + RHO * weights @ f, np.append(RHO * weights @ jac, 1.0)

    def constraint(y):
        return y[-1] - weights * normalised(y)[0]

    def constraint_jac(y):
        return np.hstack([-weights[:, None] * normalised(y)[1], np.ones((2, 1))])

    results = []
    z = np.asarray(start, dtype=float) / scale
    while len(results) < 2 and not (results and results[-1].success):  # restarted once, as BFGS above
        y0 = np.append(z, np.max(weights * normalised(np.append(z, 0.0))[0]))
        results.append(minimize(fun, y0, jac=True, method="SLSQP",
                                constraints=[{"type": "ineq", "fun": constraint, "jac": constraint_jac}],
                                options={"maxiter": maxiter, "ftol": ftol}))
        z = results[-1].x[:-1]
    return {"x": (z * scale).tolist(), "message": " / ".join(str(r.message) for r in results),
            "converged": bool(results[-1].success), "n_fev": evaluate.n_eval - before,
            "n_iter": sum(int(r.nit) for r in results)}


def pareto_front(parts: Mapping[str, Objective], space: ParameterSpace, *, points: int = 15,
                 scalarization: str = "weighted", maxiter: int = 200) -> dict:
    """The front of the two losses ``parts`` (``{"elastic", "force_constants"}``: compiled objectives
    over ``space``'s fitted vector) by continuation (module docstring).

    Returns:
        ``{"scalarization", "names", "utopia", "nadir", "points": [...], "paper": index,
        "monotone", "violations", "n_eval"}``; each point holds ``t``, the normalised ``weights``,
        raw ``w_elastic``/``w_fc``, ``elastic_loss``, ``fc_loss``, ``x`` and ``params`` (fitted),
        the optimizer's ``message``, ``converged``, ``n_fev``, ``n_iter``, and flags ``end``,
        ``paper``, ``dominated``.
    """
    if scalarization not in SCALARIZATIONS:
        raise ValueError(f"unknown scalarization {scalarization!r}; expected one of {SCALARIZATIONS}")
    if points < 3:
        raise ValueError(f"a front needs at least 3 points (both ends and one between), got {points}")
    evaluate = Evaluator(parts)
    start = space.pack(space.base)
    ends = [minimise_weighted(evaluate, space, start, w, maxiter=maxiter, options=END_OPTIONS)
            for w in np.eye(2)]
    losses = [evaluate(end["x"])[0] for end in ends]
    norm = Normalisation([losses[0][0], losses[1][1]], [losses[1][0], losses[0][1]])
    angles = np.linspace(0.0, np.pi / 2, points)
    front = [_point(evaluate, norm, space, ends[0], angles[0])]
    for t in angles[1:-1]:
        weights = np.array([np.cos(t), np.sin(t)])
        if scalarization == "weighted":
            run = minimise_weighted(evaluate, space, front[-1]["x"], weights / norm.span, maxiter=maxiter,
                                    options=END_OPTIONS)
        else:
            run = minimise_chebyshev(evaluate, space, norm, front[-1]["x"], weights, maxiter=maxiter)
        front.append(_point(evaluate, norm, space, run, t, scalarization))
    front.append(_point(evaluate, norm, space, ends[1], angles[-1]))
    paper = _paper_point(evaluate, space, norm, front, maxiter, scalarization)
    front = sorted([*front, paper], key=lambda p: p["t"])
    flag_dominated(front)
    violations = monotone_violations(front)
    if violations:
        logger.warning("the front is not monotone between points %s", [v["between"] for v in violations])
    return {"scalarization": scalarization, "names": list(space.names), "utopia": norm.utopia.tolist(),
            "nadir": norm.nadir.tolist(), "points": front, "paper": front.index(paper),
            "monotone": not violations, "violations": violations, "n_eval": evaluate.n_eval}


def _point(evaluate: Evaluator, norm: Normalisation, space: ParameterSpace, run: dict, t: float,
           scalarization: str = "weighted") -> dict:
    """A point of the front: its weights (normalised: angle ``t``) and the run that minimised them.
    Points are ordered along the front by ``t``; a Chebyshev front orders them by the angle of the
    ray through the point (equal to ``t`` at the optimum, module docstring), the paper's point too."""
    losses = evaluate(run["x"])[0]
    weights = np.array([np.cos(t), np.sin(t)])
    weights[np.abs(weights) < 1e-15] = 0.0  # cos(π/2) = 6e-17: the end points' weights are 0
    w_elastic, w_fc = norm.raw_weights(weights)
    if scalarization == "chebyshev":
        f = norm(losses) + DELTA
        t = float(np.arctan2(f[0], f[1]))
    return {"t": float(t), "weights": weights.tolist(), "w_elastic": float(w_elastic), "w_fc": float(w_fc),
            "elastic_loss": float(losses[0]), "fc_loss": float(losses[1]), "x": list(map(float, run["x"])),
            "params": dict(zip(space.names, map(float, run["x"]), strict=True)), "message": run["message"],
            "converged": run["converged"], "n_fev": run["n_fev"], "n_iter": run["n_iter"],
            "end": t in (0.0, np.pi / 2), "paper": False, "dominated": False}


def _paper_point(evaluate: Evaluator, space: ParameterSpace, norm: Normalisation, front: list[dict],
                 maxiter: int, scalarization: str) -> dict:
    """The weights (1, 1) on the raw losses, from the front point best under them."""
    start = min(front, key=lambda p: p["elastic_loss"] + p["fc_loss"])["x"]
    run = minimise_weighted(evaluate, space, start, np.ones(2), maxiter=maxiter, options=END_OPTIONS)
    t = float(np.arctan2(norm.span[1], norm.span[0]))  # normalised weights ∝ the spans
    return {**_point(evaluate, norm, space, run, t, scalarization), "paper": True}


def flag_dominated(front: list[dict], rtol: float = 1e-9, keys: Sequence[str] = ("elastic_loss", "fc_loss")) -> None:
    """Mark each point another point beats in one loss and matches or beats in the others (to ``rtol``)."""
    f = np.array([[p[k] for k in keys] for p in front])
    tol = rtol * np.abs(f).max(axis=0)
    for i, point in enumerate(front):
        point["dominated"] = bool(np.any(np.all(f <= f[i] + tol, axis=1) & np.any(f < f[i] - tol, axis=1)))


def monotone_violations(front: Sequence[dict], rtol: float = 1e-9) -> list[dict]:
    """Consecutive points (in ``t``) where the elastic loss falls or the force-constant loss rises by
    more than ``rtol`` × that loss's range over the front: an empty list for a proper front."""
    f = np.array([[p["elastic_loss"], p["fc_loss"]] for p in front])
    tol = rtol * np.ptp(f, axis=0)
    return [{"between": [i, i + 1], "elastic_loss": f[i:i + 2, 0].tolist(), "fc_loss": f[i:i + 2, 1].tolist()}
            for i in range(len(f) - 1) if f[i + 1, 0] < f[i, 0] - tol[0] or f[i + 1, 1] > f[i, 1] + tol[1]]


def pareto_setup(name: str, reference: Reference, *, lattice_constant: float, fitted: Sequence[str],
                 overrides: Mapping[str, float] | None = None):
    """(compiled ``{"elastic", "force_constants"}`` objectives, parameter space, geometry) of a
    potential: the parts of its ``multi`` loss, compiled as the fits compile them."""
    geometry, space = fit_setup(name, fitted, reference.phonon, lattice_constant, overrides)
    loss = build_loss("multi", geometry, reference, space.base, dict.fromkeys(PARTS, 1.0))
    return {k: compile_objective(part, space) for k, _, part in loss.parts}, space, geometry


def pareto_potential(name: str, reference: Reference, *, lattice_constant: float, fitted: Sequence[str],
                     overrides: Mapping[str, float] | None = None, points: int = 15,
                     scalarization: str = "weighted", maxiter: int = 200) -> dict:
    """:func:`pareto_front` of one potential's elastic and force-constant losses against ``reference``
    (both targets needed), from its original parameters (with ``overrides``). With scalar targets
    (``reference.crystal``) every point also gets ``crystal_loss``, their dimensionless loss
    (:func:`ffdiff.fitting.objectives.init_crystal_loss`): what the third target pays along the front."""
    parts, space, geometry = pareto_setup(name, reference, lattice_constant=lattice_constant, fitted=fitted,
                                          overrides=overrides)
    front = pareto_front(parts, space, points=points, scalarization=scalarization, maxiter=maxiter)
    third = compile_objective(crystal_loss(geometry, reference), space) if reference.crystal else None
    for point in front["points"]:
        check_range(geometry, space.base, space.unpack(jnp.asarray(point["x"])))
        if third is not None:
            point["crystal_loss"] = float(third.value(np.asarray(point["x"])))
    return {"potential": name, "fitted": list(fitted),
            "original": {k: float(v) for k, v in space.base.items()}, **front}
