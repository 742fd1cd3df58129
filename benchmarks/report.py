"""The benchmark tables as one Markdown block, from results/benchmarks/{md,driver,gnn,fits,stages,smoke}.json, with
the date and machine they were measured on; ``--readme`` also puts the block into README.md between
``<!-- benchmarks:begin -->`` and ``<!-- benchmarks:end -->``.

Usage: python benchmarks/report.py [--dir results/benchmarks] [--readme README.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.tables import (  # noqa: E402
    driver_table,
    fits_table,
    gnn_ablation_table,
    gnn_budget_table,
    gnn_md_table,
    gnn_step_table,
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
    if (path := directory / "stages.json").exists():
        parts += ["", "Job time per workflow stage (`benchmarks/stages.py`):", "",
                  stages_table(json.loads(path.read_text()))]
    if (path := directory / "smoke.json").exists():
        doc = json.loads(path.read_text())
        parts += ["", "The smoke config end to end in a fresh directory, with an empty compilation cache and then "
                  f"with the one it filled (`benchmarks/smoke.py`{_dated(doc)}):", "", smoke_table(doc)]
    return "\n".join(parts)


def update_readme(readme: Path, text: str) -> None:
    content = readme.read_text()
    if BEGIN not in content or END not in content:
        raise SystemExit(f"{readme}: no {BEGIN} ... {END} markers")
    head, rest = content.split(BEGIN, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{rest.split(END, 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="results/benchmarks", type=Path)
    parser.add_argument("--readme", type=Path, default=None)
    args = parser.parse_args()
    text = block(args.dir)
    print(text)
    if args.readme:
        update_readme(args.readme, text)


if __name__ == "__main__":
    main()
