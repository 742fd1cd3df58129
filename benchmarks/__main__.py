"""Every benchmark in turn, each in its own process: MD and gradients against LAMMPS (md.py), the
classical fits cold and warm (fits.py, needs the workflow's reference stage), and the time per
workflow stage of the run in this directory (stages.py, needs a finished run). Each prints its
tables and writes results/benchmarks/<name>.json.

Usage: python -m benchmarks [--quick]   (--quick: md.py's two-minute subset)
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = [("md", ["--quick"] if args.quick else [], True),
            ("fits", [], Path("resources/reference/elastic.json").exists()),
            ("stages", [], Path("logs").is_dir())]
    for name, extra, ready in runs:
        if not ready:
            print(f"\n## {name}: skipped (run the workflow first)")
            continue
        print(f"\n## {name}", flush=True)
        subprocess.run([sys.executable, str(HERE / f"{name}.py"), *extra], check=True)


if __name__ == "__main__":
    main()
