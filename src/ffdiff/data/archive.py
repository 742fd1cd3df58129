"""Fetching reference data: verified extraction from a source archive (phonopy's sdist ships VASP
data), and plain downloads by URL."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path


def sha256sum(path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_members(archive, members: dict[str, str | Path], *, sha256: str | None = None) -> None:
    """Copy named members of a ``.tar.gz`` to destination paths.

    Args:
        archive: the tarball.
        members: {path inside the archive relative to its top folder: destination file}.
        sha256: expected checksum of the archive; checked before anything is written.

    Raises:
        ValueError: checksum mismatch, or a member missing from the archive.
    """
    archive = Path(archive)
    if sha256 is not None and (found := sha256sum(archive)) != sha256:
        raise ValueError(f"{archive}: expected sha256 {sha256}, found {found}")
    with tarfile.open(archive, "r:gz") as tar:
        names = {name.split("/", 1)[-1]: name for name in tar.getnames()}
        missing = sorted(set(members) - set(names))
        if missing:
            raise ValueError(f"{archive}: no member {', '.join(missing)}")
        for member, dest in members.items():
            dest = Path(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(names[member])
            if source is None:
                raise ValueError(f"{archive}: {member} is not a regular file")
            with source, open(dest, "wb") as out:
                shutil.copyfileobj(source, out)


def download_sdist(package: str, version: str, dest) -> Path:
    """Fetch ``package==version``'s source distribution with pip; returns the ``.tar.gz`` path.

    Raises:
        RuntimeError: pip failed (offline, unknown version); pip's own output is in the message.
    """
    import subprocess
    import sys

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", package,
           f"{package}=={version}", "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    target = dest / f"{package}-{version}.tar.gz"
    if proc.returncode != 0 or not target.exists():
        raise RuntimeError(
            f"could not download the {package} {version} source distribution (network or index "
            f"unreachable?): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
        )
    return target


def fetch_url(url: str, dest, *, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Download ``url`` (``https://``, ``http://`` or ``file://``) to ``dest``.

    The file appears at ``dest`` only once complete and verified, so an interrupted or offline run
    leaves nothing behind.

    Raises:
        RuntimeError: the URL cannot be reached (offline, wrong address); names the URL.
        ValueError: checksum mismatch.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as err:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"could not download {url} ({err}); this source needs network access") from err
    if sha256 is not None and (found := sha256sum(tmp)) != sha256:
        tmp.unlink()
        raise ValueError(f"{url}: expected sha256 {sha256}, found {found}")
    os.replace(tmp, dest)
    return dest
