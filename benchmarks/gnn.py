"""GNN training cost and accuracy: ffdiff's MPGNN against jax-md's EnergyGraphNet on the same frames.

Part 1, training step: the time of one training step of the chain's loss (``energy_force_loss``: MSE of
the energy per atom plus MSE of the force components, forces by ``jax.grad`` of the energy), its
gradient in the weights and an Adam update (global-norm clipping 1, as the chain's optimiser), on a
batch of ``--batch`` (16) liquid-Si frames at 2000 K, for each model (default configurations of
``gnn.model``: both with r_c = 3.77 Å), in float64 and float32 (weights, positions, cells, image
shifts, targets cast), at 64 and 216 atoms (models: :data:`MODELS`). The step is one compiled function (``lower().compile()``
timed on its own), called once to warm up, then ``--repeat`` times (best and median kept), each ended
with ``block_until_ready``; the batch is on the device before the clock starts. Reported: µs per atom
per frame = step time / (batch × atoms).

Part 2, accuracy per budget: every model (float64, batches of ``--batch``, Adam 1e-3) trained on the
same training frames (the chain's 60/20/20 split of the 64-atom set, seed 0) for the same wall time
(``--budget-seconds``, default 120 s, compilation excluded) or the same number of steps
(``--budget-steps``); then their energy (meV/atom) and force-component (eV/Å) RMSE on the test
frames, before and after. The teacher's force RMS sets the scale (about 1.5 eV/Å).

Frames: ``resources/gnn/trajectory_2000K.npz`` (64 atoms) and ``trajectory_2000K_216.npz`` when the
workflow's teacher made them, else generated here with ffdiff's EDIP through ``run_md`` (NVT, diamond
melted at 4000 K for ``MELT_STEPS`` fs, then 2000 K, every ``EVERY`` fs sampled after ``EQUIL_STEPS``
fs; energies and forces by ``ffdiff.Calculator("edip")``) and kept next to the output
(``gnn_frames_<atoms>.npz``, a few minutes for 216 atoms on a busy core) for the next run.

Part 3, MD: ``benchmarks/gnn_md.py``'s ``md_rows`` (``run_md`` µs per atom-step, NVE from 2000 K, 1 Å
skin, against one energy+forces evaluation) for each model with its part-2 weights (``mpgnn_before``
excepted: its MD is ``mpgnn_radial``'s), in each dtype, from the first frame of each size (``_md_rows``; ``--md-steps`` steps per timed run, default 100).

Threads: one XLA thread (``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``,
``OMP_NUM_THREADS=1``, set before JAX is imported, as ``benchmarks/md.py``) and the process pinned to
one core (``--core``, default the last allowed one). The load average is recorded: on a shared
machine timings carry its noise.

Usage: python benchmarks/gnn.py [--sizes 64 216] [--dtypes float64 float32] [--batch 16] [--repeat 3]
                                [--budget-seconds 120 | --budget-steps N] [--models mpgnn energy_graph_net]
                                [--md-steps 100] [--frames-dir resources/gnn] [--generate] [--quick]
                                [--core N] [--out results/benchmarks/gnn.json]
``--quick``: 64 atoms, float64 only, one repeat, a 20 s budget, 30 MD steps (a few minutes). Writes the
tables as Markdown next to the JSON (``gnn.md``). The whole run takes about ten minutes on an idle core.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                           " intra_op_parallelism_threads=1").strip()
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.md import machine_info  # noqa: E402
from benchmarks.tables import gnn_budget_table, gnn_md_table, gnn_step_table  # noqa: E402
from ffdiff.data.dataset import Dataset  # noqa: E402
from ffdiff.fitting.gnn import new_model, normalisation  # noqa: E402
from ffdiff.fitting.frames import Frames, energy_force_loss, errors, stack_frames
from ffdiff.fitting.training import batch_value_and_grad  # noqa: E402

#: Benchmarked models: (``gnn.model`` block, how the step runs). ``mpgnn`` is the study's default,
#: ``mpgnn_radial`` the same without angular terms (the study's model size before them), both with the
#: chain's step (a batch as disjoint graphs, the gradient accumulated piece by piece:
#: ``batch_value_and_grad``). ``mpgnn_before`` is ``mpgnn_radial`` computed as training ran before:
#: the energy mapped over frames (``jax.vmap``), the message MLP on the concatenation [h_i ‖ h_j ‖ e_ij],
#: one gradient of the whole batch: the peer the training-speed claim is measured against.
MODELS = {"mpgnn": ({"kind": "mpgnn"}, "chain"),
          "mpgnn_radial": ({"kind": "mpgnn", "angular": 0}, "chain"),
          "mpgnn_before": ({"kind": "mpgnn", "angular": 0}, "before"),
          "energy_graph_net": ({"kind": "energy_graph_net"}, "chain")}
BASELINE = "mpgnn_before"
WEIGHTS = {"energy": 1.0, "forces": 1.0}
LEARNING_RATE = 1e-3
MELT_K, TEMPERATURE_K = 4000.0, 2000.0
MELT_STEPS, EQUIL_STEPS, EVERY = 3000, 1000, 20  # fs (1 fs steps) of a generated teacher run


# --- frames -------------------------------------------------------------------------------------------

def edip_frames(repeat: int, n_frames: int, seed: int = 0) -> Dataset:
    """Liquid-Si frames of ffdiff's EDIP: diamond melted at 4000 K, then NVT at 2000 K (``run_md``)."""
    from ase import Atoms
    from ase.build import bulk

    from ffdiff import Calculator, get_potential
    from ffdiff.md import MDSettings, run_md

    pot = get_potential("edip")
    params = pot.params()
    crystal = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
    common = dict(cutoff=pot.cutoff(params), skin=1.0, min_distance=1.0, triplets=pot.triplets, progress=False)
    nvt = MDSettings(timestep_fs=1.0, tdamp_fs=100.0, temperature_K=MELT_K, ensemble="nvt", n_steps=MELT_STEPS,
                     record_every=MELT_STEPS)
    melt = run_md(pot.energy, params, crystal.positions, crystal.cell.array, nvt, seed=seed, **common)
    run = run_md(pot.energy, params, melt["positions"][-1], crystal.cell.array,
                 nvt.replace(temperature_K=TEMPERATURE_K, n_steps=EQUIL_STEPS + n_frames * EVERY, record_every=EVERY),
                 seed=seed + 1, **common)
    if not (melt["stable"] and run["stable"]):
        raise RuntimeError(f"the EDIP teacher run failed (melt stable {melt['stable']}, run stable {run['stable']})")
    frames = []
    for position in run["positions"][EQUIL_STEPS // EVERY + 1:][:n_frames]:
        atoms = Atoms("Si" * len(crystal), positions=position, cell=crystal.cell, pbc=True)
        atoms.wrap()
        atoms.calc = Calculator("edip")
        atoms.get_potential_energy()
        frames.append(atoms)
    return Dataset.from_frames(frames, source=f"benchmark-edip:{TEMPERATURE_K:g}K", temperature=TEMPERATURE_K)


def teacher_frames(n_atoms: int, n_frames: int, frames_dir: Path, cache_dir: Path,
                   generate: bool) -> tuple[Dataset, str]:
    """(frames, where they come from): the workflow's teacher trajectory if present, else frames this
    benchmark generated before (``cache_dir``), else generated now and kept there."""
    name = "trajectory_2000K.npz" if n_atoms == 64 else f"trajectory_2000K_{n_atoms}.npz"
    cached = cache_dir / f"gnn_frames_{n_atoms}.npz"
    for path in (frames_dir / name, cached):
        if path.exists() and not generate:
            dataset = Dataset.load(path)
            if dataset.n_atoms == n_atoms and len(dataset) >= n_frames:
                return dataset, str(path)
    repeat = round((n_atoms / 8) ** (1 / 3))
    if 8 * repeat**3 != n_atoms:
        raise SystemExit(f"size {n_atoms} is not 8 n³")
    t = time.perf_counter()
    dataset = edip_frames(repeat, n_frames)
    dataset.save(cached)
    return dataset, f"generated (EDIP run_md, {time.perf_counter() - t:.0f} s; kept in {cached})"


def cast(frames: Frames, dtype) -> Frames:
    """Every floating array of ``frames`` (positions, cells, targets, image shifts) as ``dtype``."""
    return jax.tree.map(lambda x: x.astype(dtype) if np.issubdtype(x.dtype, np.floating) else x, frames)


# --- models and the training step ---------------------------------------------------------------------

def make(name: str, dtype, dataset: Dataset, seed: int = 0):
    """(potential, weights in ``dtype``) of a model of :data:`MODELS`, offset at the data's mean
    energy per atom (and the MPGNN's scale at its force RMS, as the chain's pretraining)."""
    block, _ = MODELS[name]
    model, params = new_model(block, seed, **normalisation(dataset))
    return model, jax.tree.map(lambda x: x.astype(dtype), params)


def _concatenated_message(mlp, node, edge, center, neighbor):
    """The MPGNN's message as computed before: its MLP on the gathered concatenation (same weights)."""
    from ffdiff.potentials import mpgnn

    return mpgnn._apply_mlp(mlp, jnp.concatenate([node[center], node[neighbor], edge], -1))


def make_step(name: str, model):
    """(optimiser, step): loss, gradient in the weights and clipped Adam update, as the chain's (or, for
    ``mpgnn_before``, as training ran before). The step must be traced (compiled) inside
    :func:`traced_as`, which swaps the message function for ``mpgnn_before``."""
    import optax

    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(LEARNING_RATE))
    before = MODELS[name][1] == "before"
    if before:
        model = dataclasses.replace(model, per_atom=None)  # predict() then maps the energy over frames

    def step(params, opt_state, batch):
        loss = lambda p, b, w: energy_force_loss(model, p, b, WEIGHTS, w)  # noqa: E731
        weight = jnp.ones(len(batch.energy), batch.position.dtype)
        if before:
            value, grads = jax.value_and_grad(loss)(params, batch, weight)
        else:
            value, grads = batch_value_and_grad(loss, params, batch, weight)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return optimizer, step


@contextlib.contextmanager
def traced_as(name: str):
    """Within: the MPGNN's message is computed as ``name``'s (the concatenation for ``mpgnn_before``)."""
    from ffdiff.potentials import mpgnn

    original = mpgnn._message
    if MODELS[name][1] == "before":
        mpgnn._message = _concatenated_message
    try:
        yield
    finally:
        mpgnn._message = original


def time_step(kind: str, dtype, dataset: Dataset, batch_size: int, repeat: int) -> dict:
    model, params = make(kind, dtype, dataset)
    frames = stack_frames(dataset.take(np.arange(batch_size)), model.config.cutoff)
    batch = jax.device_put(cast(frames, dtype))
    optimizer, step = make_step(kind, model)
    opt_state = jax.jit(optimizer.init)(params)
    t = time.perf_counter()
    with traced_as(kind):
        compiled = jax.jit(step).lower(params, opt_state, batch).compile()
    compile_s = time.perf_counter() - t
    _, _, loss = jax.block_until_ready(compiled(params, opt_state, batch))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(compiled(params, opt_state, batch))
        times.append(time.perf_counter() - t)
    n = dataset.n_atoms
    return {"model": kind, "dtype": jnp.dtype(dtype).name, "n_atoms": n, "batch": batch_size,
            "weights": int(sum(x.size for x in jax.tree.leaves(params))),
            "edges_per_atom": float(np.mean(np.sum(frames.neighbors.edge_mask, axis=1))) / n,
            "us_per_atom_frame": min(times) / (batch_size * n) * 1e6,
            "us_per_atom_frame_median": statistics.median(times) / (batch_size * n) * 1e6,
            "step_s": min(times), "compile_s": compile_s, "loss": float(loss), "finite": bool(np.isfinite(loss))}


# --- accuracy per training budget -----------------------------------------------------------------------

def train_budget(kind: str, dataset: Dataset, *, batch_size: int, seconds: float | None, steps: int | None,
                 seed: int = 0) -> tuple:
    """Train ``kind`` (float64) on the chain's training split for ``seconds`` of stepping (compilation
    excluded) or ``steps`` steps: (potential, trained weights, row with the test errors before and after)."""
    indices = dataset.split(fractions=(0.6, 0.2, 0.2), seed=seed)
    model, params = make(kind, jnp.float64, dataset.take(indices["train"]), seed)
    train = stack_frames(dataset.take(indices["train"]), model.config.cutoff)
    test = stack_frames(dataset.take(indices["test"]), model.config.cutoff)
    start_errors = errors(model, params, test)
    optimizer, step = make_step(kind, model)
    opt_state = jax.jit(optimizer.init)(params)
    with traced_as(kind):
        compiled = jax.jit(step).lower(params, opt_state, jax.device_put(train.take(np.arange(batch_size)))).compile()
    rng = np.random.default_rng(seed)
    queue: list[np.ndarray] = []
    done, elapsed, losses = 0, 0.0, []
    while (steps is None or done < steps) and (seconds is None or elapsed < seconds):
        if not queue:  # a new epoch: full batches of a fresh permutation
            order = rng.permutation(len(train))
            queue = [order[k:k + batch_size] for k in range(0, len(order) - batch_size + 1, batch_size)][::-1]
        t = time.perf_counter()
        params, opt_state, loss = compiled(params, opt_state, train.take(queue.pop()))
        losses.append(float(loss))  # waits for the step
        elapsed += time.perf_counter() - t
        done += 1
    return model, params, {"model": kind, "budget": f"{seconds:g} s" if seconds is not None else f"{steps} steps",
            "steps": done, "epochs": done * batch_size / len(train), "train_s": elapsed,
            "n_train": len(train), "n_test": len(test), "first_loss": losses[0], "last_loss": losses[-1],
            "test_start": start_errors, "test": errors(model, params, test), "train": errors(model, params, train),
            "test_force_rms": float(np.sqrt(np.mean(np.square(test.forces))))}


# --- MD (benchmarks/gnn_md.py) ----------------------------------------------------------------------------

def _md_rows(trained: dict, datasets: dict, dtypes, *, n_steps: int, repeat: int) -> list[dict] | None:
    """``benchmarks/gnn_md.py``'s ``md_rows`` (``run_md`` µs per atom-step against one energy+forces
    evaluation) for each model with its budget-trained weights, from the first frame of each size, or
    None when that file does not exist. The weights are barely trained, so the runs check no distance
    (``min_distance=0``, as gnn_md.py's random-weight runs): their trajectories are not physical, their
    cost per step is."""
    if not (Path(__file__).resolve().parent / "gnn_md.py").exists():
        return None
    from benchmarks.gnn_md import md_rows

    rows = []
    for kind, (model, params) in trained.items():
        if MODELS[kind][1] == "before":  # its MD is mpgnn_radial's: the message variant is a training peer
            continue
        for dtype in dtypes:
            frames = {n: (d.positions[0].astype(dtype), d.cells[0].astype(dtype)) for n, d in datasets.items()}
            weights = jax.tree.map(lambda x: x.astype(dtype), params)
            for row in md_rows(model.energy, weights, model.config.cutoff, frames, model=kind, n_steps=n_steps,
                               repeat=repeat, min_distance=0.0):
                rows.append(row)
                print(f"  md {kind} {row['dtype']} {row['n_atoms']} atoms: {row['md_us_per_atom_step']:.1f} "
                      "µs/atom-step", file=sys.stderr, flush=True)
    return rows


# --- main ----------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="atoms, 8 n³ (default 64 216)")
    parser.add_argument("--dtypes", nargs="+", default=None, choices=["float64", "float32"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="default all; the training-speed ratio needs mpgnn_radial_mapped")
    parser.add_argument("--batch", type=int, default=16, help="frames per training step (default 16)")
    parser.add_argument("--repeat", type=int, default=None, help="timed steps per case, best kept (default 3)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--budget-seconds", type=float, default=None,
                        help="training wall time per model, compilation excluded (default 120)")
    budget.add_argument("--budget-steps", type=int, default=None, help="training steps per model instead")
    parser.add_argument("--frames-dir", type=Path, default=Path("resources/gnn"))
    parser.add_argument("--generate", action="store_true", help="generate the EDIP frames even if files exist")
    parser.add_argument("--md-steps", type=int, default=None,
                        help="MD steps per timed run_md call of part 3 (default 100; 0 skips part 3)")
    parser.add_argument("--core", type=int, default=None, help="CPU to pin to (default the last allowed)")
    parser.add_argument("--out", default="results/benchmarks/gnn.json")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    sizes = args.sizes or ([64] if args.quick else [64, 216])
    dtypes = [getattr(jnp, d) for d in (args.dtypes or (["float64"] if args.quick else ["float64", "float32"]))]
    repeat = args.repeat or (1 if args.quick else 3)
    seconds = None if args.budget_steps else (args.budget_seconds or (20.0 if args.quick else 120.0))
    load_before = os.getloadavg()

    datasets, sources = {}, {}
    for n in sorted(set(sizes) | {64}):
        datasets[n], sources[n] = teacher_frames(n, 200 if n == 64 else max(args.batch, 32), args.frames_dir,
                                                 Path(args.out).parent, args.generate)
        print(f"  {n} atoms: {len(datasets[n])} frames from {sources[n]}", file=sys.stderr, flush=True)

    steps = []
    for n in sizes:
        for dtype in dtypes:
            for kind in args.models:
                row = time_step(kind, dtype, datasets[n], args.batch, repeat)
                steps.append(row)
                print(f"  step {kind} {row['dtype']} {n} atoms: {row['us_per_atom_frame']:.1f} µs/atom/frame "
                      f"(compile {row['compile_s']:.1f} s)", file=sys.stderr, flush=True)
    budgets, trained = [], {}
    for kind in args.models:
        model, params, row = train_budget(kind, datasets[64], batch_size=args.batch, seconds=seconds,
                                          steps=args.budget_steps)
        trained[kind] = (model, params)
        budgets.append(row)
        print(f"  budget {kind}: {row['steps']} steps, test force RMSE {row['test']['force_rmse']:.3f} eV/Å",
              file=sys.stderr, flush=True)
    md_steps = args.md_steps if args.md_steps is not None else (30 if args.quick else 100)
    md = (_md_rows(trained, {n: datasets[n] for n in sizes}, dtypes, n_steps=md_steps, repeat=min(repeat, 2))
          if md_steps else None)

    machine = {**machine_info(), "core": core, "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    text = [f"## GNN training step, batch of {args.batch} liquid-Si frames (2000 K), µs per atom per frame "
            f"(core {core}, 1 XLA thread; load average {load_before[0]:.1f} before, "
            f"{machine['loadavg_after'][0]:.1f} after)", "", gnn_step_table(steps), "",
            f"## Test errors after the same training budget (64 atoms, float64, batch {args.batch}, "
            f"Adam {LEARNING_RATE:g})", "", gnn_budget_table(budgets), ""]
    text += ["## MD: run_md step against one energy+forces evaluation (benchmarks/gnn_md.py's md_rows, "
             f"budget-trained weights, NVE from 2000 K, {md_steps} steps)", "",
             "not run (--md-steps 0, or benchmarks/gnn_md.py missing)" if md is None else gnn_md_table(md), ""]
    print("\n".join(text))
    doc = {"machine": machine,
           "settings": {"sizes": sizes, "dtypes": [jnp.dtype(d).name for d in dtypes], "batch": args.batch,
                        "repeat": repeat, "budget_seconds": seconds, "budget_steps": args.budget_steps,
                        "learning_rate": LEARNING_RATE, "weights": WEIGHTS, "md_steps": md_steps,
                        "frames": {str(k): v for k, v in sources.items()}, "quick": args.quick},
           "steps": steps, "budget": budgets, "md": md}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    out.with_suffix(".md").write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
