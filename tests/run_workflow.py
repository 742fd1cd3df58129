"""Run this checkout's Snakefile in a scratch directory (tests only)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, *args: str, config: Path = ROOT / "config/smoke.yaml", succeed: bool = True):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--configfile", str(config), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    assert (proc.returncode == 0) == succeed, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr
