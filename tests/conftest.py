"""Shared fixtures: the test structures, including liquid and amorphous snapshots made by LAMMPS MD;
the session's compilation cache and the scheduling of the test workers."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ffdiff import get_potential
from ffdiff.md.settings import MDSettings
from ffdiff.runtime import enable_compilation_cache
from ffdiff.study.jobs import COMPILATION_CACHE

ROOT = Path(__file__).resolve().parents[1]


def diamond(a: float = 5.431, repeat: int = 1) -> Atoms:
    return bulk("Si", "diamond", a=a, cubic=True).repeat(repeat)


def md_settings(n_steps: int, **changes) -> MDSettings:
    """``n_steps`` of 1 fs NVE from 300 K, every step recorded (100 fs thermostat constant for NVT);
    ``changes`` override any field."""
    return MDSettings(**{"timestep_fs": 1.0, "tdamp_fs": 100.0, "temperature_K": 300.0, "ensemble": "nve",
                         "n_steps": n_steps, "record_every": 1, **changes})


def md_start(potential, atoms, temperature_K, seed, skin=1.0):
    """(potential, params, box, list, initial state) of ``atoms`` at ``temperature_K`` (velocities from
    ``seed``) for MD tests."""
    import jax
    import jax.numpy as jnp

    from ffdiff import neighbor_list
    from ffdiff.md.integrators import init_state

    pot = get_potential(potential)
    params = pot.params()
    box = jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(atoms.positions, box, pot.cutoff(params), skin=skin)
    state = init_state(pot.energy, params, jnp.asarray(atoms.positions), box, nbrs,
                       temperature_K=temperature_K, key=jax.random.PRNGKey(seed))
    return pot, params, box, nbrs, state


def rattled(atoms: Atoms, stdev: float, seed: int) -> Atoms:
    atoms = atoms.copy()
    atoms.rattle(stdev=stdev, seed=seed)
    return atoms


def deformed(atoms: Atoms, matrix) -> Atoms:
    """Apply x -> x @ matrix to positions and cell rows (lower-triangular matrix keeps LAMMPS's frame)."""
    atoms = atoms.copy()
    atoms.set_cell(atoms.cell.array @ np.asarray(matrix), scale_atoms=True)
    return atoms


def labelled_frames(n_frames: int, repeat: int = 2, seed: int = 0) -> list[Atoms]:
    """Rattled diamond frames with made-up finite energies (about -368.9 eV per 64 atoms) and forces."""
    from ase.calculators.singlepoint import SinglePointCalculator

    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        atoms = diamond(repeat=repeat)
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=float(-5.764 * len(atoms) + rng.normal()),
                                           forces=rng.normal(size=(len(atoms), 3)))
        frames.append(atoms)
    return frames


def write_aselmdb(folder: Path, phases: dict[str, list[Atoms]], shard_size: int) -> Path:
    """The Cubuk database's layout, written with ase-db-backends: ``manifest.json`` (``shard_size``,
    ``source_counts`` by ``MD_DATA.<phase>``) and ``data_0000.aselmdb``, ... holding the frames of the
    phases in name order, ``shard_size`` rows each, every row with ``data["phase"]``."""
    import json

    from ase.db import connect

    folder.mkdir(parents=True)
    rows = [(phase, atoms) for phase in sorted(phases) for atoms in phases[phase]]
    for start in range(0, len(rows), shard_size):
        with connect(folder / f"data_{start // shard_size:04d}.aselmdb") as db:
            for phase, atoms in rows[start:start + shard_size]:
                db.write(atoms, data={"phase": phase})
    counts = {f"MD_DATA.{phase}": len(frames) for phase, frames in phases.items()}
    (folder / "manifest.json").write_text(json.dumps({"shard_size": shard_size, "source_counts": counts}))
    return folder


_OUTCAR_HEAD = """ vasp.6.4.2 20Jul23 (build Nov 09 2023 13:40:50) complex

 executed on             LinuxIFC date 2024.03.11  10:12:47
 running on    4 total cores
 distrk:  each k-point on    4 cores,    1 groups
 distr:  one band on NCORE=   1 cores,    4 groups

 POTCAR:    PAW_PBE Si 05Jan2001
 Dimension of arrays:
   k-points           NKPTS =     10   k-points in BZ     NKDIM =     10   number of bands    NBANDS=     16
   number of dos      NEDOS =    301   number of ions     NIONS =      2
   ions per type =               2
   IBRION =      6    ionic relax: 0-MD 1-quasi-New 2-CG
   ISIF   =      3    stress and relaxation
 total plane-waves  NPLWV =  13824
"""
_OUTCAR_TAIL = """
 General timing and accounting informations for this job:
 ========================================================

                  Total CPU time used (sec):      584.746
                            User time (sec):      564.399
                          System time (sec):       20.347
                         Elapsed time (sec):      607.447
"""


def outcar_text(total, clamped=None) -> str:
    """An OUTCAR of a VASP IBRION = 6, ISIF = 3 run as VASP prints it: the header pymatgen's ``Outcar``
    needs, the clamped-ion, symmetrized, ionic-relaxation and total elastic moduli blocks (rows of
    ``F12.4`` kBar, in VASP's order XX YY ZZ XY YZ ZX; ``clamped`` defaults to ``total``, the ionic
    contribution is the difference), and the timing at the end."""
    total = np.asarray(total, dtype=float)
    clamped = total if clamped is None else np.asarray(clamped, dtype=float)
    dashes = " " + "-" * 80 + "\n"

    def block(title, matrix):
        rows = "".join(f" {label}     " + "".join(f"{v:12.4f}" for v in row) + "\n"
                       for label, row in zip(["XX", "YY", "ZZ", "XY", "YZ", "ZX"], matrix, strict=True))
        return (f" {title} (kBar)\n Direction    XX          YY          ZZ          XY          YZ          ZX\n"
                + dashes + rows + dashes + "\n")

    return (_OUTCAR_HEAD + "\n" + block("ELASTIC MODULI", clamped) + block("SYMMETRIZED ELASTIC MODULI", clamped)
            + block("ELASTIC MODULI CONTR FROM IONIC RELAXATION", total - clamped)
            + block("TOTAL ELASTIC MODULI", total) + _OUTCAR_TAIL)


SHEAR = [[1.0, 0.0, 0.0], [0.12, 1.0, 0.0], [-0.08, 0.10, 1.0]]
STRAIN_8 = [[1.01, 0.0, 0.0], [0.004, 0.995, 0.0], [0.0, -0.003, 1.002]]

CRYSTALS = {
    "diamond8": lambda: diamond(),
    "diamond64": lambda: diamond(repeat=2),
    "diamond216": lambda: diamond(repeat=3),
    "strained8": lambda: deformed(diamond(), STRAIN_8),
    "rattled0.05": lambda: rattled(diamond(repeat=2), 0.05, 1),
    "rattled0.15": lambda: rattled(diamond(repeat=2), 0.15, 2),
    "rattled0.30": lambda: rattled(diamond(repeat=2), 0.30, 3),
    "triclinic64": lambda: rattled(deformed(diamond(repeat=2), SHEAR), 0.1, 4),
    "primitive2": lambda: rattled(bulk("Si", "diamond", a=5.431), 0.05, 5),  # cell < 2 cutoffs
}


def assert_gradient_matches_differences(objective, theta, rel: float = 1e-6, step: float = 1e-6) -> None:
    """A compiled fit objective's gradient at ``theta`` against central differences of its value (steps
    ``step`` × |θ_k|), every component to ``rel``."""
    theta = np.asarray(theta, dtype=np.float64)
    _, grad = objective.value_and_grad(theta)
    for k in range(len(theta)):
        h = step * abs(theta[k])
        shift = np.zeros(len(theta))
        shift[k] = h
        fd = (objective.value(theta + shift) - objective.value(theta - shift)) / (2 * h)
        assert np.asarray(grad)[k] == pytest.approx(fd, rel=rel), (k, grad[k], fd)


def _md(potential: str, schedule, seed: int) -> Atoms:
    from ffdiff.interop.lammps import md_snapshot

    params = {k: float(v) for k, v in get_potential(potential).params().items()}
    return md_snapshot(diamond(repeat=2), potential, params, schedule, seed)


def pytest_configure(config) -> None:
    """One JAX compilation cache for the whole session, in a fresh directory: the test processes (the
    xdist workers) and every workflow job they start share it, so a program compiled by one test or
    job is loaded by the next that needs it, as a user's reruns do. A test that needs a cold cache
    sets its own."""
    if not hasattr(config, "workerinput"):  # the controlling process: workers inherit its environment
        path = tempfile.mkdtemp(prefix="ffdiff-tests-jax-cache-")
        os.environ[COMPILATION_CACHE] = path
        config.add_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))
    enable_compilation_cache(os.environ[COMPILATION_CACHE])  # before this process compiles anything


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Two workers (pyproject's addopts): every test under tests/workflow/ goes to one of them, as one
    unit, so the session runs the smoke DAG (a session fixture there) once; the other tests are
    spread over both. (xdist's own ``xdist_group`` marks do nothing under pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class WorkflowTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "workflow" if nodeid.startswith("tests/workflow/") else nodeid

    return WorkflowTogether(config, log)


@pytest.fixture(scope="session")
def structures() -> dict[str, Atoms]:
    """Crystals plus a 3000 K SW liquid and an EDIP melt-quench amorphous snapshot (64 atoms)."""
    out = {name: make() for name, make in CRYSTALS.items()}
    out["liquid64"] = _md("sw", [(3000.0, 3000.0, 4000)], seed=4928)
    out["amorphous64"] = _md("edip", [(3000.0, 3000.0, 3000), (3000.0, 300.0, 6000)], seed=1307)
    return out


@pytest.fixture(scope="session")
def vasp_reference(tmp_path_factory) -> dict:
    """phonopy's VASP Si example (downloaded once per session from the package index)."""
    import yaml

    from ffdiff.data import download_sdist, extract_members

    config = yaml.safe_load(open(ROOT / "config/config.yaml"))["reference"]["phonopy_example"]
    folder = tmp_path_factory.mktemp("vasp")
    tarball = download_sdist("phonopy", config["version"], folder / "downloads")
    files = {"unitcell": folder / "POSCAR-unitcell", "displacements": folder / "displacements.yaml",
             "vasprun": folder / "vasprun-001.xml"}
    example = config["example"]
    extract_members(tarball, {f"{example}/POSCAR-unitcell": files["unitcell"],
                              f"{example}/disp.yaml": files["displacements"],
                              f"{example}/vasprun.xml": files["vasprun"]}, sha256=config["sha256"])
    return files


@pytest.fixture(scope="session")
def dft_phonon(vasp_reference):
    """phonopy object with the DFT force constants of the 64-atom supercell."""
    from ase.io import read

    from ffdiff.data.phonopy import phonopy_from_displacements, read_displacements
    from ffdiff.data.vasp import read_vasprun

    supercell, dataset = read_displacements(vasp_reference["displacements"])
    forces = [read_vasprun(vasp_reference["vasprun"]).get_forces()]
    return phonopy_from_displacements(read(vasp_reference["unitcell"]), supercell, dataset, forces)
