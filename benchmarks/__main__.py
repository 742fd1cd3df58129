"""Every benchmark in turn, each in its own process: MD and gradients against LAMMPS (md.py), MD
with list rebuilds through the workflow's driver against LAMMPS (driver.py), the training cost and
accuracy of the MPGNN against jax-md's EnergyGraphNet (gnn.py, about fifteen minutes), the GNN chain with and
without angular terms (gnn_ablation.py, needs the study's teacher data, skipped by --quick; about twelve
minutes on two cores), the classical fits cold
and warm (fits.py, needs the workflow's reference stage), Pareto fronts by gradients against NSGA-II
(pareto.py, same inputs, about a minute), the time per workflow stage of the run in
this directory (stages.py, needs a finished run) and the smoke config end to end, cold and warm
(smoke.py, about seven minutes). Each prints its tables and writes results/benchmarks/<name>.json.
Then report.py renders every table, and the sentences quoting them, as one page
(results/benchmarks/README.md; with --docs also docs/benchmarks.md).

Usage: python -m benchmarks [--quick] [--docs]   (--quick: two-minute subsets of md.py, driver.py, gnn.py)
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--docs", action="store_true", help="write the page to docs/benchmarks.md")
    args = parser.parse_args()
    runs = [("md", ["--quick"] if args.quick else [], True),
            ("driver", ["--sizes", "64", "216", "--steps", "100", "--repeat", "1"] if args.quick else [], True),
            ("gnn", ["--quick"] if args.quick else [], True),
            ("gnn_ablation", [], not args.quick and Path("resources/gnn").is_dir()),
            ("fits", [], Path("resources/reference/elastic.json").exists()),
            ("pareto", [], Path("resources/reference/elastic.json").exists()),
            ("stages", [], Path("logs").is_dir()),
            ("smoke", [], True)]
    for name, extra, ready in runs:
        if not ready:
            print(f"\n## {name}: skipped (run the workflow first)")
            continue
        print(f"\n## {name}", flush=True)
        subprocess.run([sys.executable, str(HERE / f"{name}.py"), *extra], check=True)
    report = subprocess.run([sys.executable, str(HERE / "report.py"),
                             *(["--docs", str(HERE.parent / "docs/benchmarks.md")] if args.docs else [])],
                            check=True, capture_output=True, text=True).stdout
    Path("results/benchmarks/README.md").write_text(report)
    print(f"\n## all tables: results/benchmarks/README.md{' and docs/benchmarks.md' if args.docs else ''}")


if __name__ == "__main__":
    main()
