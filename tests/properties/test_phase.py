"""The phase check of an MD run: MSD and temperature drift on synthetic trajectories, and the verdict on
a diamond crystal and a liquid simulated by ``run_md``."""

import numpy as np
import pytest

from conftest import diamond, md_settings, rattled
from ffdiff import get_potential
from ffdiff.md import run_md
from ffdiff.properties.phase import (
    MSD_THRESHOLD_A2,
    mean_squared_displacement,
    phase_check,
    phase_from_msd,
    temperature_drift,
)


def _vibrating(n_frames=50, amplitude=0.1, seed=0):
    """64 sites with independent Gaussian vibrations of ``amplitude`` Å per component."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0.0, 10.0, (64, 3))
    return sites + rng.normal(0.0, amplitude, (n_frames, 64, 3))


def test_msd_of_a_vibrating_crystal_is_its_vibration():
    """Vibrations of 0.1 Å per component: MSD = 2 · 3 · 0.01 Å² on average (sampled: within 30 %),
    whatever the frames in between, and a rigid shift of all atoms (centre-of-mass drift) adds nothing."""
    positions = _vibrating()
    msd = mean_squared_displacement(positions)
    assert msd == pytest.approx(0.06, rel=0.3)
    assert mean_squared_displacement(positions[[0, -1]]) == msd
    shifted = positions + np.linspace(0.0, 5.0, len(positions))[:, None, None]
    assert mean_squared_displacement(shifted) == pytest.approx(msd, abs=1e-12)
    assert phase_check(positions, np.full(len(positions), 300.0))["phase"] == "crystal"


def test_msd_of_a_random_walk_grows_linearly():
    """Steps of 0.3 Å per component: MSD after k steps = 3 · 0.09 · k Å² (within 25 % for 64 atoms);
    unwrapped positions are used as they are (a walk of 20 steps leaves a 10 Å box)."""
    rng = np.random.default_rng(1)
    positions = np.cumsum(rng.normal(0.0, 0.3, (21, 64, 3)), axis=0)
    assert mean_squared_displacement(positions) == pytest.approx(0.27 * 20, rel=0.25)
    check = phase_check(positions, np.full(21, 2000.0))
    assert check["phase"] == "liquid" and check["temperature_drift_K"] == 0.0
    assert phase_check(positions[:2], np.full(2, 2000.0))["phase"] == "crystal"  # one step: 0.27 Å²


def test_phase_threshold_and_temperature_drift():
    assert MSD_THRESHOLD_A2 == 1.0
    assert phase_from_msd(0.999) == "crystal" and phase_from_msd(1.001) == "liquid"
    assert phase_from_msd(0.5, threshold_A2=0.4) == "liquid"
    # a linear ramp 1000 -> 1400 K over 101 frames: quarter means 1048 and 1352 K
    assert temperature_drift(np.linspace(1000.0, 1400.0, 101)) == pytest.approx(304.0, abs=1e-9)
    assert temperature_drift([500.0, 400.0]) == -100.0  # one frame per quarter
    with pytest.raises(ValueError, match=r"n_frames >= 2"):
        temperature_drift([300.0])
    with pytest.raises(ValueError, match=r"n_frames >= 2, n_atoms, 3"):
        mean_squared_displacement(np.zeros((1, 8, 3)))


def _run(potential, atoms, temperature_K, n_steps):
    pot = get_potential(potential)
    params = pot.params()
    return run_md(pot.energy, params, atoms.positions, atoms.cell.array,
                  md_settings(n_steps, temperature_K=temperature_K, record_every=10), cutoff=pot.cutoff(params),
                  seed=0, triplets=pot.triplets, progress=False)


def test_sw_diamond_is_a_crystal():
    """SW diamond rattled by 0.02 Å, 64 atoms, started at 1000 K (about 550 K once equipartitioned), 500 fs
    NVE: the atoms only vibrate (measured MSD 0.024 Å²) and the temperature settles (measured drift
    -13 K; EDIP, the teacher, gives 0.014 Å² and -8 K but takes longer to compile)."""
    out = _run("sw", rattled(diamond(repeat=2), 0.02, seed=0), 1000.0, 500)
    check = phase_check(out["positions"], out["temperature"])
    assert out["stable"] and check["phase"] == "crystal"
    assert check["msd_A2"] < 0.2 * MSD_THRESHOLD_A2
    assert abs(check["temperature_drift_K"]) < 100.0


def test_sw_liquid_is_a_liquid(structures):
    """The 3000 K SW liquid (LAMMPS snapshot), 500 fs NVE from 3000 K with SW: the atoms diffuse (measured
    MSD 5.3 Å², temperature drift +112 K)."""
    out = _run("sw", structures["liquid64"], 3000.0, 500)
    check = phase_check(out["positions"], out["temperature"])
    assert out["stable"] and check["phase"] == "liquid"
    assert check["msd_A2"] > 2 * MSD_THRESHOLD_A2
