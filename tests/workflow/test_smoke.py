"""The whole DAG on the smoke config, in a scratch directory: it runs, reruns nothing, and the
same stage fed "your own VASP files" (source: local) gives the same numbers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def snakemake(workdir: Path, *args: str, config: Path = ROOT / "config/smoke.yaml"):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--configfile", str(config), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake(workdir)
    return workdir


def test_outputs_and_physics(smoke_run):
    sw = json.loads((smoke_run / "results/potentials/sw/check.json").read_text())
    edip = json.loads((smoke_run / "results/potentials/edip/check.json").read_text())
    # Equilibrium lattice constants of the originals, Å (reference cell: DFT's 5.4662 Å).
    assert sw["structures"]["unitcell"]["equilibrium_cell_lengths"][0] == pytest.approx(5.43095, abs=1e-4)
    assert edip["structures"]["unitcell"]["equilibrium_cell_lengths"][0] == pytest.approx(5.43050, abs=1e-4)
    disp = sw["structures"]["displacement-001"]
    # DFT's restoring force on the displaced atom (0.01 Å along x) and SW's stiffer one.
    assert disp["dft"]["displaced_atom_force"][0] == pytest.approx(-0.12907297, abs=1e-8)
    assert disp["displaced_atom_force"][0] == pytest.approx(-0.1718, abs=1e-3)
    assert (smoke_run / "logs/check_potential/sw.log").read_text().strip()
    assert (smoke_run / "results/benchmarks/check_potential/edip.tsv").exists()


def test_complete_run_has_nothing_to_do(smoke_run):
    assert "Nothing to be done" in snakemake(smoke_run, "-n")


def test_local_vasp_source_gives_same_numbers(smoke_run, tmp_path):
    vasp = smoke_run / "resources/reference/vasp"
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["reference"] = {"source": "local", "local": {
        "unitcell": str(vasp / "POSCAR-unitcell"), "displacements": str(vasp / "displacements.yaml"),
        "vasprun": [str(vasp / "vasprun-001.xml")]}}
    config["potentials"] = {"sw": {}}
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake(tmp_path, config=path)
    ours = json.loads((tmp_path / "results/potentials/sw/check.json").read_text())
    theirs = json.loads((smoke_run / "results/potentials/sw/check.json").read_text())
    assert ours["structures"] == theirs["structures"]
    assert not (tmp_path / "results/potentials/edip").exists()


def test_lint_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_readme_results_table_is_generated(smoke_run):
    """The README's table is the workflow's output, not typed (the smoke config equals the default
    config for this stage)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- results:begin -->\n", 1)[1].split("<!-- results:end -->", 1)[0]
    assert block == (smoke_run / "results/tables/potentials_check.md").read_text()


def test_ci_runs_the_readme_commands():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci/run").read_text()
    install = next(line for line in ci.splitlines() if "pip install" in line)
    assert install in readme and "\npytest\n" in readme and ci.rstrip().endswith("pytest")
