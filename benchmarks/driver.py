"""MD with neighbour-list rebuilds: ffdiff's driver ``run_md`` against LAMMPS on the same core.

``benchmarks/md.py`` times the compiled trajectory alone (``simulate``, one list for the whole run).
Here the whole driver the workflow uses is timed: ``run_md`` builds its first list on the host, then
runs compiled chunks that rebuild the list inside the compiled loop (a cell-list search) at every step whose
positions moved an atom more than half the skin from the list's, and check stability at every step,
as LAMMPS checks its list every step. Same start as md.py (diamond Si rattled by 0.02 Å, ffdiff's
Maxwell-Boltzmann velocities at 600 K, seed 0: ``run_md`` draws exactly those), NVE, 1 fs, float64,
one pinned core and one XLA thread; LAMMPS (``sw``, ``edip/multi``, 0.5 Å skin, checked every step)
runs in the same process. Each ``run_md`` case is called once to compile, then timed ``--repeat``
times (best kept); a timed call includes building the first list and every rebuild.

Usage: python benchmarks/driver.py [--sizes 64 216 1728 8000] [--steps 300] [--skins 0.5 1.0]
                                   [--repeat 2] [--core N] [--out results/benchmarks/driver.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.md import RATTLE, SKIN, T_START, crystal, machine_info, start, time_lammps  # noqa: E402 (XLA flags)
from benchmarks.tables import driver_table  # noqa: E402
from ffdiff import get_potential  # noqa: E402
from ffdiff import md  # noqa: E402


def time_run_md(name: str, atoms, n_steps: int, repeat: int, skin: float) -> dict:
    pot = get_potential(name)
    params = pot.params()

    def run():
        settings = md.MDSettings(timestep_fs=1.0, tdamp_fs=100.0, temperature_K=T_START, ensemble="nve",
                                 n_steps=n_steps, record_every=n_steps)
        return md.run_md(pot.energy, params, atoms.positions, atoms.cell.array, settings, cutoff=pot.cutoff(params),
                         skin=skin, seed=0, triplets=pot.triplets, progress=False)

    t = time.perf_counter()
    out = run()
    first_s = time.perf_counter() - t
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
    n = len(atoms)
    return {"code": "ffdiff run_md", "potential": name, "n_atoms": n, "steps": n_steps, "skin": skin,
            "us_per_atom_step": min(times) / (n * n_steps) * 1e6, "run_s": min(times), "first_call_s": first_s,
            "n_rebuilds": int(out["n_rebuilds"]), "stable": bool(out["stable"]), "steps_done": int(out["n_steps_done"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 216, 1728, 8000])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skins", type=float, nargs="+", default=[SKIN, 1.0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--core", type=int, default=None, help="CPU to pin to (default the last allowed)")
    parser.add_argument("--out", default="results/benchmarks/driver.json")
    args = parser.parse_args()
    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})

    rows = []
    for n in args.sizes:
        repeat_n = round(n ** (1 / 3) / 2)
        if 8 * repeat_n**3 != n:
            raise SystemExit(f"size {n} is not 8 n³")
        atoms = crystal(repeat_n, RATTLE)
        velocity = start(atoms, T_START)  # what run_md draws (seed 0), handed to LAMMPS
        for name in ("sw", "edip"):
            rows.append(time_lammps(name, atoms, velocity, args.steps, args.repeat)[0])
            for skin in args.skins:
                rows.append(time_run_md(name, atoms, args.steps, args.repeat, skin))
                print(f"  {n} atoms {name} skin {skin}: {rows[-1]['us_per_atom_step']:.2f} µs/atom-step, "
                      f"{rows[-1]['n_rebuilds']} rebuilds", file=sys.stderr, flush=True)
    print(driver_table(rows))
    doc = {"machine": {**machine_info(), "core": core},
           "settings": {"steps": args.steps, "repeat": args.repeat, "skins": args.skins, "lammps_skin": SKIN,
                        "T_start": T_START, "rattle": RATTLE},
           "driver": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
