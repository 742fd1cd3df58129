"""Run this checkout's Snakefile in a scratch directory (tests only)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, *args: str, config: Path = ROOT / "config/smoke.yaml", succeed: bool = True,
              snakefile: Path = ROOT / "Snakefile"):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir),
           "--configfile", str(config), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    assert (proc.returncode == 0) == succeed, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def planned_jobs(workdir: Path, config: Path, *args: str, snakefile: Path = ROOT / "Snakefile") -> dict[str, int]:
    """Rule name -> job count that a dry run (with extra ``args``) on ``workdir`` would execute."""
    plan = snakemake(workdir, "-n", *args, config=config, snakefile=snakefile)
    if "Nothing to be done" in plan:
        return {}
    table = plan.split("Job stats:", 1)[1].split("total", 1)[0]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)}


def local_reference(vasp: Path, **files) -> dict:
    """The ``reference`` config of the ``local`` source fed the VASP files in ``vasp`` (a smoke run's
    resources/reference/vasp), any of them replaced by ``files`` (unitcell=, displacements=, vasprun=[...])."""
    local = {"unitcell": vasp / "POSCAR-unitcell", "displacements": vasp / "displacements.yaml",
             "vasprun": [vasp / "vasprun-001.xml"]} | files
    return {"source": "local", "local": {key: [str(p) for p in value] if isinstance(value, list) else str(value)
                                         for key, value in local.items()}}


def edited_config(path: Path, edit, base: Path = ROOT / "config/smoke.yaml") -> Path:
    """Write ``base`` changed by ``edit(config_dict)`` to ``path``; returns ``path``."""
    config = yaml.safe_load(base.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config))
    return path


def copy_run(smoke_run: Path, work: Path) -> Path:
    """A copy of the complete smoke run (mtimes and Snakemake's records kept: nothing reruns by itself)."""
    shutil.copytree(smoke_run, work, symlinks=True, ignore=shutil.ignore_patterns("ffdiff-jax-cache"))
    return work
