"""Traced programs kept on disk, so that a later process runs them without tracing them again.

JAX's persistent compilation cache spares a new process the XLA compilation of a program it has
seen, not the tracing and lowering that come first, which cost a second or two for a fit's loss and
gradient (a Hessian inside a gradient). :class:`Program` keeps the lowered program too, serialized
with :mod:`jax.export`, under a key made of the function's name, the arguments' tree and types,
the ffdiff sources, the JAX version and the backend; a later process with the same key loads it
in milliseconds and runs it through the same compilation cache. The results are bit for bit those
of tracing afresh. A kept program that cannot be read, or does not take the call's arguments (a file
copied in from elsewhere), is traced again and replaced.

It is off until :func:`enable` names a directory (the workflow's jobs put it next to the
compilation cache), and it only keeps functions of ffdiff's own modules, named by their module
and qualified name: the key covers ffdiff's sources, not a notebook's functions, which therefore
are always traced.

A process that traces and compiles a program holds a lock on its key meanwhile, so that jobs
starting the same program at the same time (the fits of one potential often do) wait for it and
then load both the traced program and the compiled one, instead of repeating the work.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path

import jax

from ffdiff.runtime.provenance import source_digest

logger = logging.getLogger(__name__)

_directory: Path | None = None
LOCK_WAIT_S = 600.0  # longest wait for another process's compilation before doing it here as well


def enable(path) -> None:
    """Keep traced programs in ``path`` (created if missing); ``None`` switches it off."""
    global _directory
    _directory = None if path is None else Path(path)
    if _directory is not None:
        _directory.mkdir(parents=True, exist_ok=True)


def stable_name(fn) -> str | None:
    """``module.qualname`` of a function of ffdiff's modules, or of a ``functools.partial`` of one with
    such functions as its positional arguments; None for anything else (lambdas, closures, user code)."""
    if isinstance(fn, functools.partial):
        parts = [stable_name(f) for f in (fn.func, *fn.args)]
        return None if fn.keywords or None in parts else f"{parts[0]}({', '.join(parts[1:])})"
    if not isinstance(fn, types.FunctionType) or "<" in fn.__qualname__:
        return None
    module = fn.__module__ or ""
    return f"{module}.{fn.__qualname__}" if module == "ffdiff" or module.startswith("ffdiff.") else None


class Program:
    """``jax.jit(fn, compiler_options=...)``, whose lowered programs are kept on disk (see the module
    docstring) when :func:`enable` is on and ``name`` is given (see :func:`stable_name`)."""

    def __init__(self, fn: Callable, name: str | None, compiler_options: dict | None = None):
        self.jitted = jax.jit(fn, compiler_options=compiler_options)
        self._traced = jax.jit(fn)  # what is exported: options belong to the outermost jit only
        self.name = name
        self.compiler_options = compiler_options
        self._calls: dict[str, Callable] = {}

    def __call__(self, *args):
        if _directory is None or self.name is None:
            return self.jitted(*args)
        leaves, tree = jax.tree.flatten(args)
        key = self._key(tree, leaves)
        call = self._calls.get(key)
        if call is None:
            with _only_process(_directory / "locks" / f"{key}.lock"):
                call = self._calls.get(key)  # another thread may have made it meanwhile
                if call is None:
                    call = self._calls[key] = jax.jit(self._exported(key, tree, leaves).call,
                                                      compiler_options=self.compiler_options)
                    return call(*leaves)  # compiles, or loads from the compilation cache, under the lock
        return call(*leaves)

    def _key(self, tree, leaves) -> str:
        text = "\n".join([self.name, str(tree), str([jax.typeof(x) for x in leaves]), source_digest(),
                          jax.__version__, str(jax.config.jax_enable_x64), jax.default_backend()])
        return hashlib.sha256(text.encode()).hexdigest()

    def _exported(self, key: str, tree, leaves):
        from jax import export

        path = _directory / f"{key}.jax-exported"
        if path.exists():
            try:
                kept = export.deserialize(bytearray(path.read_bytes()))
            except Exception as err:  # a truncated or foreign file: trace again and replace it
                logger.warning("cannot load the traced program %s (%s); tracing it again", path, err)
            else:
                mismatch = _mismatch(kept, leaves)
                if mismatch is None:
                    return kept
                logger.warning("the traced program %s does not match the call (%s); tracing it again", path,
                               mismatch)
        exported = export.export(jax.jit(lambda *flat: self._traced(*jax.tree.unflatten(tree, flat))))(*leaves)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(exported.serialize())
        tmp.replace(path)  # atomic: a concurrent job reads the whole file or none
        return exported


def _mismatch(kept, leaves) -> str | None:
    """Why a kept program cannot run a call with arguments ``leaves`` (other shapes, types or backend),
    or None when it can. The key should rule this out; a file copied in, or written by code whose key
    missed what changed, does not."""
    found = [jax.typeof(x) for x in leaves]
    if [(tuple(a.shape), a.dtype) for a in kept.in_avals] != [(tuple(a.shape), a.dtype) for a in found]:
        return f"it takes ({', '.join(map(str, kept.in_avals))}), the call gives ({', '.join(map(str, found))})"
    if jax.default_backend() not in kept.platforms:
        return f"it runs on {', '.join(kept.platforms)}, this process on {jax.default_backend()}"
    return None


_held: dict[Path, list] = {}  # key file -> [this process's lock for it, depth of the file lock held]
_held_guard = threading.Lock()


@contextlib.contextmanager
def _only_process(path: Path):
    """Hold an exclusive lock on ``path`` against other processes (waiting at most :data:`LOCK_WAIT_S`)
    and other threads; the holder may enter again. Where the file system cannot lock, go on without.
    The lock files stay (removing one would race with a process waiting on it)."""
    with _held_guard:
        entry = _held.setdefault(path, [threading.RLock(), 0])
    with entry[0]:
        entry[1] += 1
        try:
            if entry[1] > 1:  # this thread holds the file lock already
                yield
            else:
                with _file_lock(path):
                    yield
        finally:
            entry[1] -= 1


@contextlib.contextmanager
def _file_lock(path: Path):
    handle = None
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")  # noqa: SIM115 (closed below, which releases the lock)
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    logger.warning("%s still locked after %.0f s; compiling here as well", path, LOCK_WAIT_S)
                    break
                time.sleep(0.05)
    except (ImportError, OSError):  # no locking here (not POSIX, or a file system without it)
        pass
    try:
        yield
    finally:
        if handle is not None:
            handle.close()
