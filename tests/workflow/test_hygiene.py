"""Code hygiene the CI enforces: Snakemake's linter, snakefmt, ruff, and a log for every job."""

import re
import shutil
import subprocess
import sys

import pytest
from run_workflow import ROOT

RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]


def run(*cmd: str) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_snakemake_lint_is_clean():
    assert "Congratulations" in run(sys.executable, "-m", "snakemake", "--lint")


def test_snakefmt_is_clean():
    run(sys.executable, "-m", "snakefmt", "--check", *map(str, RULE_FILES))


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed (it is in the [test] extra)")
def test_ruff_is_clean():
    run("ruff", "check", ".")


def rule_blocks():
    for path in RULE_FILES:
        for block in re.split(r"\n(?=\s*rule \w+:)", path.read_text()):
            if match := re.match(r"\s*rule (\w+):", block):
                yield match[1], block


def test_every_job_logs_and_heavy_jobs_are_timed():
    """Every rule that runs a script has a log; fits, MD and training also a benchmark file, or (when
    eligible for the between-workflow cache, which forbids one) the timing line start_job logs."""
    blocks = dict(rule_blocks())
    assert len(blocks) > 20
    for name, block in blocks.items():
        if "script:" in block:
            assert "    log:" in block, name
    heavy = ["fit", "landscape", "lammps_check", "check_potential", "gnn_snapshots", "gnn_trajectory",
             "gnn_pretrain", "gnn_finetune", "gnn_rdf", "gnn_md_test"]
    for name in heavy:
        assert "benchmark:" in blocks[name] or "cache:" in blocks[name], name
