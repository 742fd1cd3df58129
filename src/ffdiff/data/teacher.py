"""Teacher data: Nosé–Hoover NVT runs of a reference ("teacher") calculator, sampled like Cubuk et al.

The study has no DFT offline, so a teacher potential stands in for it and produces the same kinds of
data as the Cubuk et al. (2017) set: 64-atom diamond cells at 300, 600 and 900 K and a liquid. By default
the teacher is ffdiff's EDIP (``ffdiff.Calculator("edip")``, checked against LAMMPS), but any ASE
calculator works, including a DFT code on a cluster; that is what the checkpoints are for.

Checkpoints are extended XYZ files of the sampled frames, rewritten atomically (every
``CHECKPOINT_SECONDS`` and at the end), with positions, momenta, energy and forces. A resume compares only
a few MD settings with the file's, not the calculator or the structure: a checkpoint folder must belong to
one run and its exact inputs (the workflow keys it by its job's fingerprint,
:func:`ffdiff.study.jobs.job_checkpoints`). A killed run restarts from the last saved frame and its momenta;
the Nosé–Hoover chain's own variables are not saved and restart at zero, which perturbs the thermostat
for about ``tdamp_fs`` after the restart. A run killed during equilibration restarts from the beginning.
Extended XYZ stores positions and momenta to 8 decimals, so a resumed run continues from a state rounded
to 1e-8 Å.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Literal

import numpy as np
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write
from ase.md.nose_hoover_chain import NoseHooverChainNVT
from ase.md.velocitydistribution import Stationary, force_temperature, thermalize_momenta

from ffdiff.data.dataset import Dataset
from ffdiff.finite import require_finite
from ffdiff.md.settings import MDSettings
from ffdiff.properties.phase import MSD_THRESHOLD_A2, phase_from_msd

__all__ = ["CUBUK_LIKE", "MSD_THRESHOLD_A2", "Condition", "mean_squared_displacement", "phase_of",
           "read_checkpoint", "run_nvt", "teacher_dataset"]

logger = logging.getLogger(__name__)

# MSD_THRESHOLD_A2 (1 Å²: MSD over the sampled production above which a run is a liquid) lives in
# ffdiff.properties.phase, so that the GNN models' MD tests judge their runs by the same threshold.

CHECKPOINT_SECONDS = 30.0  # wall time between checkpoint writes of a running teacher
# Metadata stored with every sampled frame; a checkpoint must match the run that resumes it.
_RUN_KEYS = ("target_temperature_K", "timestep_fs", "sample_every_fs", "tdamp_fs", "seed")


def _steps(duration_fs: float, timestep_fs: float, what: str) -> int:
    n = duration_fs / timestep_fs
    if duration_fs < 0 or not math.isclose(n, round(n), abs_tol=1e-6):
        raise ValueError(f"expected {what} to be a non-negative multiple of timestep_fs = {timestep_fs} fs, "
                         f"got {duration_fs}")
    return round(n)


def read_checkpoint(path) -> list[Atoms]:
    """Frames saved by :func:`run_nvt` (``[]`` if the file does not exist or is empty)."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        return read(path, index=":", format="extxyz")
    except Exception as err:  # ASE raises several types on malformed files
        raise ValueError(f"cannot read the checkpoint {path}: {err}; delete it to start afresh") from err


def _write_checkpoint(path: Path, frames: list[Atoms]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp, frames, format="extxyz")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sample(atoms: Atoms, time_fs: float, run: dict) -> Atoms:
    """Copy of the MD state with its results frozen; positions wrapped into the cell."""
    frame = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc,
                  momenta=atoms.get_momenta())
    frame.wrap()
    frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(),
                                       forces=atoms.get_forces().copy())
    frame.info.update(temperature=float(atoms.get_temperature()), time_fs=float(time_fs), **run)
    return frame


def _require_finite_state(atoms: Atoms, step: int, timestep_fs: float, run: dict, checkpoint) -> None:
    """Stop a run whose teacher returned a non-finite energy or force (cached, so this costs nothing).

    Raises:
        FloatingPointError: naming the run (temperature, seed, checkpoint), the step and the time.
    """
    where = (f"NVT run at {run['target_temperature_K']:g} K, seed {run['seed']}"
             f"{f', checkpoint {checkpoint}' if checkpoint is not None else ''}, step {step} "
             f"({step * timestep_fs:g} fs)")
    require_finite(atoms.get_potential_energy(), "potential energy", where, error=FloatingPointError)
    require_finite(atoms.get_forces(), "forces", where, error=FloatingPointError)


def _check_resume(path: Path, frames: list[Atoms], atoms: Atoms, run: dict) -> None:
    for key, value in run.items():
        found = frames[0].info.get(key)
        if found is None or not math.isclose(float(found), float(value), rel_tol=1e-12):
            raise ValueError(f"{path}: checkpoint has {key} = {found}, this run asks for {value}; "
                             "delete it or use another path")
    if len(frames[-1]) != len(atoms) or "momenta" not in frames[-1].arrays:
        raise ValueError(f"{path}: checkpoint frames have {len(frames[-1])} atoms "
                         f"({'with' if 'momenta' in frames[-1].arrays else 'without'} momenta), "
                         f"this run has {len(atoms)}")


def run_nvt(atoms: Atoms, calculator, md: MDSettings, *, equilibration_steps: int, seed: int, checkpoint=None,
            progress: bool = True) -> list[Atoms]:
    """Nosé–Hoover chain NVT run of ``calculator``: ``equilibration_steps`` discarded, then ``md.n_steps``
    of production sampled every ``md.record_every`` steps.

    Velocities start Maxwell–Boltzmann at ``md.temperature_K`` (seeded, centre-of-mass motion removed,
    rescaled to exactly ``md.temperature_K``); ``md.n_steps // md.record_every`` frames are sampled, the
    first ``md.record_every`` steps after equilibration ends.

    Args:
        atoms: the starting structure (not modified).
        calculator: any ASE calculator; it is attached to a copy of ``atoms``.
        md: the run: ``timestep_fs``, thermostat target ``temperature_K`` and time constant ``tdamp_fs``,
            production ``n_steps`` sampled every ``record_every`` steps; ``ensemble`` must be ``"nvt"``.
        equilibration_steps: steps run and discarded before the production.
        seed: seed of the numpy ``Generator`` drawing the initial velocities.
        checkpoint: extended XYZ file of the frames so far; rewritten every ``CHECKPOINT_SECONDS``, and, if it
            exists, the run continues from its last frame (see the module docstring).
        progress: show a tqdm progress bar on stderr.

    Returns:
        Frames with a ``SinglePointCalculator`` (energy eV, forces `[n_atoms, 3]` eV/Å), momenta
        (amu·Å/fs in ASE units), positions wrapped into the cell, and ``info`` keys ``temperature``
        (instantaneous kinetic temperature, K), ``time_fs`` (since the start of equilibration),
        ``target_temperature_K``, ``timestep_fs``, ``sample_every_fs``, ``tdamp_fs`` and ``seed``.

    Raises:
        ValueError: an ensemble other than NVT, a temperature not above 0 K, negative
            ``equilibration_steps``, or a checkpoint of another run.
        FloatingPointError: the calculator returned a non-finite energy or force (checked every
            ``md.record_every`` steps, equilibration included); no frame of it is kept.

    References:
        Martyna, Klein, Tuckerman, J. Chem. Phys. 97, 2635 (1992), doi:10.1063/1.463940 (via ASE's
        ``NoseHooverChainNVT``).
    """
    if md.ensemble != "nvt" or not md.temperature_K > 0 or equilibration_steps < 0:
        raise ValueError(f"expected an NVT run above 0 K with equilibration_steps >= 0, got {md.ensemble} at "
                         f"{md.temperature_K} K and {equilibration_steps} steps")
    timestep_fs, temperature_K, n_equilibration, n_every = (md.timestep_fs, md.temperature_K, equilibration_steps,
                                                             md.record_every)
    n_samples = md.n_steps // n_every
    run = {"target_temperature_K": float(temperature_K), "timestep_fs": float(timestep_fs),
           "sample_every_fs": float(n_every * timestep_fs), "tdamp_fs": float(md.tdamp_fs), "seed": int(seed)}
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    frames = read_checkpoint(checkpoint) if checkpoint is not None else []
    if frames:
        _check_resume(checkpoint, frames, atoms, run)
        logger.info("%s: resuming after %d of %d frames", checkpoint, len(frames), n_samples)
        if len(frames) >= n_samples:
            return frames[:n_samples]
        state = frames[-1].copy()  # keeps the momenta; the thermostat chain restarts at rest
        step = round(frames[-1].info["time_fs"] / timestep_fs)
        n_equilibration = 0
    else:
        state = atoms.copy()
        thermalize_momenta(state, temperature_K, rng=np.random.default_rng(seed))
        Stationary(state)
        force_temperature(state, temperature_K)  # the start is at the target, not a random draw of it
        step = 0
    state.calc = calculator
    dynamics = NoseHooverChainNVT(state, timestep=timestep_fs * units.fs, temperature_K=temperature_K,
                                  tdamp=md.tdamp_fs * units.fs)
    from tqdm import tqdm

    total = n_equilibration + (n_samples - len(frames)) * n_every
    saved = time.monotonic()
    with tqdm(total=total, file=sys.stderr, disable=not progress, unit="step", mininterval=5.0,
              desc=f"NVT {temperature_K:g} K") as bar:
        for start in range(0, n_equilibration, n_every):
            chunk = min(n_every, n_equilibration - start)
            dynamics.run(chunk)
            _require_finite_state(state, step + start + chunk, timestep_fs, run, checkpoint)
            bar.update(chunk)
        step += n_equilibration
        while len(frames) < n_samples:
            dynamics.run(n_every)
            step += n_every
            bar.update(n_every)
            _require_finite_state(state, step, timestep_fs, run, checkpoint)
            frames.append(_sample(state, step * timestep_fs, run))
            # Rewriting the file costs O(frames): do it every CHECKPOINT_SECONDS, and at the end.
            if checkpoint is not None and (time.monotonic() - saved > CHECKPOINT_SECONDS
                                           or len(frames) == n_samples):
                _write_checkpoint(checkpoint, frames)
                saved = time.monotonic()
    return frames


def mean_squared_displacement(frames) -> float:
    """MSD (Å²) between the first and last frame, centre-of-mass drift removed.

    Positions are unwrapped by adding minimum-image steps between consecutive frames, so no atom may
    move more than half a cell height between two frames (true for liquid Si sampled every ≤ 200 fs).
    """
    frames = list(frames)
    if len(frames) < 2:
        raise ValueError(f"expected at least 2 frames for a displacement, got {len(frames)}")
    total = np.zeros_like(frames[0].positions)
    for previous, current in zip(frames[:-1], frames[1:], strict=True):
        if len(current) != len(previous):
            raise ValueError(f"frames with {len(previous)} and {len(current)} atoms; expected one atom count")
        step = current.positions - previous.positions
        fractional = np.linalg.solve(current.cell.array.T, step.T).T
        total += (fractional - np.round(fractional)) @ current.cell.array
    total -= total.mean(axis=0)
    return float(np.mean(np.sum(total**2, axis=1)))


def phase_of(frames, *, threshold_A2: float = MSD_THRESHOLD_A2) -> Literal["crystal", "liquid"]:
    """``"liquid"`` if the atoms diffuse (MSD over the frames > ``threshold_A2``), else ``"crystal"``.

    See :data:`ffdiff.properties.phase.MSD_THRESHOLD_A2` for why 1 Å²; an amorphous solid also reads
    ``"crystal"`` here.
    """
    return phase_from_msd(mean_squared_displacement(frames), threshold_A2)


@dataclasses.dataclass(frozen=True)
class Condition:
    """One run of the teacher set.

    Attributes:
        name: label; frames get the source ``"<prefix>:<name>"``.
        temperature_K: NVT temperature, K.
        phase: the phase the run must be in (checked with :func:`phase_of`).
        melt_K: for a liquid, melt the crystal at this temperature for ``melt_fs`` first, K.
    """

    name: str
    temperature_K: float
    phase: Literal["crystal", "liquid"] = "crystal"
    melt_K: float | None = None


#: The Cubuk et al. conditions: diamond at 300, 600 and 900 K, and a liquid (EDIP melts near 1530 K).
CUBUK_LIKE = (Condition("cubic_300K", 300.0), Condition("cubic_600K", 600.0), Condition("cubic_900K", 900.0),
              Condition("liquid_2000K", 2000.0, "liquid", melt_K=4000.0))


def _condition_frames(condition: Condition, crystal: Atoms, calculator, folder: Path | None, md: MDSettings, *,
                      equilibration_steps: int, melt_fs: float, seed: int, progress: bool) -> list[Atoms]:
    """The sampled frames of one condition: melted first if it says so (``md`` at ``melt_K`` for ``melt_fs``),
    then :func:`run_nvt` with ``md``."""
    start = crystal
    if condition.melt_K is not None:
        n_melt = _steps(melt_fs, md.timestep_fs, "melt_fs")
        if n_melt < 1:
            raise ValueError(f"expected melt_fs >= timestep_fs = {md.timestep_fs}, got {melt_fs}")
        melt = run_nvt(crystal, calculator, md.replace(temperature_K=condition.melt_K, n_steps=n_melt,
                                                       record_every=n_melt),
                       equilibration_steps=0, seed=seed, progress=progress,
                       checkpoint=folder / f"{condition.name}.melt.extxyz" if folder else None)
        start = melt[-1]
    return run_nvt(start, calculator, md, equilibration_steps=equilibration_steps, seed=seed, progress=progress,
                   checkpoint=folder / f"{condition.name}.extxyz" if folder else None)


def teacher_dataset(calculator=None, *, conditions=CUBUK_LIKE, lattice_constant: float, repeat: int = 2,
                    timestep_fs: float, tdamp_fs: float, equilibration_fs: float = 2000.0,
                    production_fs: float = 10000.0, sample_every_fs: float = 10.0, melt_fs: float,
                    seed: int = 0, source_prefix: str = "teacher",
                    check_phase: bool = True, checkpoint_dir=None,
                    progress: bool = True) -> tuple[Dataset, dict]:
    """The Cubuk-like set from a teacher: one :func:`run_nvt` per condition on a diamond supercell.

    The keywords of the config block ``gnn.md`` (``timestep_fs``, ``tdamp_fs``, ``lattice_constant``,
    ``melt_fs``) are this function's, so the block passes straight in.

    Args:
        calculator: ASE calculator; ``None`` uses ``ffdiff.Calculator("edip")``.
        conditions: the runs (default :data:`CUBUK_LIKE`).
        lattice_constant: cubic diamond lattice constant, Å.
        repeat: supercell of the 8-atom cubic cell (2 gives 64 atoms).
        timestep_fs: integration step, fs.
        tdamp_fs: thermostat time constant, fs.
        equilibration_fs, production_fs, sample_every_fs: durations, fs; equilibration and sampling
            multiples of ``timestep_fs``; ``floor(production_fs / sample_every_fs)`` frames are sampled.
        melt_fs: duration of the melting run before a liquid condition, fs (a multiple of ``timestep_fs``).
        seed: master seed; each condition gets its own seed drawn from it.
        source_prefix: label prefix, e.g. ``"teacher-edip"``.
        check_phase: raise when a run ends in another phase than its condition says; otherwise
            the phase found is only recorded (short test runs, or conditions meant to be checked).
        checkpoint_dir: folder for ``<name>.extxyz`` (and ``<name>.melt.extxyz``) checkpoints, this call's
            alone (see the module docstring).
        progress: tqdm progress bars on stderr.

    Returns:
        (dataset, metadata): metadata maps each condition name to its settings, seed, frame count,
        measured MSD (Å²), the MSD threshold and the phase found.

    Raises:
        ValueError: a time step or time constant not above 0, or durations that are not multiples of the
            time step.
        RuntimeError: a run ends in another phase than its condition says (e.g. a liquid that did not
            melt); raise ``melt_K`` or ``melt_fs``, or lengthen the production.
    """
    if calculator is None:
        from ffdiff.calculator import Calculator

        calculator = Calculator("edip")
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    if not (timestep_fs > 0 and tdamp_fs > 0):
        raise ValueError(f"expected timestep_fs, tdamp_fs > 0, got {timestep_fs}, {tdamp_fs}")
    n_every = _steps(sample_every_fs, timestep_fs, "sample_every_fs")
    if n_every < 1:
        raise ValueError(f"expected sample_every_fs >= timestep_fs = {timestep_fs}, got {sample_every_fs}")
    n_production = int(production_fs // sample_every_fs + 1e-9) * n_every  # whole sampling intervals
    n_equilibration = _steps(equilibration_fs, timestep_fs, "equilibration_fs")
    seeds = np.random.SeedSequence(seed).generate_state(len(conditions)).tolist()
    crystal = bulk("Si", "diamond", a=lattice_constant, cubic=True).repeat(repeat)
    parts, metadata = [], {}
    for condition, condition_seed in zip(conditions, seeds, strict=True):
        try:
            md = MDSettings(timestep_fs=timestep_fs, tdamp_fs=tdamp_fs, temperature_K=condition.temperature_K,
                            ensemble="nvt", n_steps=n_production, record_every=n_every)
            frames = _condition_frames(condition, crystal, calculator, folder, md,
                                       equilibration_steps=n_equilibration, melt_fs=melt_fs, seed=condition_seed,
                                       progress=progress)
        except FloatingPointError as err:  # name the condition, not only the run's temperature and seed
            raise FloatingPointError(f"{source_prefix}:{condition.name}: {err}") from None
        msd = mean_squared_displacement(frames)
        phase = phase_from_msd(msd)
        if check_phase and phase != condition.phase:
            raise RuntimeError(f"{condition.name}: expected a {condition.phase}, the run is a {phase} "
                               f"(MSD {msd:.3g} Å², threshold {MSD_THRESHOLD_A2} Å²)")
        source = f"{source_prefix}:{condition.name}"
        parts.append(Dataset.from_frames(frames, source))
        metadata[condition.name] = {**dataclasses.asdict(condition), "source": source, "seed": condition_seed,
                                    "frames": len(frames), "msd_A2": msd, "msd_threshold_A2": MSD_THRESHOLD_A2,
                                    "phase_found": phase}
        logger.info("%s: %d frames, MSD %.3g Å² (%s)", source, len(frames), msd, phase)
    return Dataset.concatenate(*parts), metadata
