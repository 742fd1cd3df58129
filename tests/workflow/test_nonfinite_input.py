"""Numbers that are not numbers, and files that are not inputs, as a workflow run meets them.

A NaN in a snapshot file, a FORCE_CONSTANTS file or a LAMMPS parameter file stops the one rule that
reads it, with the file (and frame or line) named in its log and in Snakemake's output, and nothing of
that rule left behind. A stray BORN, FORCE_SETS or FORCE_CONSTANTS in the working directory is not
read by phonopy: a phonon job next to them gives the same result.
"""

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
from run_workflow import edited_config, local_reference, snakemake

REFERENCE = "resources/reference"


def left_behind(work: Path) -> list[str]:
    """Every file a run left in ``work``, Snakemake's own bookkeeping (.snakemake/) aside."""
    return sorted(p.relative_to(work).as_posix() for p in work.rglob("*")
                  if p.is_file() and p.relative_to(work).parts[0] != ".snakemake")


def fails_in(rule: str, log: str, work: Path, config: Path, target: str, message: str) -> None:
    """Run up to ``target``: only ``rule`` fails, with ``message`` in its ``log`` and in Snakemake's output."""
    out = snakemake(work, target, config=config, succeed=False)
    assert re.findall(r"Error in rule (\w+):", out) == [rule], out
    assert message in (work / log).read_text() and message in out, out
    assert not [path for path in left_behind(work) if path.startswith("results/")]


def test_snapshot_file_with_a_nan_energy(tmp_path):
    from ase.build import bulk
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    frames = []
    for energy in (-37.0, math.nan, -36.9):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=np.zeros((8, 3)))
        frames.append(atoms)
    path = tmp_path / "snapshots.xyz"
    write(path, frames, format="extxyz")
    config = edited_config(tmp_path / "config.yaml", lambda c: c["gnn"]["snapshots"].update(files=[str(path)]))
    work = tmp_path / "work"
    fails_in("gnn_snapshots", "logs/gnn_snapshots.log", work, config, "resources/gnn/snapshots.npz",
             f"{path}, frame 1: non-finite energy (nan)")
    assert left_behind(work) == ["logs/gnn_snapshots.log"]


def test_force_constants_file_with_a_nan(smoke_run, tmp_path):
    from phonopy.file_IO import write_FORCE_CONSTANTS

    from ffdiff.data.phonopy import load_phonopy

    fc = load_phonopy(smoke_run / f"{REFERENCE}/phonopy_params.yaml").force_constants.copy()
    fc[0, 1, 2, 2] = np.nan
    path = tmp_path / "FORCE_CONSTANTS"
    write_FORCE_CONSTANTS(fc, filename=path)
    reference = local_reference(smoke_run / f"{REFERENCE}/vasp") | {
        "phonons": {"from": "force_constants", "file": str(path)}}
    config = edited_config(tmp_path / "config.yaml", lambda c: c.update(reference=reference))
    work = tmp_path / "work"
    fails_in("dft_force_constants", "logs/dft_force_constants.log", work, config,
             f"{REFERENCE}/phonopy_params.yaml", f"{path}, line 9 (atoms 1 and 2): non-finite force constants (nan)")
    assert f"{REFERENCE}/phonopy_params.yaml" not in left_behind(work)


def test_lammps_parameter_file_with_a_nan(smoke_run, tmp_path):
    from ffdiff.potentials.io import write_lammps

    path = tmp_path / "Si.sw"
    write_lammps(path, "sw", {})
    header, entry = path.read_text().splitlines()
    words = entry.split()
    path.write_text(f"{header}\n{' '.join(words[:6])}\nnan {' '.join(words[7:])}\n")  # lam, on line 3
    config = edited_config(tmp_path / "config.yaml", lambda c: (
        c.update(reference=local_reference(smoke_run / f"{REFERENCE}/vasp")),
        c["potentials"]["sw"].update(params_file=str(path))))
    work = tmp_path / "work"
    fails_in("check_potential", "logs/check_potential/sw.log", work, config, "results/potentials/sw/check.json",
             f"{path}, line 3: non-finite parameter lam (nan)")


def test_stray_phonopy_files_in_the_working_directory(smoke_run, tmp_path):
    """Garbage BORN, FORCE_SETS and FORCE_CONSTANTS next to the run do not break (or change) a phonon job."""
    target = "results/fits/phonon/sw/phonons.json"
    work = tmp_path / "work"
    shutil.copytree(smoke_run, work, symlinks=True)
    for name in ("BORN", "FORCE_SETS", "FORCE_CONSTANTS"):
        (work / name).write_text("garbage 1 2\nnot phonopy\n")
    (work / target).unlink()
    out = snakemake(work, target, "--allowed-rules", "phonon_properties")
    assert "Error" not in out, out
    assert json.loads((work / target).read_text()) == json.loads((smoke_run / target).read_text())
