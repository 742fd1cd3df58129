"""Teacher NVT runs with ffdiff's EDIP: stored results, reproducibility, resuming, phase detection."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import read, write

from conftest import md_settings
from ffdiff import Calculator
from ffdiff.data.teacher import (
    MSD_THRESHOLD_A2,
    Condition,
    mean_squared_displacement,
    phase_of,
    run_nvt,
    teacher_dataset,
)

# 300 fs equilibration + 200 fs production sampled every 50 fs: 4 frames, ~3 s of EDIP MD.
MD = md_settings(200, ensemble="nvt", record_every=50)
RUN = {"equilibration_steps": 300, "progress": False}
# The config's gnn.md block: teacher_dataset takes it as it is.
GNN_MD = {"timestep_fs": 1.0, "tdamp_fs": 100.0, "lattice_constant": 5.431, "melt_fs": 3000.0}


def _crystal() -> Atoms:
    return bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)


@pytest.fixture(scope="module")
def run300(tmp_path_factory):
    path = tmp_path_factory.mktemp("teacher") / "cubic_300K.extxyz"
    return run_nvt(_crystal(), Calculator("edip"), MD, seed=1, checkpoint=path, **RUN), path


def test_frames_hold_the_teacher_results(run300):
    frames, _ = run300
    assert [f.info["time_fs"] for f in frames] == [350.0, 400.0, 450.0, 500.0]
    fresh = Calculator("edip")
    for frame in frames:
        reference = frame.copy()
        reference.calc = fresh
        assert frame.get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(frame.get_forces(), reference.get_forces(), atol=1e-10)
        assert np.all(frame.get_scaled_positions(wrap=False) >= 0) and np.all(frame.get_scaled_positions() < 1)
    temperatures = [f.info["temperature"] for f in frames]
    # 64 atoms fluctuate by ~10 % (sqrt(2 / 3N)) around the target.
    assert 200 < np.mean(temperatures) < 400 and all(100 < t < 600 for t in temperatures)
    assert phase_of(frames) == "crystal" and mean_squared_displacement(frames) < 0.1


def test_same_seed_same_frames(run300):
    frames, _ = run300
    again = run_nvt(_crystal(), Calculator("edip"), MD, seed=1, **RUN)
    other = run_nvt(_crystal(), Calculator("edip"), MD, seed=2, **RUN)
    for a, b in zip(frames, again, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.get_momenta(), b.get_momenta())
        assert a.get_potential_energy() == b.get_potential_energy()
    assert np.abs(frames[-1].positions - other[-1].positions).max() > 1e-3


def test_resume_from_partial_checkpoint(run300, tmp_path):
    frames, path = run300
    assert len(read(path, index=":")) == 4
    partial = tmp_path / "partial.extxyz"
    write(partial, read(path, index=":2"), format="extxyz")  # as if killed after the second sample
    resumed = run_nvt(_crystal(), Calculator("edip"), MD, seed=1, checkpoint=partial, **RUN)
    assert len(resumed) == 4 and len(read(partial, index=":")) == 4
    assert [f.info["time_fs"] for f in resumed] == [350.0, 400.0, 450.0, 500.0]
    for a, b in zip(frames[:2], resumed[:2], strict=True):
        np.testing.assert_allclose(b.positions, a.positions, atol=1e-7)  # extxyz keeps 8 decimals
    # The continuation starts from the saved state; only the thermostat chain restarted at rest.
    assert np.abs(resumed[2].positions - frames[2].positions).max() < 0.05
    # A finished checkpoint returns at once; one from another run is refused.
    assert len(run_nvt(_crystal(), Calculator("edip"), MD, seed=1, checkpoint=partial, **RUN)) == 4
    with pytest.raises(ValueError, match="partial.extxyz: checkpoint has target_temperature_K = 300.0, this run "
                                         "asks for 600.0; delete it"):
        run_nvt(_crystal(), Calculator("edip"), MD.replace(temperature_K=600.0), seed=1, checkpoint=partial, **RUN)


def test_phase_of_diffusing_frames():
    """A fabricated random walk (0.6 Å steps, wrapped into the cell) reads as a liquid."""
    rng = np.random.default_rng(0)
    atoms = _crystal()
    position = atoms.positions.copy()
    frames = []
    for _ in range(20):
        position = position + rng.normal(scale=0.6 / np.sqrt(3), size=position.shape)
        frame = Atoms(atoms.symbols, positions=position, cell=atoms.cell, pbc=True)
        frame.wrap()
        frames.append(frame)
    assert mean_squared_displacement(frames) == pytest.approx(19 * 0.36, rel=0.2)  # unwrapped correctly
    assert phase_of(frames) == "liquid" and phase_of(frames[:2]) == "crystal"
    assert MSD_THRESHOLD_A2 == 1.0
    with pytest.raises(ValueError, match="expected at least 2 frames"):
        phase_of(frames[:1])


def test_teacher_dataset_labels_and_checks_phase(tmp_path):
    short = {**GNN_MD, "equilibration_fs": 100.0, "production_fs": 100.0, "sample_every_fs": 50.0, "progress": False}
    data, metadata = teacher_dataset(Calculator("edip"), conditions=(Condition("cubic_300K", 300.0),),
                                     source_prefix="teacher-edip", checkpoint_dir=tmp_path, **short)
    assert len(data) == 2 and data.sources.tolist() == ["teacher-edip:cubic_300K"] * 2
    assert metadata["cubic_300K"]["phase_found"] == "crystal" and metadata["cubic_300K"]["msd_threshold_A2"] == 1.0
    assert (tmp_path / "cubic_300K.extxyz").exists()
    with pytest.raises(RuntimeError, match="not_melted: expected a liquid, the run is a crystal"):
        teacher_dataset(Calculator("edip"), conditions=(Condition("not_melted", 300.0, "liquid"),), **short)
