"""Phase of an MD run from its recorded frames: mean-squared displacement, temperature drift, and a
crystal-or-liquid verdict.

One threshold decides for every run, the teacher's sampled production (:mod:`ffdiff.data.teacher`) and
the GNN models' MD tests (:func:`ffdiff.fitting.gnn.md_test`): atoms that moved more than
:data:`MSD_THRESHOLD_A2` on average between the first and the last frame diffuse, so the run is a
liquid; below it they only vibrate about their sites, and the run is a crystal (an amorphous solid
reads "crystal" too).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["MSD_THRESHOLD_A2", "mean_squared_displacement", "phase_check", "phase_from_msd", "temperature_drift"]

#: Mean-squared displacement (Å²) over a run that separates a solid from a liquid.
#: A crystal's MSD saturates at twice its vibrational mean-square amplitude: even at melting
#: (Lindemann ratio ≈ 0.1–0.15 of the 2.35 Å bond) that is ≤ 0.25 Å². Liquid Si diffuses with
#: D ≈ 2e-4 cm²/s = 2e-3 Å²/fs (DFT), so its MSD = 6·D·t passes 1 Å² after ~100 fs and reaches tens of
#: Å² in 5 ps. EDIP's liquid is slower: at 2000 K its MSD was 1.2 Å² after 200 fs and 4.5 Å² after 1 ps
#: (D ≈ 7.5e-5 cm²/s). 1 Å² therefore separates the phases for a run of at least ~0.5 ps; a shorter
#: liquid run can read "crystal".
MSD_THRESHOLD_A2 = 1.0


def mean_squared_displacement(positions) -> float:
    """MSD in Å² between the first and the last frame, centre-of-mass drift removed.

    Args:
        positions: `[n_frames, n_atoms, 3]` unwrapped positions in Å (as :func:`ffdiff.md.run_md`
            records them; wrapped frames would count a crossing of the cell as a jump of a cell length).

    Raises:
        ValueError: fewer than two frames, or not `[n_frames, n_atoms, 3]`.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[0] < 2 or positions.shape[2] != 3:
        raise ValueError(f"expected [n_frames >= 2, n_atoms, 3] positions, got shape {positions.shape}")
    moved = positions[-1] - positions[0]
    moved -= moved.mean(axis=0)  # the centre of mass may drift (float round-off, a thermostat): not diffusion
    return float(np.mean(np.sum(moved**2, axis=1)))


def temperature_drift(temperature) -> float:
    """Mean temperature of the last quarter of the frames minus that of the first quarter, in K.

    Quarter means (at least one frame each), not the end points: a 64-atom cell's instantaneous
    temperature fluctuates by ~10 %. In NVE a drift means the energy is not conserved or the phase
    changed (melting takes up kinetic energy, freezing gives it back).

    Args:
        temperature: `[n_frames]` instantaneous temperatures in K, in time order.

    Raises:
        ValueError: fewer than two frames.
    """
    temperature = np.asarray(temperature, dtype=np.float64)
    if temperature.ndim != 1 or temperature.size < 2:
        raise ValueError(f"expected [n_frames >= 2] temperatures, got shape {temperature.shape}")
    quarter = max(1, temperature.size // 4)
    return float(temperature[-quarter:].mean() - temperature[:quarter].mean())


def phase_from_msd(msd_A2: float, threshold_A2: float = MSD_THRESHOLD_A2) -> Literal["crystal", "liquid"]:
    """``"liquid"`` if the MSD (Å²) exceeds ``threshold_A2``, else ``"crystal"`` (see :data:`MSD_THRESHOLD_A2`)."""
    return "liquid" if msd_A2 > threshold_A2 else "crystal"


def phase_check(positions, temperature, *, threshold_A2: float = MSD_THRESHOLD_A2) -> dict:
    """The phase check of a run's recorded frames (the first frame is the start).

    Args:
        positions: `[n_frames, n_atoms, 3]` unwrapped positions in Å.
        temperature: `[n_frames]` temperatures in K.
        threshold_A2: MSD (Å²) above which the run is a liquid.

    Returns:
        ``{"msd_A2": first to last frame (Å²), "temperature_drift_K": last quarter minus first quarter
        (K), "phase": "crystal" or "liquid"}``.
    """
    msd = mean_squared_displacement(positions)
    return {"msd_A2": msd, "temperature_drift_K": temperature_drift(temperature),
            "phase": phase_from_msd(msd, threshold_A2)}
