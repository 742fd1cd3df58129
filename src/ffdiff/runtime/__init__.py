"""What a process needs to run ffdiff's programs well: CPU threads, and the on-disk caches of compiled
(:mod:`jax`'s persistent cache) and traced (:mod:`ffdiff.runtime.programs`) programs.

The machinery lives in the submodules; a job or a notebook only calls :func:`use_cpus` and
:func:`enable_compilation_cache`. Pytree checkpoints are :mod:`ffdiff.runtime.checkpoint`, the digest of
the running sources :mod:`ffdiff.runtime.provenance`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

__all__ = ["enable_compilation_cache", "use_cpus"]


def use_cpus(n: int) -> None:
    """Make XLA's CPU thread pool exactly ``n`` threads wide, without pinning the job to particular cores.

    XLA ignores thread-count flags and sizes its pool from the process's CPU affinity when the backend
    starts, so the affinity is narrowed to ``n`` CPUs for that moment and widened again afterwards (for
    every thread, the pool's included): concurrent jobs then share the cores the OS gives them instead of
    all piling onto the same ``n``. Under a scheduler that already confines the job (SLURM's task/affinity
    or cgroups) the affinity is at most ``n`` CPUs and nothing changes. On GPUs JAX is also told not to
    preallocate most of the device memory, so memory use is what the job needs.
    """
    from jax._src import xla_bridge

    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if xla_bridge.backends_are_initialized():
        logging.getLogger("ffdiff").warning("JAX already started; cannot size its thread pool to %d", n)
        return
    if not hasattr(os, "sched_setaffinity"):  # not Linux: XLA uses every core
        return
    import jax

    allowed = os.sched_getaffinity(0)
    if n < len(allowed):
        os.sched_setaffinity(0, sorted(allowed)[:n])
    try:
        jax.devices()
    finally:
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
                os.sched_setaffinity(int(tid), allowed)


def enable_compilation_cache(path) -> None:
    """Keep compiled XLA programs on disk, so the next job (a fresh process) running the same program
    loads it instead of compiling again.

    Programs that compile in under 0.2 s are left out: caching the op-sized ones too saved a smoke
    run about 3 % of its CPU time (measured when its jobs compiled ~600 of them), and every load of
    one logs two lines of XLA's (harmless) "Target machine feature +prefer-no-gather is not
    supported" error into the job's log (openxla/xla#44565: tuning flags checked as if they were
    instruction sets; the cached program is used all the same, see the smoke benchmark's warm run).

    The fits' traced losses are kept in its ``exported`` folder (:mod:`ffdiff.runtime.programs`), which
    spares the next job tracing them too.
    """
    import jax

    from ffdiff.runtime import programs

    jax.config.update("jax_compilation_cache_dir", str(Path(path).resolve()))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    programs.enable(Path(path).resolve() / "exported")
