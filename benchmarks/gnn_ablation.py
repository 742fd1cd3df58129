"""Which means make the GNN fit its teacher: the chain with and without the MPGNN's angular terms.

Each variant (``gnn.model.mpgnn.angular`` 0 or 2, ``gnn.seed`` 0 or 1; everything else as in
``--configfile``, default config/config.yaml) runs pretraining, fine-tuning and their error jobs
(``results/gnn/{pretrained,ft}/errors.json``) through the workflow, in its own working directory
``<--dir>/angular<a>_seed<s>/`` with a copy of this directory's teacher data (``resources/gnn``, made
by the study: run it first; a file that changed since is copied again, and its dependants rerun), so
the variants differ in nothing else. A variant whose outputs are up to
date is not rerun. Reported per variant: the pretrained model's force and energy RMSE on its own
(snapshot) test split, FT-GNN's on the 2000 K test split, and each stage's epochs and stop reason.
About 6 minutes per variant on one core.

Usage: python benchmarks/gnn_ablation.py [--configfile config/config.yaml] [--angular 0 2] [--seeds 0 1]
                                         [--cores 1] [--jobs 2] [--dir results/benchmarks/gnn_ablation]
                                         [--out results/benchmarks/gnn_ablation.json]
"""

from __future__ import annotations

import argparse
import filecmp
import itertools
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.tables import gnn_ablation_table  # noqa: E402

TARGETS = ("results/gnn/pretrained/errors.json", "results/gnn/ft_start/errors.json")


def run_variant(config: dict, angular: int, seed: int, directory: Path, cores: int) -> dict:
    """Run one variant's chain (if not up to date) and read its errors and training summaries."""
    work = directory / f"angular{angular}_seed{seed}"
    (work / "resources/gnn").mkdir(parents=True, exist_ok=True)
    for source in Path("resources/gnn").iterdir():  # the study's teacher data, refreshed where it changed
        target = work / "resources/gnn" / source.name
        if source.is_file() and not (target.exists() and filecmp.cmp(source, target, shallow=False)):
            shutil.copy2(source, target)
    variant = json.loads(json.dumps(config))
    variant["gnn"]["model"]["mpgnn"]["angular"] = angular
    variant["gnn"]["seed"] = seed
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(variant, sort_keys=False))
    with open(work / "snakemake.log", "w") as log:
        subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work),
                        "--cores", str(cores), *TARGETS, "--configfile", str(path.resolve())],
                       check=True, stdout=log, stderr=subprocess.STDOUT)
    # FT-GNN here is the converged energy/force fine-tuning every arm of the study starts from
    errors = {stage: json.loads((work / f"results/gnn/{stage}/errors.json").read_text())
              for stage in ("pretrained", "ft_start")}
    summaries = {stage: json.loads((work / f"results/gnn/{stage}/history.json").read_text())["summary"]
                 for stage in ("pretrained", "ft_start")}
    return {"angular": angular, "seed": seed, "directory": str(work),
            "pretrained_own_test": errors["pretrained"]["snapshots_test"], "ft_test": errors["ft_start"]["test"],
            "pretrained_training": summaries["pretrained"], "ft_training": summaries["ft_start"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--angular", type=int, nargs="+", default=[0, 2], choices=[0, 1, 2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--cores", type=int, default=1, help="cores per variant's workflow")
    parser.add_argument("--jobs", type=int, default=2, help="variants run at once")
    parser.add_argument("--dir", type=Path, default=Path("results/benchmarks/gnn_ablation"))
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/gnn_ablation.json"))
    args = parser.parse_args()
    if not Path("resources/gnn").is_dir():
        raise SystemExit("resources/gnn is missing: run the study (or its gnn_trajectory and gnn_snapshots "
                         "jobs) in this directory first")
    config = yaml.safe_load(args.configfile.read_text())
    variants = list(itertools.product(args.angular, args.seeds))
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda v: run_variant(config, *v, args.dir.resolve(), args.cores), variants))
    doc = {"configfile": str(args.configfile), "variants": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    table = gnn_ablation_table(rows)
    args.out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
