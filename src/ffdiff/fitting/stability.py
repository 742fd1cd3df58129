"""Replicated MD tests of a potential: does it stay stable, in which phase, and how close is its RDF
to the reference?

One MD run of a chaotic system says little: the step at which a marginal model fails swings by
10-30x between runs that differ only in their velocity draw. :func:`md_runs` therefore runs every
model N times, from N start frames of the reference trajectory with N velocity seeds, the same N for
every model (common random numbers); :mod:`ffdiff.statistics` summarises and compares the runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.md import MDSettings, run_md, shared_list
from ffdiff.properties.phase import phase_check
from ffdiff.properties.rdf import rdf_mse, smooth_rdf

logger = logging.getLogger(__name__)

__all__ = ["FINAL_FRAMES", "md_runs", "replica_plan", "run_summary"]

FINAL_FRAMES = 5
"""Recorded frames before a failure whose RDF shows the structure a run failed from (50 fs at the
default record interval of 10 steps)."""


def replica_plan(n_frames: int, n_runs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(`[n_runs]` start frames spread evenly over a trajectory of ``n_frames``, `[n_runs]` velocity
    seeds drawn from ``seed``): the same for every model tested on that trajectory.

    Examples:
        >>> frames, seeds = replica_plan(500, 4, seed=0)
        >>> frames.tolist(), len(set(seeds.tolist()))
        ([0, 166, 333, 499], 4)
    """
    if not 1 <= n_runs <= n_frames:
        raise ValueError(f"expected 1 <= n_runs <= {n_frames} frames, got {n_runs}")
    frames = np.round(np.linspace(0, n_frames - 1, n_runs)).astype(int)
    seeds = np.random.default_rng(seed).choice(2**31 - 1, size=n_runs, replace=False)
    return frames, seeds


def md_runs(potential, params, trajectory_positions, box, g_ref, grid, md: MDSettings, *, sigma: float, n_runs: int,
            seed: int, skin: float = 1.0, min_distance: float = 1.5, dtype: str = "float64",
            progress: bool = True) -> list[dict]:
    """``n_runs`` independent MD runs of ``potential`` (a :class:`ffdiff.potentials.Potential`: a GNN or
    the teacher) from frames of a reference trajectory (:func:`replica_plan`), each as
    :func:`md_run`. Every run shares one list size (:func:`ffdiff.md.shared_list`), so one
    compiled program serves all of them.

    Args:
        trajectory_positions: `[F, N, 3]` reference frames (Å); ``box`` their `[3, 3]` cell.
        g_ref, grid, sigma: the reference g(r) on ``grid`` (Å) and the smoothing width (Å).
        md: the settings of every run.
        dtype: ``"float32"`` or ``"float64"`` for positions, velocities and parameters.
        Others as :func:`ffdiff.md.run_md`.

    Returns:
        One dict per run (see :func:`md_run`), with ``start_frame`` and ``seed``.
    """
    frames, seeds = replica_plan(len(trajectory_positions), n_runs, seed)
    starts = np.asarray(trajectory_positions)[frames].astype(dtype)
    params = jax.tree.map(lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)
                          else x, params)
    cutoff = potential.cutoff(params)
    size = shared_list(starts, box, cutoff=cutoff, skin=skin, three_body=potential.three_body,
                       triplets=potential.triplets)
    runs = []
    for k, (frame, velocity_seed) in enumerate(zip(frames, seeds, strict=True)):
        run = run_md(potential.energy, params, starts[k], box, md, cutoff=cutoff, skin=skin, seed=int(velocity_seed),
                     min_distance=min_distance, three_body=potential.three_body, triplets=potential.triplets,
                     size_like=size, progress=progress)
        runs.append({"start_frame": int(frame), "seed": int(velocity_seed),
                     **run_summary(run, box, g_ref, grid, sigma=sigma)})
        logger.info("run %d/%d (frame %d, seed %d): %s, RDF MSE %s, phase %s", k + 1, n_runs, frame, velocity_seed,
                    "stable" if runs[-1]["stable"] else f"failed at step {runs[-1]['failed_step']}",
                    runs[-1]["rdf_mse"], runs[-1]["phase"])
    return runs


def run_summary(run: Mapping, box, g_ref, grid, *, sigma: float) -> dict:
    """What a test keeps of one :func:`ffdiff.md.run_md` run.

    ``g`` and ``rdf_mse``: the smooth RDF of the frames recorded after the start and before any
    failure, and its MSE against ``g_ref`` (None without such frames). ``g_final``, for a failed run:
    the RDF of its last :data:`FINAL_FRAMES` recorded frames before the failure, the structure it
    failed from (the paper's Fig. 4 shows such g(r < 2 Å)). ``msd_A2``, ``temperature_drift_K``, ``phase``: the phase check
    (:func:`ffdiff.properties.phase.phase_check`), the phase only for a stable run (one cut short
    says little about the phase).
    """
    positions = np.asarray(run["positions"])
    out = {"stable": bool(run["stable"]), "failed_step": run["failed_step"], "n_steps_done": int(run["n_steps_done"]),
           "g": None, "g_final": None, "rdf_mse": None, "msd_A2": None, "temperature_drift_K": None,
           "phase": None}

    def rdf(frames):
        return np.asarray(smooth_rdf(jnp.asarray(frames, jnp.float64), jnp.asarray(box, jnp.float64),
                                     jnp.asarray(grid, jnp.float64), sigma=sigma))

    if len(positions) > 1:
        g = rdf(positions[1:])
        out |= {"g": g, "rdf_mse": float(rdf_mse(g, g_ref)),
                **phase_check(positions.astype(np.float64), np.asarray(run["temperature"], np.float64))}
        if not run["stable"]:
            out |= {"phase": None, "g_final": rdf(positions[1:][-FINAL_FRAMES:])}
    return out
