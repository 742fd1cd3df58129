"""The gradient-free baseline of :mod:`ffdiff.fitting.pareto`: NSGA-II (pymoo) on the same two losses,
and the hypervolume indicator both fronts are compared by.

Hypervolumes are taken in the gradient front's normalised losses f̂ = (L − utopia) / (nadir − utopia)
(:class:`ffdiff.fitting.pareto.Normalisation`) against the reference point (1 + margin, 1 + margin):
the same frame for both methods, whatever the losses' units.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from ffdiff.fitting.optimize import Objective
from ffdiff.fitting.parameters import ParameterSpace
from ffdiff.fitting.pareto import Evaluator, Normalisation

HV_MARGIN = 0.1  # reference point 10 % of the normalised range beyond the nadir


def hypervolume(losses, norm: Normalisation, margin: float = HV_MARGIN) -> float:
    """Area (volume, for three losses) dominated by ``losses`` (`[m, k]`, raw, in ``norm``'s order) up to
    the reference point, in normalised units (1.21 would be the whole box of two losses for margin
    0.1; points beyond the reference point add nothing)."""
    from pymoo.indicators.hv import HV

    f = norm(np.atleast_2d(losses))
    f = f[np.all(np.isfinite(f), axis=1)]
    return float(HV(ref_point=np.full(f.shape[1], 1.0 + margin))(f)) if len(f) else 0.0


def box(space: ParameterSpace, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """(`[n_fitted]` lower, upper) bounds: the starting values × (1 ∓ ``spread``)."""
    theta0 = space.pack(space.base)
    lo, hi = theta0 * (1.0 - spread), theta0 * (1.0 + spread)
    return np.minimum(lo, hi), np.maximum(lo, hi)


def nsga2_front(parts: Mapping[str, Objective], space: ParameterSpace, norm: Normalisation, *, spread: float = 0.6,
                pop_size: int = 40, n_gen: int = 50, seed: int = 0) -> dict:
    """NSGA-II over the fitted parameters in :func:`box` ``(space, spread)``, minimising both losses.

    An evaluation is both losses at one parameter vector (through the fits' compiled programs, which
    return the gradient too; NSGA-II ignores it), counted as one, as :func:`ffdiff.fitting.pareto.pareto_front`
    counts its evaluations. A non-finite loss is kept as such (pymoo ranks it last) and counted.

    Returns:
        ``{"lower", "upper", "pop_size", "n_gen", "seed", "front": `[m, 2]` non-dominated losses of
        the last population, "x": `[m, n_fitted]`, "history": [{"generation", "n_eval", "seconds",
        "hypervolume"}, ...], "n_nonfinite"}``.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.callback import Callback
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    evaluate = Evaluator(parts)
    lower, upper = box(space, spread)
    nonfinite = [0]

    class Losses(Problem):
        def _evaluate(self, x, out, *args, **kwargs):
            f = np.array([evaluate(row)[0] for row in x])
            nonfinite[0] += int(np.sum(~np.all(np.isfinite(f), axis=1)))
            out["F"] = f

    history, t0 = [], time.perf_counter()

    class Record(Callback):
        def notify(self, algorithm):
            history.append({"generation": int(algorithm.n_gen), "n_eval": evaluate.n_eval,
                            "seconds": time.perf_counter() - t0,
                            "hypervolume": hypervolume(algorithm.opt.get("F"), norm)})

    result = minimize(Losses(n_var=len(space.names), n_obj=2, xl=lower, xu=upper), NSGA2(pop_size=pop_size),
                      ("n_gen", n_gen), seed=seed, callback=Record(), verbose=False)
    return {"lower": lower.tolist(), "upper": upper.tolist(), "pop_size": pop_size, "n_gen": n_gen, "seed": seed,
            "front": np.atleast_2d(result.F).tolist(), "x": np.atleast_2d(result.X).tolist(), "history": history,
            "n_nonfinite": nonfinite[0]}


def nsga2_potential(front: dict, reference, *, lattice_constant: float, overrides=None, **settings) -> dict:
    """:func:`nsga2_front` for the potential and normalisation of a
    :func:`ffdiff.fitting.pareto.pareto_potential` result ``front`` (``settings``: its keywords)."""
    from ffdiff.fitting.pareto import pareto_setup

    parts, space, _ = pareto_setup(front["potential"], reference, lattice_constant=lattice_constant,
                                   fitted=front["fitted"], overrides=overrides)
    return nsga2_front(parts, space, Normalisation(front["utopia"], front["nadir"]), **settings)
