"""Wall time of the classical fits, cold (compilation included) and warm, with iterations, loss
evaluations and peak memory. Each fit runs in a fresh process so "cold" is what a Snakemake job pays.

Usage: python benchmarks/fits.py [--reference DIR] [--out results/benchmarks/fits.json]
where DIR holds phonopy_params.yaml and elastic.json from the workflow's reference stage
(default resources/reference).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CASES = [  # (potential, objective, fitted, lattice constant Å)
    ("sw", "elastic_paper", ["epsilon", "lam"], 5.431),
    ("edip", "elastic_paper", ["A", "lam"], 5.430),
    ("sw", "phonon", ["epsilon", "lam"], 5.431),
    ("edip", "phonon", ["A", "lam"], 5.430),
    ("sw", "multi", ["epsilon", "lam"], 5.431),
]

_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from ffdiff.fitting.study import fit_potential, load_reference
name, objective, fitted, a, ref = json.loads(sys.argv[1])
reference = load_reference(f"{ref}/elastic.json", f"{ref}/phonopy_params.yaml")
t_import = time.perf_counter() - t0
times = []
for _ in range(2):
    t = time.perf_counter()
    out = fit_potential(name, objective, reference, lattice_constant=a, fitted=fitted, optimizers=["BFGS"],
                        n_starts=1, seed=0, spread=0.2, maxiter=200,
                        weights={"elastic": 1.0, "force_constants": 1.0})
    times.append(time.perf_counter() - t)
run = out["runs"][0]
print(json.dumps({"import_s": t_import, "cold_s": times[0], "warm_s": times[1], "n_iter": run["n_iter"],
                  "n_fev": run["n_fev"], "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="resources/reference")
    parser.add_argument("--out", default="results/benchmarks/fits.json")
    args = parser.parse_args()
    rows = []
    for name, objective, fitted, a in CASES:
        proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([name, objective, fitted, a, args.reference])],
                              capture_output=True, text=True, check=True)
        rows.append({"potential": name, "objective": objective, **json.loads(proc.stdout.splitlines()[-1])})
    header = f"{'potential':9} {'objective':14} {'import s':>8} {'cold s':>7} {'warm s':>7} {'iter':>4} {'fev':>4} {'RSS MB':>7}"
    print(header)
    for r in rows:
        print(f"{r['potential']:9} {r['objective']:14} {r['import_s']:8.2f} {r['cold_s']:7.2f} {r['warm_s']:7.2f} "
              f"{r['n_iter']:4d} {r['n_fev']:4d} {r['peak_rss_mb']:7.0f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
