"""Glue for the Snakemake scripts: job start-up (CPUs, compilation cache, logging), JSON output."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np


COMPILATION_CACHE = "FFDIFF_COMPILATION_CACHE"
DEFAULT_COMPILATION_CACHE = ".snakemake/ffdiff-jax-cache"


def start_job(snakemake) -> logging.Logger:
    """Everything a rule's script does before its first computation: size JAX's thread pool to the
    job's threads, switch on the persistent compilation cache, log into the rule's log file.

    The JAX part is skipped for scripts that have not imported JAX by then (tables, figures,
    downloads): they then start in well under a second.
    """
    logger = configure_logging(snakemake)
    started = time.perf_counter()
    atexit.register(lambda: logger.info("wall time %.1f s, peak memory %.0f MB", time.perf_counter() - started,
                                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    if "jax" in sys.modules:
        use_cpus(snakemake.threads)
        cache = os.environ.get(COMPILATION_CACHE, DEFAULT_COMPILATION_CACHE)
        if cache:
            enable_compilation_cache(cache)
    return logger


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

    The fits' traced losses are kept in its ``exported`` folder (:mod:`ffdiff.exported`), which
    spares the next job tracing them too.
    """
    import jax

    from ffdiff import exported

    jax.config.update("jax_compilation_cache_dir", str(Path(path).resolve()))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    exported.enable(Path(path).resolve() / "exported")


def configure_logging(snakemake, level: int = logging.INFO) -> logging.Logger:
    """Log to the rule's ``log[0]`` and to the terminal, and send uncaught tracebacks to both.

    Everything else the job writes to stderr (progress bars, warnings, XLA's C++ messages) goes to the
    log file only: jobs running side by side would otherwise interleave it on Snakemake's terminal.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if snakemake.log:
        terminal = os.fdopen(os.dup(2), "w", buffering=1)
        log = os.open(snakemake.log[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        sys.stderr.flush()
        os.dup2(log, 2)  # sys.stderr and C code now write to the log, through one file offset
        os.close(log)
        handlers.append(logging.StreamHandler(terminal))
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jax").setLevel(logging.WARNING)  # not "Unable to initialize backend 'tpu'" in every job

    def excepthook(kind, value, tb):
        logging.getLogger("ffdiff").error("uncaught exception", exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    return logging.getLogger(f"ffdiff.rule.{snakemake.rule}")


def _default(obj):
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_json(path, data) -> None:
    """Write JSON through a temporary file, so a crash never leaves a partial artifact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_default) + "\n")
    os.replace(tmp, path)
