"""End-to-end time of the smoke config, the tests' and CI's run of the whole DAG.

``snakemake --cores 2 --configfile config/smoke.yaml`` runs in a fresh temporary directory, once with
an empty JAX compilation cache (``cold``: what a CI run pays, the phonopy download included) and
once more in another fresh directory with the cache the first run filled (``warm``: a second study
on the same machine). Reported: Snakemake's "Elapsed time", the jobs' time summed per stage (as
``stages.py`` reads it) and the time spent compiling XLA programs, summed over the jobs (JAX's
``Finished XLA compilation`` log lines, which ``JAX_LOG_COMPILES`` turns on; a cache hit logs its
loading time).

Usage: python benchmarks/smoke.py [--cores 2] [--out results/benchmarks/smoke.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.stages import job_times, run_elapsed, stage_table  # noqa: E402
from benchmarks.tables import smoke_table  # noqa: E402
from ffdiff.study.jobs import COMPILATION_CACHE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMPILED = re.compile(r"Finished XLA compilation of .* in ([\d.]+) sec")


def run_smoke(workdir: Path, cache: Path, cores: int) -> dict:
    env = {**os.environ, COMPILATION_CACHE: str(cache), "JAX_LOG_COMPILES": "1"}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--configfile", str(ROOT / "config/smoke.yaml"), "--cores", str(cores)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"smoke run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    compiling = [float(m) for path in (workdir / "logs").rglob("*.log")
                 for m in COMPILED.findall(path.read_text(errors="replace"))]
    return {"run": run_elapsed(workdir), "stages": stage_table(job_times(workdir)),
            "compile_s": sum(compiling), "compilations": len(compiling)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", default="results/benchmarks/smoke.json")
    args = parser.parse_args()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="ffdiff-smoke-") as scratch:
        cache = Path(scratch) / "jax-cache"
        for name in ("cold", "warm"):
            runs[name] = run_smoke(Path(scratch) / name, cache, args.cores)
            print(f"  {name}: {runs[name]['run']['seconds']:.0f} s", file=sys.stderr, flush=True)
    doc = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cores": args.cores, "runs": runs}
    print(smoke_table(doc))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
