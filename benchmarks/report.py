"""docs/benchmarks.md, whole: the benchmark tables from results/benchmarks/{md,driver,gnn,fits,stages,smoke}.json,
with the date and machine they were measured on, and the sentences that quote them (benchmarks/summary.py),
computed from the same tables. Prints the page; ``--docs`` also writes it.

Usage: python benchmarks/report.py [--dir results/benchmarks] [--docs docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.summary import summary  # noqa: E402
from benchmarks.tables import (  # noqa: E402
    driver_table,
    fits_table,
    gnn_ablation_table,
    gnn_budget_table,
    gnn_md_table,
    gnn_step_table,
    pareto_table,
    grad_table,
    md_table,
    smoke_table,
    stages_table,
    vmap_table,
)

BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"


def _dated(doc: dict) -> str:
    return f", {doc['date'][:10]}" if "date" in doc else ""


def block(directory: Path) -> str:
    parts = []
    if (path := directory / "md.json").exists():
        doc = json.loads(path.read_text())
        m, settings = doc["machine"], doc["settings"]
        parts += [f"MD and gradients (`benchmarks/md.py`, {m['date'][:10]}, {m['cpu']}, core {m['core']}, "
                  f"jax {m['jax']}, LAMMPS {m['lammps']}; {settings['steps']} NVE steps of 1 fs, best of "
                  f"{settings['repeat']}; µs per atom-step, float64 unless stated):", "", md_table(doc["md"]), "",
                  "Gradient of an RDF loss through SW MD (64 atoms, float64):", "", grad_table(doc["gradient"])]
    if (path := directory / "driver.json").exists():
        doc = json.loads(path.read_text())
        m, settings = doc["machine"], doc["settings"]
        parts += ["", f"MD with neighbour-list rebuilds, the workflow's driver `run_md` against LAMMPS "
                  f"(`benchmarks/driver.py`, {m['date'][:10]}, core {m['core']}; float64, NVE, same start, best of "
                  f"{settings['repeat']}; every rebuild and the first list included):", "", driver_table(doc["driver"])]
    if (path := directory / "gnn.json").exists():
        doc = json.loads(path.read_text())
        m, settings = doc["machine"], doc["settings"]
        parts += ["", f"GNN training step, ffdiff's MPGNN (and as it trained before: `mpgnn_before`) against jax-md's EnergyGraphNet (`benchmarks/gnn.py`, "
                  f"{m['date'][:10]}, core {m['core']}, load average {m['loadavg_before'][0]:.1f}; energy+force "
                  f"MSE, its weight gradient and an Adam update on {settings['batch']} liquid-Si frames; best of "
                  f"{settings['repeat']}):", "", gnn_step_table(doc["steps"]), "",
                  "Test errors after the same training budget (64 atoms, float64):", "",
                  gnn_budget_table(doc["budget"])]
        if doc.get("md"):
            parts += ["", f"GNN MD, `run_md` step against one energy+forces evaluation on an exact-cutoff list "
                      f"({settings['md_steps']} NVE steps from 2000 K, 1 Å skin, budget-trained weights):", "",
                      gnn_md_table(doc["md"])]
    if (path := directory / "gnn_ablation.json").exists():
        doc = json.loads(path.read_text())
        parts += ["", "The GNN chain with and without the MPGNN's angular terms, two seeds each, on the study's "
                  f"teacher data (`benchmarks/gnn_ablation.py`, `{doc['configfile']}` otherwise):", "",
                  gnn_ablation_table(doc["variants"])]
    if (path := directory / "fits.json").exists():
        doc = json.loads(path.read_text())
        parts += ["", "Classical fits, each a fresh process with its own compilation cache "
                  f"(`benchmarks/fits.py`{_dated(doc)}; 3 optimizers × 4 starts):", "", fits_table(doc["fits"]), "",
                  "All starts of a fit in one `vmap` against one call per start (loss and gradient):", "",
                  vmap_table(doc["vmap_starts"])]
    if (path := directory / "pareto.json").exists():
        doc = json.loads(path.read_text())
        parts += ["", "Pareto fronts of the elastic and force-constant losses, gradient continuation against NSGA-II "
                  f"(`benchmarks/pareto.py`{_dated(doc)}; hypervolume of the utopia/nadir-normalised losses against "
                  "(1.1, 1.1); target 99 % of the gradient front's; an evaluation is both losses at one parameter "
                  "vector, its gradient included):", "", pareto_table(doc["pareto"])]
    if (path := directory / "stages.json").exists():
        parts += ["", "Job time per workflow stage (`benchmarks/stages.py`):", "",
                  stages_table(json.loads(path.read_text()))]
    if (path := directory / "smoke.json").exists():
        doc = json.loads(path.read_text())
        parts += ["", "The smoke config end to end in a fresh directory, with an empty compilation cache and then "
                  f"with the one it filled (`benchmarks/smoke.py`{_dated(doc)}):", "", smoke_table(doc)]
    return "\n".join(parts)


HEAD = """\
# Benchmarks

<!-- Generated by `python -m benchmarks --docs` from results/benchmarks/*.json (benchmarks/report.py);
do not edit: rerun the benchmarks, or edit the renderer. -->

`python -m benchmarks` (from the directory of a finished run; `--quick` for two-minute subsets) runs
each benchmark in its own process, writes `results/benchmarks/<name>.json`, and renders this page from
them (`--docs` writes it here):

- `benchmarks/md.py`: MD per atom-step on one pinned core, ffdiff (SW, EDIP, Tersoff, the MPGNN;
  float64 and float32) against LAMMPS (`sw`, `edip/multi`, `tersoff`) and jax-md's neighbour-list SW
  in the same process,
  with compile times and exactness checks; and the gradient of an RDF loss through MD (time against
  the forward run, peak memory);
- `benchmarks/driver.py`: the workflow's MD driver `run_md`, neighbour-list rebuilds included,
  against LAMMPS;
- `benchmarks/gnn.py`, `benchmarks/gnn_ablation.py`: the GNN training step, accuracy after a fixed
  budget and MD cost of ffdiff's MPGNN against jax-md's EnergyGraphNet; the GNN chain with and
  without the MPGNN's angular terms (needs the study's teacher data);
- `benchmarks/fits.py` (after the reference stage): every classical fit as a fresh process, cold,
  rerun, and rerun after a change of its params; and whether evaluating all starts in one `vmap` pays;
- `benchmarks/pareto.py` (after the reference stage): the Pareto front of the elastic and
  force-constant losses by gradient continuation against pymoo's NSGA-II, evaluations and seconds to
  the same hypervolume;
- `benchmarks/stages.py`: job time per workflow stage and the end-to-end time of the newest run;
- `benchmarks/smoke.py`: the smoke config end to end in a fresh directory, with an empty compilation
  cache (as CI runs it) and with the cache that run filled.

The machine is a shared two-core one whose speed drifts by 20–40 % within an hour, LAMMPS's own times
included: read the ratios, measured side by side, not the absolute times, and compare timings taken
in one run. Why the code is as fast as it is: [design.md](design.md).
"""


def document(tables: str) -> str:
    """The whole page around ``tables`` (the output of :func:`block`)."""
    said = summary(tables)
    parts = [HEAD, *(["## What the numbers say", "", said, ""] if said else []),
             "## Tables", "", BEGIN, tables, END]
    return "\n".join(parts) + "\n"


def tables_of(page: str) -> str:
    """The tables of a page :func:`document` rendered (what it was rendered from)."""
    return page.split(BEGIN + "\n", 1)[1].split("\n" + END, 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="results/benchmarks", type=Path)
    parser.add_argument("--docs", type=Path, default=None, help="write the page there (docs/benchmarks.md)")
    args = parser.parse_args()
    page = document(block(args.dir))
    print(page, end="")
    if args.docs:
        args.docs.write_text(page)


if __name__ == "__main__":
    main()
