"""Time per workflow stage of a finished run: every job's wall time, summed per stage.

Jobs with a Snakemake benchmark file (``results/benchmarks/<rule>[/<wildcards>].tsv``) are read from
it; jobs eligible for the between-workflow cache, which Snakemake allows no benchmark file, from the
"wall time ... s, peak memory ... MB" line every ffdiff job ends its log with
(``logs/<rule>[/<wildcards>].log``). A stage is the rule file a rule is defined in
(workflow/rules/<stage>.smk). Job times add up to more than the stage's elapsed time when jobs ran
in parallel; the end-to-end wall time is the "Elapsed time" (or, failing that, the span of job
timestamps) of the newest Snakemake log in ``.snakemake/log`` that finished every step.

Usage: python benchmarks/stages.py [--workdir .] [--out results/benchmarks/stages.json]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.tables import stages_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WALL = re.compile(r"wall time ([\d.]+) s, peak memory (\d+) MB")


def rule_stages() -> dict[str, str]:
    """Rule name -> stage (its rule file's stem)."""
    stages = {}
    for path in sorted((ROOT / "workflow/rules").glob("*.smk")):
        for name in re.findall(r"^\s*rule (\w+):", path.read_text(), flags=re.MULTILINE):
            stages[name] = path.stem
    return stages


def job_times(workdir: Path) -> dict[str, tuple[float, float]]:
    """Job (rule[/wildcards]) -> (wall s, peak memory MB), benchmark files first, then log lines."""
    jobs = {}
    for path in sorted((workdir / "results/benchmarks").rglob("*.tsv")):
        if "results" in path.relative_to(workdir / "results/benchmarks").parts:  # a nested run's (gnn_ablation)
            continue
        with path.open() as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        jobs[path.relative_to(workdir / "results/benchmarks").with_suffix("").as_posix()] = (
            float(row["s"]), float(row["max_rss"]))
    for path in sorted((workdir / "logs").rglob("*.log")):
        job = path.relative_to(workdir / "logs").with_suffix("").as_posix()
        if job not in jobs and (match := WALL.search(path.read_text(errors="replace"))):
            jobs[job] = (float(match[1]), float(match[2]))
    return jobs


def run_elapsed(workdir: Path) -> dict | None:
    """Wall time of the newest complete Snakemake run in ``workdir``: {"log", "seconds", "steps"}."""
    for path in sorted((workdir / ".snakemake/log").glob("*.snakemake.log"), reverse=True):
        text = path.read_text(errors="replace")
        done = re.search(r"^(\d+) of \1 steps \(100%\) done", text, flags=re.MULTILINE)
        if not done:
            continue
        if match := re.search(r"^Elapsed time: (\d+):(\d+):([\d.]+)", text, flags=re.MULTILINE):
            seconds = 3600 * int(match[1]) + 60 * int(match[2]) + float(match[3])
        else:
            stamps = re.findall(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", text, flags=re.MULTILINE)
            times = [datetime.datetime.strptime(" ".join(t.split()), "%a %b %d %H:%M:%S %Y") for t in stamps]
            seconds = (max(times) - min(times)).total_seconds() if times else float("nan")
        return {"log": path.name, "seconds": seconds, "steps": int(done[1])}
    return None


def stage_table(jobs: dict[str, tuple[float, float]]) -> list[dict]:
    stages = rule_stages()
    rows: dict[str, dict] = {}
    for job, (seconds, memory) in jobs.items():
        stage = stages.get(job.split("/")[0], "other")
        row = rows.setdefault(stage, {"stage": stage, "jobs": 0, "job_seconds": 0.0, "max_memory_mb": 0.0})
        row["jobs"] += 1
        row["job_seconds"] += seconds
        row["max_memory_mb"] = max(row["max_memory_mb"], memory)
    return sorted(rows.values(), key=lambda row: -row["job_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=".", type=Path)
    parser.add_argument("--out", default="results/benchmarks/stages.json")
    args = parser.parse_args()
    jobs = job_times(args.workdir)
    if not jobs:
        raise SystemExit(f"{args.workdir}: no benchmark files or job logs; run the workflow first")
    doc = {"stages": stage_table(jobs), "jobs": jobs, "run": run_elapsed(args.workdir)}
    print(stages_table(doc))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
