"""Glue for the Snakemake scripts: job start-up (CPUs, compilation cache, logging, which library runs),
checkpoint folders keyed by everything a job depends on, JSON output."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import resource
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ffdiff.data.archive import sha256sum
from ffdiff.runtime import enable_compilation_cache, use_cpus
from ffdiff.runtime.provenance import source_digest


COMPILATION_CACHE = "FFDIFF_COMPILATION_CACHE"
DEFAULT_COMPILATION_CACHE = ".snakemake/ffdiff-jax-cache"
#: Where jobs keep the checkpoints they resume from (relative to the working directory): workflow state,
#: one folder per job and fingerprint, removed when the job succeeds (:func:`job_checkpoints`).
CHECKPOINTS = ".snakemake/ffdiff-checkpoints"
_PREAMBLE_END = "######## snakemake preamble end #########\n"  # Snakemake's marker in a job's script copy


def start_job(snakemake) -> logging.Logger:
    """Everything a rule's script does before its first computation: size JAX's thread pool to the
    job's threads, switch on the persistent compilation cache, log into the rule's log file.

    The JAX part is skipped for scripts that have not imported JAX by then (tables, figures,
    downloads): they then start in well under a second. A job given a GPU (:func:`gpu_given`) fails
    here, before any work, if JAX has no GPU device (:func:`require_gpu`).
    """
    logger = configure_logging(snakemake)
    check_library(snakemake.params)
    started = time.perf_counter()
    atexit.register(lambda: logger.info("wall time %.1f s, peak memory %.0f MB", time.perf_counter() - started,
                                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    given_gpu = gpu_given(snakemake)
    if given_gpu or "jax" in sys.modules:
        use_cpus(snakemake.threads)
        if given_gpu:
            require_gpu(snakemake.rule, given_gpu)
        cache = os.environ.get(COMPILATION_CACHE, DEFAULT_COMPILATION_CACHE)
        if cache:
            enable_compilation_cache(cache)
    return logger


def gpu_given(snakemake) -> str:
    """How the job was given a GPU, or ``""``: its resources (``gpu: N`` or a ``gres`` naming a GPU,
    as snakemake-executor-plugin-slurm reads them), or, for a job that has imported JAX, SLURM's record
    of GPUs allocated to it (a GPU asked for outside the resources; tables and figures made inside a
    GPU allocation do not count)."""
    resources = getattr(snakemake, "resources", None)
    gpu, gres = getattr(resources, "gpu", 0), str(getattr(resources, "gres", "") or "")
    if gpu:
        return f"resources gpu={gpu}"
    if "gpu" in gres:
        return f"resources gres={gres}"
    for name in ("SLURM_GPUS_ON_NODE", "SLURM_JOB_GPUS"):
        if "jax" in sys.modules and os.environ.get(name, "0") not in ("", "0"):
            return f"{name}={os.environ[name]}"
    return ""


def require_gpu(rule: str, given: str) -> None:
    """Refuse to run a job that was given a GPU on JAX's CPU backend (hours instead of minutes).

    Raises:
        RuntimeError: JAX has no GPU device, saying how to install the CUDA plugin.
    """
    import jax

    platforms = sorted({device.platform for device in jax.devices()})
    if not set(platforms) & {"gpu", "cuda", "rocm"}:
        raise RuntimeError(
            f"rule {rule} was given a GPU ({given}) but JAX sees only {', '.join(platforms)} devices: "
            "this environment has no CUDA plugin for jaxlib. Install it with "
            '`pip install -c constraints.txt -e ".[cuda]"` (README, "Cluster use"), or, if it is installed, '
            "see this log for why JAX could not start it")


def put_first_on_job_path(source: str) -> None:
    """Put ``source`` first on ``PYTHONPATH`` for the processes Snakemake starts (jobs inherit its
    environment, also through sbatch): Snakemake itself only appends the workflow's folders to a job's
    ``sys.path``, after site-packages, where an installed ffdiff of another checkout would win."""
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))


def check_library(params) -> None:
    """Refuse to compute with another ffdiff than the one the workflow recorded in the job's
    ``params.code_version`` (an installed copy of another checkout that won the import).

    Raises:
        RuntimeError: naming where the running ffdiff was imported from.
    """
    recorded = dict(getattr(params, "code_version", None) or {}).get("ffdiff_source")
    if recorded is not None and recorded != source_digest():
        raise RuntimeError(
            f"this job imported ffdiff from {Path(__file__).resolve().parent}, whose source differs from the one "
            "the workflow recorded when it started (params.code_version.ffdiff_source): another ffdiff won the "
            "import (remove it from PYTHONPATH, or `pip install -e` this checkout), or the library was edited "
            "while the workflow ran (run it again)")


def _input_digest(path: Path) -> str:
    """sha256 of an input file's contents, or of a folder's file names and contents."""
    if not path.is_dir():
        return sha256sum(path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return hashlib.sha256(json.dumps([[p.relative_to(path).as_posix(), sha256sum(p)] for p in files]).encode()).hexdigest()


def _script_source() -> str:
    """The job's script as written (Snakemake runs a copy prefixed with a preamble that changes every run)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main is None or not Path(main).is_file():
        return ""
    return Path(main).read_text().split(_PREAMBLE_END, 1)[-1]


def job_fingerprint(snakemake) -> str:
    """sha256 of everything that determines a job's results: its rule, wildcards, params, the contents of
    its input files, its script and the running ffdiff's source. Two jobs with one fingerprint compute the
    same thing; state written by one may be read by the other, and by no other job."""
    key = {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "params": dict(snakemake.params.items()),
        "inputs": [_input_digest(Path(path)) for path in snakemake.input],
        "script": hashlib.sha256(_script_source().encode()).hexdigest(),
        "ffdiff": source_digest(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


@contextlib.contextmanager
def job_checkpoints(snakemake, root: str | os.PathLike = CHECKPOINTS) -> Iterator[Path]:
    """The folder a job keeps its checkpoints in, ``<root>/<rule>/<wildcards>/<fingerprint>``.

    Only a job with the same fingerprint (:func:`job_fingerprint`) ever reads it. It is kept if the job
    fails or is killed, so the job's rerun resumes, and deleted when the job succeeds: a finished job's
    state is its outputs, and a forced rerun computes afresh. Folders of interrupted runs with other
    inputs, params or code are left alone, unread (a change undone later resumes them).
    """
    logger = logging.getLogger(__name__)
    slot = Path(root) / snakemake.rule / ("-".join(f"{k}={v}" for k, v in snakemake.wildcards.items()) or "_")
    folder = slot / job_fingerprint(snakemake)
    if folder.is_dir():
        logger.info("resuming from the checkpoints of an interrupted run of this job in %s", folder)
    others = [p for p in slot.iterdir() if p != folder] if slot.is_dir() else []
    if others:
        logger.info("not reading %d checkpoint folder(s) in %s: written for other inputs, params or code",
                    len(others), slot)
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    shutil.rmtree(folder)
    for empty in (slot, slot.parent, slot.parent.parent):  # no empty folders left behind
        with contextlib.suppress(OSError):
            empty.rmdir()


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
    """``obj`` made of what JSON holds: numpy arrays and numbers as lists and Python numbers, NaN and
    infinities as None (JSON has no such numbers), dicts, lists and tuples converted throughout."""
    if isinstance(obj, np.ndarray | np.generic):
        obj = obj.tolist()
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _default(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_default(value) for value in obj]
    if obj is None or isinstance(obj, str | int):
        return obj
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_json(path, data) -> None:
    """Write JSON through a temporary file, so a crash never leaves a partial artifact.

    Numbers that are not finite (NaN, ±inf: values that are missing or undefined) are written as
    ``null``, so the file is valid JSON, which strict readers parse too; readers take ``null`` as missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(_default(data), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
