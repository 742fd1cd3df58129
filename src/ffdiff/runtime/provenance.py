"""What identifies the running library's code, for keys of state kept between processes."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["source_digest"]


@functools.cache
def source_digest() -> str:
    """sha256 of every ffdiff source file (relative path and contents) of the running library: an edit
    anywhere in the package gives another digest, also without a new version number."""
    root = Path(__file__).resolve().parents[1]  # the ffdiff package
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
