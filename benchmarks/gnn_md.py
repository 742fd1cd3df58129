"""MD speed of a GNN potential: one ``run_md`` step against one energy+forces evaluation.

The workflow's MD tests run the models through ``run_md`` (NVE here, 1 fs, float64): a host-built list
with a 1 Å skin, rebuilt inside the compiled loop wherever it goes stale, stability checks at every
step, and a short list of the pairs inside the cutoff (``PAIR_SHORT_MULTIPLIER`` head room) that the
network evaluates instead of every listed slot. What a step can cost at best is one energy+forces
evaluation (``jax.value_and_grad``, jitted, list as an argument) on an exact-cutoff list: the pairs
within r_c only (``skin=0``, no head room, ``capacity_multiplier=1``; capacities still round up to 32).

``md_rows`` times both on the same start frames and the same core. MD: ``run_md`` from each start for
``n_steps`` steps, called once to compile (any short-list re-allocation compiles then too), then timed
``repeat`` times (best kept; each call includes the host's first list and the per-chunk host checks, as
in the workflow). Evaluation: on frames the timed run recorded (the start, the middle and the end), each
with its own exact list, timed as ``n_steps / frames`` consecutive calls per frame, so that a sample
lasts as long as an MD sample: on a busy machine the minimum of many short samples is luckier than the
minimum of a few long ones. The ratio is MD µs per atom-step over evaluation µs per atom.

``main`` runs the default MPGNN (``MPGNNConfig()``) with random weights (seed 0) or a trained model
(``--model``, a file of ``ffdiff.fitting.gnn.save_model``) from 64- and 216-atom EDIP liquids (diamond
melted at 4000 K, then 2000 K, NVT, ffdiff's ``run_md``; checked liquid by the teacher's MSD threshold),
started at 2000 K. Random weights have no repulsive core (the MPGNN's basis and envelope are finite at
r = 0): pairs close in below 1.5 Å within ~50 fs and below 0.1 Å within ~150 fs, so those runs check
no distance (``min_distance=0``: only non-finite values stop them), and the pair count within r_c grows
by ~25 % over 300 steps (reported per evaluated frame: the evaluation is timed on those frames). Pass
``--short-multiplier 100`` for the driver before pair models had a short list (a head room that large
sizes none: ``ffdiff.neighbors`` only sizes one that pays).

Threads: one XLA thread and the process pinned to one core, as ``benchmarks/md.py``. The load average
is recorded with the machine.

Usage: python benchmarks/gnn_md.py [--sizes 64 216] [--steps 300] [--repeat 3] [--model model.npz]
                                   [--short-multiplier X] [--core N] [--out results/benchmarks/gnn_md.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.md import machine_info  # noqa: E402 (sets the XLA flags before JAX is imported)
from benchmarks.tables import gnn_md_table  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

from ffdiff import neighbor_list  # noqa: E402
from ffdiff.md import MDSettings, run_md  # noqa: E402

MELT_K, TEMPERATURE_K = 4000.0, 2000.0
MELT_STEPS, EQUIL_STEPS = 1000, 1000  # fs (1 fs steps) of the EDIP runs making the start frames
RANDOM_MIN_DISTANCE = 0.0  # Å: random weights do not repel (see the module docstring)


def md_rows(energy_fn, params, cutoff: float, frames_by_size, *, model: str = "", temperature_K: float = TEMPERATURE_K,
            n_steps: int = 300, repeat: int = 3, skin: float = 1.0, min_distance: float = 1.5,
            short_multiplier: float | None = None, n_eval_frames: int = 3, seed: int = 0) -> list[dict]:
    """MD µs per atom-step of ``run_md`` against µs per atom of one energy+forces evaluation.

    Args:
        energy_fn: a pair model's ``energy_fn(params, position, box, neighbors)`` (eV).
        params: its weights.
        cutoff: its interaction range in Å.
        frames_by_size: ``{label: (position [n_atoms, 3] Å, box [3, 3] Å)}``, the start frames (their
            dtype sets the run's: float64 unless float32).
        model: name put into the rows.
        temperature_K: initial temperature of the NVE runs in K.
        n_steps: MD steps per timed run.
        repeat: timed runs (and evaluation samples) per frame, best kept.
        skin: list skin in Å (the MD tests': 1 Å).
        min_distance: ``run_md``'s failure distance in Å.
        short_multiplier: ``run_md``'s short-list head room (default its own).
        n_eval_frames: recorded frames the evaluation is timed on (start to end, evenly spaced).
        seed: seed of the initial velocities.

    Returns:
        One row per start frame: ``md_us_per_atom_step`` (best) and its median,
        ``eval_us_per_atom`` (mean over the frames of each frame's best), ``ratio`` (MD / evaluation),
        ``pairs_per_atom`` within r_c at each evaluated frame, ``short_slots_per_atom`` of the run's last
        list, ``steps_done`` (fewer than ``steps`` if the run failed), ``first_call_s`` (compilation
        included) and the settings.
    """
    value_and_force = jax.jit(jax.value_and_grad(energy_fn, argnums=1))
    rows = []
    for label, (position, box) in frames_by_size.items():
        n = len(position)

        def run(position=position, box=box):
            settings = MDSettings(timestep_fs=1.0, tdamp_fs=100.0, temperature_K=temperature_K, ensemble="nve",
                                  n_steps=n_steps, record_every=max(1, n_steps // max(1, n_eval_frames - 1)))
            return run_md(energy_fn, params, position, box, settings, cutoff=cutoff, skin=skin, seed=seed,
                          min_distance=min_distance, three_body=False, short_multiplier=short_multiplier,
                          progress=False)

        t = time.perf_counter()
        out = run()
        first_call_s = time.perf_counter() - t
        frames = [(x, neighbor_list(x, box, cutoff, skin=0.0, triplets=False, capacity_multiplier=1.0))
                  for x in out["positions"][:n_eval_frames]]
        dtype = np.asarray(position).dtype if np.asarray(position).dtype == np.float32 else np.float64
        frames = [(jax.device_put(x.astype(dtype)), jax.device_put(np.asarray(box, dtype)), nbrs)
                  for x, nbrs in frames]
        for x, b, nbrs in frames:
            jax.block_until_ready(value_and_force(params, x, b, nbrs))  # compile
        calls = max(1, n_steps // len(frames))
        md_times, eval_times = [], [[] for _ in frames]
        for _ in range(repeat):  # interleaved, so that a busy spell of the machine hits both
            t = time.perf_counter()
            out = run()
            md_times.append((time.perf_counter() - t) / (n * max(out["n_steps_done"], 1)) * 1e6)
            for k, (x, b, nbrs) in enumerate(frames):
                t = time.perf_counter()
                for _ in range(calls):
                    result = value_and_force(params, x, b, nbrs)
                jax.block_until_ready(result)
                eval_times[k].append((time.perf_counter() - t) / (n * calls) * 1e6)
        evaluation = float(np.mean([min(times) for times in eval_times]))
        rows.append({"model": model, "label": str(label), "n_atoms": n, "dtype": np.dtype(dtype).name,
                     "temperature_K": temperature_K, "steps": n_steps, "steps_done": int(out["n_steps_done"]),
                     "stable": bool(out["stable"]), "skin": skin, "min_distance": min_distance,
                     "md_us_per_atom_step": min(md_times), "md_us_per_atom_step_median": statistics.median(md_times),
                     "eval_us_per_atom": evaluation, "eval_us_per_atom_frames": [min(t) for t in eval_times],
                     "ratio": min(md_times) / evaluation,
                     "pairs_per_atom": [nbrs.n_edges / n for _, _, nbrs in frames],
                     "short_slots_per_atom": out["short_capacity"] / n, "n_rebuilds": int(out["n_rebuilds"]),
                     "first_call_s": first_call_s})
    return rows


def edip_liquid(repeat: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(`[8 repeat³, 3]` positions Å, `[3, 3]` cell Å) of an EDIP liquid: diamond melted at 4000 K for
    ``MELT_STEPS`` fs, then ``EQUIL_STEPS`` fs at 2000 K (NVT); its MSD over the 2000 K run is checked."""
    from ase.build import bulk

    from ffdiff import get_potential
    from ffdiff.properties.phase import mean_squared_displacement, phase_from_msd

    pot = get_potential("edip")
    params = pot.params()
    crystal = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
    common = dict(cutoff=pot.cutoff(params), triplets=pot.triplets, min_distance=1.0, progress=False)
    nvt = MDSettings(timestep_fs=1.0, tdamp_fs=100.0, temperature_K=MELT_K, ensemble="nvt", n_steps=MELT_STEPS,
                     record_every=MELT_STEPS)
    melt = run_md(pot.energy, params, crystal.positions, crystal.cell.array, nvt, seed=seed, **common)
    run = run_md(pot.energy, params, melt["positions"][-1], crystal.cell.array,
                 nvt.replace(temperature_K=TEMPERATURE_K, n_steps=EQUIL_STEPS, record_every=EQUIL_STEPS),
                 seed=seed + 1, **common)
    msd = mean_squared_displacement(run["positions"])
    if not (melt["stable"] and run["stable"]) or phase_from_msd(msd) != "liquid":
        raise RuntimeError(f"the EDIP start is not a liquid: stable {melt['stable']} and {run['stable']}, "
                           f"MSD {msd:.2f} Å² over {EQUIL_STEPS} fs at {TEMPERATURE_K:g} K")
    return run["positions"][-1], crystal.cell.array


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 216], help="atoms: 8 n³")
    parser.add_argument("--steps", type=int, default=300, help="MD steps per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size, best kept")
    parser.add_argument("--model", default=None, help="trained model (.npz); default random MPGNN weights")
    parser.add_argument("--short-multiplier", type=float, default=None,
                        help="run_md's short-list head room (default its own; 100: no short list)")
    parser.add_argument("--core", type=int, default=None, help="CPU to pin to (default the last allowed)")
    parser.add_argument("--out", default="results/benchmarks/gnn_md.json")
    args = parser.parse_args()
    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})

    if args.model:
        from ffdiff.fitting.gnn import load_model

        pot, params, _ = load_model(args.model)
        name, min_distance = Path(args.model).parent.name or "model", 1.5
    else:
        from ffdiff.potentials import mpgnn

        pot = mpgnn.potential()
        params, name, min_distance = pot.params(), "mpgnn (random weights)", RANDOM_MIN_DISTANCE
    frames = {}
    for n in args.sizes:
        repeat = round((n / 8) ** (1 / 3))
        if 8 * repeat**3 != n:
            raise SystemExit(f"size {n} is not 8 n³")
        frames[n] = edip_liquid(repeat)
    rows = md_rows(pot.energy, params, float(pot.cutoff(params)), frames, model=name, n_steps=args.steps,
                   repeat=args.repeat, min_distance=min_distance, short_multiplier=args.short_multiplier)
    print(f"## GNN MD step against one evaluation (NVE from {TEMPERATURE_K:g} K, float64, core {core}, "
          "1 XLA thread)\n")
    print(gnn_md_table(rows))
    doc = {"machine": {**machine_info(), "core": core, "load_average": os.getloadavg()},
           "settings": {"steps": args.steps, "repeat": args.repeat, "model": args.model or "random",
                        "short_multiplier": args.short_multiplier, "melt_K": MELT_K, "temperature_K": TEMPERATURE_K,
                        "melt_steps": MELT_STEPS, "equil_steps": EQUIL_STEPS},
           "gnn_md": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
