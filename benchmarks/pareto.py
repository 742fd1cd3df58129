"""Pareto fronts of the elastic and force-constant losses: gradient continuation against NSGA-II.

For SW (epsilon, lam) and EDIP (A, lam), as the study fits them: the gradient front
(:func:`ffdiff.fitting.pareto.pareto_front`, weighted sum, ``--points`` weights) and NSGA-II (pymoo,
population ``--population``, ``--generations`` generations, seeds ``--seeds``; search box: each
parameter's original value × (1 ∓ 0.6), which holds both potentials' gradient fronts). Both are
scored by the hypervolume of their losses normalised by the gradient front's utopia and nadir,
against the reference point (1.1, 1.1) (:mod:`ffdiff.fitting.nsga`). The target is 99 % of the
gradient front's hypervolume; for each method: loss evaluations (both losses at one parameter
vector; the gradient comes with the value and is not counted apart) and seconds until its front
reaches it. The gradient front's count is cumulative in the order it computes points (the two
single-loss fits, then the continuation); NSGA-II's is checked after every generation. Compilation
is excluded (one warm-up front first).

Usage: python benchmarks/pareto.py [--reference DIR] [--points 15] [--population 40] [--generations 60]
                                   [--seeds 0 1 2] [--out results/benchmarks/pareto.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.tables import pareto_table  # noqa: E402

POTENTIALS = {"sw": (["epsilon", "lam"], 5.431), "edip": (["A", "lam"], 5.430)}
TARGET = 0.99


def gradient_case(parts, space, points: int) -> tuple[dict, dict]:
    from ffdiff.fitting.nsga import hypervolume
    from ffdiff.fitting.pareto import Normalisation, pareto_front

    t = time.perf_counter()
    front = pareto_front(parts, space, points=points)
    seconds = time.perf_counter() - t
    norm = Normalisation(front["utopia"], front["nadir"])
    pts = [p for p in front["points"] if not p["paper"]]
    order = [pts[0], pts[-1], *pts[1:-1]]  # as computed: both ends, then the continuation
    f = np.array([[p["elastic_loss"], p["fc_loss"]] for p in order])
    final = hypervolume(f, norm)
    evals = np.cumsum([p["n_fev"] for p in order])
    reached = next(k for k in range(2, len(order) + 1) if hypervolume(f[:k], norm) >= TARGET * final)
    share = evals[reached - 1] / evals[-1]
    return front, {"method": f"gradient ({points} points)", "runs": 1, "n_eval": [int(evals[reached - 1])],
                   "seconds": [seconds * share], "hypervolume": [final], "total_eval": int(evals[-1]),
                   "total_s": seconds}


def nsga_case(parts, space, norm, target: float, population: int, generations: int, seeds) -> dict:
    from ffdiff.fitting.nsga import nsga2_front

    out = {"method": f"NSGA-II ({population} × {generations}, {len(seeds)} seeds)", "runs": len(seeds),
           "n_eval": [], "seconds": [], "hypervolume": []}
    for seed in seeds:
        run = nsga2_front(parts, space, norm, pop_size=population, n_gen=generations, seed=seed)
        hit = next((h for h in run["history"] if h["hypervolume"] >= target), None)
        if hit:
            out["n_eval"].append(hit["n_eval"])
            out["seconds"].append(hit["seconds"])
        out["hypervolume"].append(run["history"][-1]["hypervolume"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="resources/reference")
    parser.add_argument("--points", type=int, default=15)
    parser.add_argument("--population", type=int, default=40)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="results/benchmarks/pareto.json")
    args = parser.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    from ffdiff.fitting.nsga import hypervolume
    from ffdiff.fitting.pareto import Normalisation, pareto_front, pareto_setup
    from ffdiff.fitting.potential_fit import load_reference

    reference = load_reference(f"{args.reference}/elastic.json", f"{args.reference}/phonopy_params.yaml")
    rows = []
    for name, (fitted, a) in POTENTIALS.items():
        parts, space, _ = pareto_setup(name, reference, lattice_constant=a, fitted=fitted)
        pareto_front(parts, space, points=3)  # compiles
        front, gradient = gradient_case(parts, space, args.points)
        norm = Normalisation(front["utopia"], front["nadir"])
        target = TARGET * hypervolume([[p["elastic_loss"], p["fc_loss"]] for p in front["points"]], norm)
        nsga = nsga_case(parts, space, norm, target, args.population, args.generations, args.seeds)
        rows.append({"potential": name, "target_hypervolume": target, "methods": [gradient, nsga]})
        print(f"  {name}: gradient {gradient['n_eval']}, NSGA-II {nsga['n_eval']}", file=sys.stderr, flush=True)
    print(pareto_table(rows))
    settings = {k: getattr(args, k) for k in ("points", "population", "generations", "seeds")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    doc = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "settings": settings, "pareto": rows}
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
