"""The cost of differentiating an RDF loss through MD (part 2 of ``benchmarks/md.py``, which runs it):
64-atom SW cell (float64) rattled by 0.1 Å with velocities at 2000 K,
loss = rdf_mse(smooth_rdf(every 10th frame), g_ref) with g_ref the smooth RDF of the perfect
crystal, differentiated with respect to all SW parameters (velocities and initial forces are made
inside the loss, so they are differentiated too); list skin 1.5 Å with a short list, checked at
every step. For 200 and 1000 steps: forward time, ``jax.grad`` time with ``remat=True``
(``jax.checkpoint`` per step) and ``remat=False`` (best of at least 5 runs), XLA's compiled
``memory_analysis().temp_size_in_bytes``, and, from a fresh process per case, the peak RSS (VmHWM,
compilation included) and the RSS growth while running the compiled function (VmHWM reset through
/proc/self/clear_refs after compiling). ``remat=False`` at the longest run is skipped when its XLA
temp memory, extrapolated linearly from the shortest run, exceeds ``--max-gb`` (default 6 GB).

Each case runs in a fresh process (``python benchmarks/md_gradient.py '<spec JSON>'``) on the core
``benchmarks/md.py`` pinned, with its thread settings: importing it sets them before JAX loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.md import crystal, nve_settings  # noqa: E402 (sets the XLA flags before JAX loads)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from ffdiff import get_potential, md, neighbor_list  # noqa: E402
from ffdiff.neighbors import needs_update  # noqa: E402
from ffdiff.properties.rdf import rdf_mse, smooth_rdf  # noqa: E402

T_HOT, RATTLE_HOT, SKIN_HOT = 2000.0, 0.1, 1.5  # K, Å, Å
GRID = np.linspace(2.0, 4.5, 26)  # Å, RDF grid
SIGMA = 0.1  # Å, RDF kernel width
FRAME_STRIDE = 10  # every 10th frame enters the loss
GRAD_REPEAT = 5  # a gradient run lasts under a second: best of 2 once left one 40 % slow on a busy machine


def _memory_mb(field: str) -> float:
    """``VmRSS`` or ``VmHWM`` (peak resident set) of this process in MB, from /proc/self/status. Unlike
    ``ru_maxrss``, which Linux carries across ``execve`` (a child starts at its parent's peak), VmHWM
    belongs to the process's own address space and can be reset (:func:`_reset_peak`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux >= 4.0: VmHWM := VmRSS
    except OSError:
        pass


def _grad_case(spec: dict) -> dict:
    """One (steps, mode) case, meant to run in a fresh process; mode is forward, remat or no_remat."""
    pot = get_potential("sw")
    params = pot.params()
    atoms = crystal(2, RATTLE_HOT, seed=5)
    box = jnp.asarray(atoms.cell.array)
    position = jnp.asarray(atoms.positions)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, pot.cutoff(params), skin=SKIN_HOT, triplets=False,
                         short=True)
    grid = jnp.asarray(GRID)
    perfect = crystal(2, 0.0)
    g_ref = smooth_rdf(jnp.asarray(perfect.positions), box, grid, sigma=SIGMA)  # any fixed target
    n_steps, mode = spec["steps"], spec["mode"]

    def loss(p, nbrs):  # the list is an argument so XLA does not constant-fold it
        state = md.init_state(pot.energy, p, position, box, nbrs, temperature_K=T_HOT, key=jax.random.PRNGKey(1))
        _, (traj, stale) = md.simulate(pot.energy, p, state, box, nbrs, nve_settings(n_steps), remat=mode == "remat",
                                       observe=lambda s: (s.position, needs_update(nbrs, s.position)))
        return rdf_mse(smooth_rdf(traj[FRAME_STRIDE - 1::FRAME_STRIDE], box, grid, sigma=SIGMA), g_ref), stale

    if mode == "forward":
        fn = loss
    else:
        fn = jax.grad(loss, has_aux=True)
    base_rss = _memory_mb("VmRSS")
    t = time.perf_counter()
    compiled = jax.jit(fn).lower(params, nbrs).compile()
    compile_s = time.perf_counter() - t
    mem = compiled.memory_analysis()
    compile_peak = _memory_mb("VmHWM")
    _reset_peak()
    before_run = _memory_mb("VmRSS")
    jax.block_until_ready(compiled(params, nbrs))
    times = []
    for _ in range(spec["repeat"]):
        t = time.perf_counter()
        out, stale = jax.block_until_ready(compiled(params, nbrs))
        times.append(time.perf_counter() - t)
    run_peak = _memory_mb("VmHWM")
    finite = bool(all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(out)))
    return {"steps": n_steps, "mode": mode, "run_s": min(times), "compile_s": compile_s,
            "temp_mb": mem.temp_size_in_bytes / 2**20 if mem is not None else None,
            "base_rss_mb": base_rss, "peak_rss_mb": max(compile_peak, run_peak),
            "run_rss_growth_mb": run_peak - before_run,
            "list_valid": not bool(np.asarray(stale).any()), "finite": finite}


def grad_cases(steps: list[int], repeat: int, max_gb: float) -> list[dict]:
    rows = []
    for n_steps in sorted(steps):
        for mode in ("forward", "remat", "no_remat"):
            if mode == "no_remat" and n_steps != min(steps):
                short = next(r for r in rows if r["mode"] == "no_remat" and r["steps"] == min(steps))
                estimate_gb = short["temp_mb"] * n_steps / min(steps) / 1024
                if estimate_gb > max_gb:
                    rows.append({"steps": n_steps, "mode": mode, "skipped": True, "estimate_gb": estimate_gb})
                    continue
            spec = json.dumps({"steps": n_steps, "mode": mode, "repeat": repeat})
            proc = subprocess.run([sys.executable, __file__, spec], capture_output=True,
                                  text=True)
            if proc.returncode != 0:
                rows.append({"steps": n_steps, "mode": mode, "failed": proc.stderr.strip().splitlines()[-1:]})
                continue
            rows.append(json.loads(proc.stdout.splitlines()[-1]))
    return rows


if __name__ == "__main__":  # one case, in its own process
    print(json.dumps(_grad_case(json.loads(sys.argv[1]))))
