"""The trade-off among three losses: elastic constants, force constants and the scalar targets of the
zero-pressure crystal (:mod:`ffdiff.fitting.crystal`), traced by gradients over a lattice of weights.

As :mod:`ffdiff.fitting.pareto` does for two losses: each loss is first minimised alone (the corners);
the payoff table of the three corners gives the utopia u_k (loss k at its own optimum) and the nadir
n_k (the largest loss k among the corners), and the surface is traced in f̂_k = (L_k − u_k) / (n_k − u_k).
Normalised weights w run over the simplex lattice {(i, j, d − i − j) / d}, (d + 1)(d + 2)/2 points for
``divisions`` d (15 for d = 4), each minimised by BFGS on Σ_k w_k f̂_k from the optimum of the nearest
point already done (continuation; the lattice is walked row by row, alternating direction). A
weighted sum reaches the convex part of the surface only; every point is checked for dominance
against the others. The paper's weights (1, 1, 0) on the raw losses (its ``multi`` fit, no scalar
target) are a point of the surface's elastic/force-constant edge, computed and marked too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from ffdiff.fitting.geometry import check_range
from ffdiff.fitting.optimize import Objective, compile_objective
from ffdiff.fitting.parameters import ParameterSpace
from ffdiff.fitting.pareto import END_OPTIONS, Evaluator, Normalisation, flag_dominated, minimise_weighted
from ffdiff.fitting.potential_fit import Reference, build_loss, fit_setup

logger = logging.getLogger(__name__)

NAMES = ("elastic", "force_constants", "crystal")  # the order of every triple of losses and weights here
COLUMNS = {"elastic": "elastic_loss", "force_constants": "fc_loss", "crystal": "crystal_loss"}
WEIGHT_COLUMNS = {"elastic": "w_elastic", "force_constants": "w_fc", "crystal": "w_crystal"}


def simplex_lattice(divisions: int) -> np.ndarray:
    """`[(d + 1)(d + 2) / 2, 3]` weights (i, j, d − i − j) / d, rows of j alternating in direction so
    that consecutive points are neighbours (the continuation's path)."""
    if divisions < 1:
        raise ValueError(f"expected at least 1 division of the weight simplex, got {divisions}")
    rows = []
    for i in range(divisions, -1, -1):
        js = range(divisions - i + 1)
        rows += [(i, j, divisions - i - j) for j in (js if (divisions - i) % 2 == 0 else reversed(js))]
    return np.array(rows, dtype=float) / divisions


def pareto_surface(parts: Mapping[str, Objective], space: ParameterSpace, *, divisions: int = 4,
                   maxiter: int = 200) -> dict:
    """The surface of the three losses ``parts`` (``NAMES``: compiled objectives over ``space``'s fitted
    vector) by weighted sums over :func:`simplex_lattice` (module docstring).

    Returns:
        ``{"names", "utopia", "nadir", "divisions", "points": [...], "paper": index, "n_eval"}``; each
        point holds the normalised ``weights``, the raw ones (``w_elastic``, ``w_fc``, ``w_crystal``,
        largest 1), the three losses (``elastic_loss``, ``fc_loss``, ``crystal_loss``), ``x`` and
        ``params`` (fitted), the optimizer's ``message``, ``converged``, ``n_fev``, ``n_iter``, and
        flags ``corner``, ``paper``, ``dominated``.
    """
    evaluate = Evaluator(parts, NAMES)
    start = space.pack(space.base)
    corners = [minimise_weighted(evaluate, space, start, w, maxiter=maxiter, options=END_OPTIONS)
               for w in np.eye(3)]
    payoff = np.array([evaluate(c["x"])[0] for c in corners])  # row: corner, column: loss
    norm = Normalisation(np.diag(payoff), payoff.max(axis=0))
    points = []
    for weights in simplex_lattice(divisions):
        corner = np.flatnonzero(weights == 1.0)
        if corner.size:
            run = corners[int(corner[0])]
        else:
            nearest = min(points, key=lambda p: float(np.sum((np.asarray(p["weights"]) - weights) ** 2)))
            run = minimise_weighted(evaluate, space, nearest["x"], weights / norm.span, maxiter=maxiter,
                                    options=END_OPTIONS)
        points.append(_point(evaluate, norm, space, run, weights, corner=bool(corner.size)))
    best = min(points, key=lambda p: p["elastic_loss"] + p["fc_loss"])
    paper = minimise_weighted(evaluate, space, best["x"], np.array([1.0, 1.0, 0.0]), maxiter=maxiter,
                              options=END_OPTIONS)
    paper_weights = np.array([1.0, 1.0, 0.0]) * norm.span
    points.append({**_point(evaluate, norm, space, paper, paper_weights / paper_weights.sum()), "paper": True})
    flag_dominated(points, keys=tuple(COLUMNS.values()))
    logger.info("surface of %d points, %d dominated, %d evaluations", len(points),
                sum(p["dominated"] for p in points), evaluate.n_eval)
    return {"names": list(space.names), "utopia": norm.utopia.tolist(), "nadir": norm.nadir.tolist(),
            "divisions": divisions, "points": points, "paper": len(points) - 1, "n_eval": evaluate.n_eval}


def _point(evaluate: Evaluator, norm: Normalisation, space: ParameterSpace, run: dict, weights,
           corner: bool = False) -> dict:
    losses = evaluate(run["x"])[0]
    raw = norm.raw_weights(weights)
    return {"weights": [float(w) for w in weights], **{WEIGHT_COLUMNS[k]: float(w) for k, w in zip(NAMES, raw)},
            **{COLUMNS[k]: float(v) for k, v in zip(NAMES, losses)}, "x": list(map(float, run["x"])),
            "params": dict(zip(space.names, map(float, run["x"]), strict=True)), "message": run["message"],
            "converged": run["converged"], "n_fev": run["n_fev"], "n_iter": run["n_iter"], "corner": corner,
            "paper": False, "dominated": False}


def surface_potential(name: str, reference: Reference, *, lattice_constant: float, fitted, overrides=None,
                      divisions: int = 4, maxiter: int = 200) -> dict:
    """:func:`pareto_surface` of one potential's elastic, force-constant and scalar-target losses against
    ``reference`` (all three targets needed), from its original parameters (with ``overrides``), the
    structures of the paper's fits (fixed geometry)."""
    if not reference.crystal:
        raise ValueError("a three-loss surface needs scalar targets (reference.crystal, the config's fits.targets)")
    geometry, space = fit_setup(name, fitted, reference.phonon, lattice_constant, overrides)
    loss = build_loss("multi", geometry, reference, space.base, dict.fromkeys(NAMES, 1.0))
    parts = {k: compile_objective(part, space) for k, _, part in loss.parts}
    surface = pareto_surface(parts, space, divisions=divisions, maxiter=maxiter)
    for point in surface["points"]:
        check_range(geometry, space.base, space.unpack(jnp.asarray(point["x"])))
    return {"potential": name, "fitted": list(fitted), **surface}
