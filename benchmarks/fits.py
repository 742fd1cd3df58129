"""Wall time of the classical fits as Snakemake jobs pay it, and what JAX's persistent compilation
cache saves when a fit rule reruns.

Every fit of the default study (SW and EDIP, each objective; BFGS, CG and Nelder-Mead from 4
starts, as config/config.yaml) runs three times, each in a fresh process (a job is one), with
its own compilation-cache directory:

- ``cold``: empty cache, everything compiled;
- ``rerun``: the same fit again (the cache now holds its programs);
- ``changed``: a rerun after its rule's params changed, which is what makes Snakemake rerun it:
  a fixed parameter of the potential 1 % larger (``overrides``) and, for ``multi``, the elastic
  weight doubled. The fixed parameters and weights are arguments of the compiled loss, not
  constants in it, so this too should load every program from the cache.

For each: seconds from process start to the first loss evaluation ("starts computing": imports,
reading the reference, building structures and lists, compiling or loading the loss), to the end,
and the peak RSS.

Then, in this process: is it worth evaluating all starting points of a fit in one ``vmap``? The
loss and gradient at the 4 starts, as 4 calls of the compiled function against one call of its
``vmap`` (best of 5 each, with the threads this process has).

Usage: python benchmarks/fits.py [--reference DIR] [--objectives ...] [--out results/benchmarks/fits.json]
where DIR holds phonopy_params.yaml and elastic.json from the workflow's reference stage
(default resources/reference).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.tables import fits_table, vmap_table  # noqa: E402

FITS = {  # potential: (fitted, lattice constant Å, a fixed parameter to change)
    "sw": (["epsilon", "lam"], 5.431, "gamma"),
    "edip": (["A", "lam"], 5.430, "eta"),
}
OBJECTIVES = ["elastic_standard", "elastic_paper", "phonon", "multi"]

_CHILD = """
import json, logging, resource, sys, time
t0 = time.perf_counter()
spec = json.loads(sys.argv[1])
first = []

class FirstEvaluation(logging.Handler):
    def emit(self, record):
        if "at the starting parameters" in record.getMessage() and not first:
            first.append(time.perf_counter() - t0)

logging.basicConfig(level=logging.INFO, handlers=[FirstEvaluation()])
from ffdiff.runtime import enable_compilation_cache
enable_compilation_cache(spec["cache"])
from ffdiff.fitting.potential_fit import fit_potential, load_reference
reference = load_reference(f"{spec['reference']}/elastic.json", f"{spec['reference']}/phonopy_params.yaml")
out = fit_potential(spec["potential"], spec["objective"], reference, lattice_constant=spec["a"],
                    fitted=spec["fitted"], optimizers=["BFGS", "CG", "Nelder-Mead"], n_starts=4, seed=0,
                    spread=0.2, maxiter=200, overrides=spec["overrides"], weights=spec["weights"])
print(json.dumps({"first_evaluation_s": first[0], "total_s": time.perf_counter() - t0,
                  "n_fev": sum(r["n_fev"] for r in out["runs"]), "loss": out["best"]["loss"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_case(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"fit {spec['potential']}/{spec['objective']} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="resources/reference")
    parser.add_argument("--objectives", nargs="+", default=OBJECTIVES)
    parser.add_argument("--out", default="results/benchmarks/fits.json")
    args = parser.parse_args()
    from ffdiff.potentials import get_potential

    rows = []
    for potential, (fitted, a, changed) in FITS.items():
        for objective in args.objectives:
            weights = {"elastic": 1.0, "force_constants": 1.0} if objective == "multi" else None
            value = get_potential(potential).default_params[changed]
            with tempfile.TemporaryDirectory(prefix="ffdiff-cache-") as cache:
                spec = {"potential": potential, "objective": objective, "fitted": fitted, "a": a,
                        "reference": str(Path(args.reference).resolve()), "cache": cache,
                        "overrides": {}, "weights": weights}
                row = {"potential": potential, "objective": objective}
                row["cold"] = run_case(spec)
                row["rerun"] = run_case(spec)
                row["changed"] = run_case({**spec, "overrides": {changed: value * 1.01},
                                           "weights": weights and {**weights, "elastic": 2.0}})
            rows.append(row)
            print(f"  {potential}/{objective}: cold {row['cold']['total_s']:.1f} s, rerun {row['rerun']['total_s']:.1f} s,"
                  f" changed {row['changed']['total_s']:.1f} s", file=sys.stderr, flush=True)
    print(fits_table(rows))
    batched = [vmap_case(potential, objective, args.reference) for potential in FITS for objective in args.objectives]
    print("\n" + vmap_table(batched))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    doc = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "fits": rows, "vmap_starts": batched}
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


def vmap_case(potential: str, objective: str, reference_dir: str) -> dict:
    """Loss and gradient at 4 starting points: 4 compiled calls against one vmapped call, in ms (a
    weighted loss, as the fits evaluate it, part by part: one vmapped call per part)."""
    import time

    import jax

    from ffdiff.fitting.optimize import compile_objective, theta_loss
    from ffdiff.fitting.potential_fit import _setup, build_loss, load_reference

    jax.config.update("jax_enable_x64", True)
    reference = load_reference(f"{reference_dir}/elastic.json", f"{reference_dir}/phonopy_params.yaml")
    fitted, a, _ = FITS[potential]
    geometry, space = _setup(potential, fitted, reference.phonon, a, None)
    loss = build_loss(objective, geometry, reference, space.base, {"elastic": 1.0, "force_constants": 1.0})
    one = compile_objective(loss, space).value_and_grad
    parts = loss.parts or ((objective, 1.0, loss),)
    batches = [(weight, part.data, jax.jit(jax.vmap(jax.value_and_grad(theta_loss(part, space), has_aux=True),
                                                    in_axes=(0, None, None)))) for _, weight, part in parts]
    starts = space.starts(4, 0, 0.2)
    calls = lambda: [one(theta) for theta in starts]  # noqa: E731
    vmapped = lambda: [batch(starts, space.base, data) for _, data, batch in batches]  # noqa: E731

    def best_ms(fn):
        jax.block_until_ready(fn())
        times = []
        for _ in range(5):
            t = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - t)
        return min(times) * 1e3

    return {"potential": potential, "objective": objective, "calls_ms": best_ms(calls), "vmap_ms": best_ms(vmapped)}


if __name__ == "__main__":
    main()
