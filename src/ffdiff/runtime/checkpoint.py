"""Pickle-free checkpoints of pytrees (parameters, optimizer states) as ``.npz`` files.

Every leaf is stored as its own array under its "/"-joined key path (``steps/step0/message/...``,
``0/mu/e0`` for an optax state), next to one JSON string entry ``__ffdiff__`` holding the format
version, the tree structure and the caller's metadata. The file is plain numpy: it opens with
``np.load(path, allow_pickle=False)`` and is readable without ffdiff. Loading rebuilds the
structure of a template, so NamedTuples and tuples (optax states) come back as they went in, and
a file that does not fit the template is rejected naming the key.

Writes go to a temporary file in the target directory that then replaces the target in one
``os.replace``, so an interrupted run leaves either the old checkpoint or the new one.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["FORMAT_VERSION", "load_pytree", "read_metadata", "save_pytree"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_HEADER = "__ffdiff__"
_ROOT = "<root>"  # key of a tree that is a single leaf
_DTYPE_KINDS = "biufc"  # bool, int, uint, float, complex: what .npz stores without pickle


def _key_name(entry) -> str:
    if isinstance(entry, jax.tree_util.DictKey):
        name = str(entry.key)
    elif isinstance(entry, jax.tree_util.SequenceKey):
        name = str(entry.idx)
    elif isinstance(entry, jax.tree_util.GetAttrKey):
        name = entry.name
    elif isinstance(entry, jax.tree_util.FlattenedIndexKey):
        name = str(entry.key)
    else:
        name = str(entry)
    if "/" in name or not name:
        raise ValueError(f"cannot store key {name!r}: keys must be non-empty and free of '/'")
    return name


def _flat(tree) -> tuple[list[tuple[str, Any]], Any]:
    """([(key, leaf)], treedef) with "/"-joined key paths."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    flat = [("/".join(_key_name(e) for e in path) or _ROOT, leaf) for path, leaf in leaves]
    return flat, treedef


def save_pytree(path: str | os.PathLike, tree, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``tree`` and JSON-serialisable ``metadata`` to ``path`` atomically.

    Args:
        path: target file; written as given (no ``.npz`` is appended).
        tree: pytree of arrays and Python/numpy scalars (dicts, lists, tuples, NamedTuples).
        metadata: e.g. ``{"step": 100, "config": {...}}``; returned by :func:`load_pytree`.

    Returns:
        The path written.

    Raises:
        ValueError: a key contains "/" or repeats, a leaf has a dtype ``.npz`` cannot hold
            without pickle (object, string), or ``metadata`` is not JSON-serialisable.

    Examples:
        >>> import tempfile, numpy as np
        >>> d = tempfile.mkdtemp()
        >>> _ = save_pytree(f"{d}/ckpt.npz", {"w": np.ones(2), "step": 3}, {"epoch": 1})
        >>> tree, meta = load_pytree(f"{d}/ckpt.npz", {"w": np.zeros(2), "step": 0})
        >>> tree["step"], meta
        (3, {'epoch': 1})
    """
    path = Path(path)
    flat, treedef = _flat(tree)
    arrays: dict[str, np.ndarray] = {}
    for key, leaf in flat:
        if key in arrays or key == _HEADER:
            raise ValueError(f"cannot store {path}: key {key!r} is repeated or reserved")
        value = np.asarray(leaf)
        if value.dtype.kind not in _DTYPE_KINDS:
            raise ValueError(f"cannot store {path}: leaf {key!r} has dtype {value.dtype}, "
                             f"expected a numeric or bool dtype")
        arrays[key] = value
    try:
        header = json.dumps({"format_version": FORMAT_VERSION, "treedef": str(treedef),
                             "metadata": dict(metadata or {})})
    except TypeError as err:
        raise ValueError(f"cannot store {path}: metadata is not JSON-serialisable ({err})") from None
    arrays[_HEADER] = np.asarray(header)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.debug("wrote checkpoint %s (%d leaves)", path, len(flat))
    return path


def _restore_leaf(template, value: np.ndarray):
    """``value`` in the container type of the template leaf."""
    if isinstance(template, jax.Array | jax.ShapeDtypeStruct):
        return jax.device_put(value)  # jnp.asarray would compile a program per leaf shape
    if isinstance(template, np.ndarray):
        return value
    if isinstance(template, np.generic):
        return value[()]
    if isinstance(template, bool | int | float | complex):
        return type(template)(value.item())
    return value


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`save_pytree` stored, without loading (or needing a template for) the tree.

    Raises:
        ValueError: not an ffdiff checkpoint.
    """
    with np.load(path, allow_pickle=False) as data:
        if _HEADER not in data.files:
            raise ValueError(f"{path} is not an ffdiff checkpoint: no {_HEADER!r} entry")
        return json.loads(str(data[_HEADER]))["metadata"]


def load_pytree(path: str | os.PathLike, like) -> tuple[Any, dict[str, Any]]:
    """Read a checkpoint written by :func:`save_pytree` into the structure of ``like``.

    Args:
        path: checkpoint file.
        like: template pytree with the expected structure, shapes and dtypes (e.g. freshly
            initialised parameters, or ``optax.adam(1e-3).init(params)``, or ``jax.eval_shape`` of
            either, which computes nothing).

    Returns:
        (tree, metadata): leaves bit-identical to the saved ones, as jax arrays where the template
        has jax arrays, numpy where it has numpy and Python scalars where it has those.

    Raises:
        ValueError: the file is not an ffdiff checkpoint, or a key is missing or extra, or a
            leaf's shape or dtype differs from the template's.
    """
    path = Path(path)
    flat, treedef = _flat(like)
    with np.load(path, allow_pickle=False) as data:
        if _HEADER not in data.files:
            raise ValueError(f"{path} is not an ffdiff checkpoint: no {_HEADER!r} entry")
        header = json.loads(str(data[_HEADER]))
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: expected format_version {FORMAT_VERSION}, "
                             f"got {header.get('format_version')!r}")
        stored = set(data.files) - {_HEADER}
        wanted = [key for key, _ in flat]
        missing = [k for k in wanted if k not in stored]
        extra = sorted(stored - set(wanted))
        if missing or extra:
            raise ValueError(f"{path} does not match the template: missing keys {missing}, "
                             f"extra keys {extra}")
        leaves = []
        for key, template in flat:
            value = data[key]
            want = template if isinstance(template, jax.ShapeDtypeStruct) else np.asarray(template)
            if value.shape != want.shape or value.dtype != want.dtype:
                raise ValueError(f"{path}: key {key!r} holds {value.dtype}{list(value.shape)}, "
                                 f"template expects {want.dtype}{list(want.shape)}")
            leaves.append(_restore_leaf(template, value))
    return jax.tree_util.tree_unflatten(treedef, leaves), header["metadata"]
