"""Fetching reference data: verified extraction from a source archive (phonopy's sdist ships VASP
data), and plain downloads by URL."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

logger = logging.getLogger(__name__)

PYPI_SIMPLE = "https://pypi.org/simple"


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


def download_sdist(package: str, version: str, dest, *, index_url: str | None = None) -> Path:
    """Fetch ``package==version``'s source distribution; returns the ``.tar.gz`` path.

    The file comes straight from the package index's JSON API (PEP 691; ``index_url``, else
    ``$PIP_INDEX_URL``, else PyPI), checked against the index's SHA-256. If the index cannot be
    reached that way (a mirror known only to pip's configuration, a proxy), pip downloads it, which
    takes ~10 s longer: it builds the package's metadata to check what it fetched.

    Raises:
        RuntimeError: neither worked (offline, unknown version); pip's own output is in the message.
        ValueError: the file the index served does not have the index's checksum.
    """
    dest = Path(dest)
    target = dest / f"{package}-{version}.tar.gz"
    index = index_url or os.environ.get("PIP_INDEX_URL") or PYPI_SIMPLE
    try:
        url, digest = _sdist_link(index, package, version)
        return fetch_url(url, target, sha256=digest, timeout=30.0)
    except RuntimeError as err:
        logger.info("%s; downloading with pip", err)
    return _pip_download(package, version, dest)


def _sdist_link(index: str, package: str, version: str) -> tuple[str, str | None]:
    """(URL, SHA-256 or None) of the sdist in a PEP 691 JSON index page."""
    page = f"{index.rstrip('/')}/{package}/"
    request = urllib.request.Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=30.0) as response:
            files = json.load(response)["files"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
        raise RuntimeError(f"no JSON index page at {page} ({err})") from err
    name = f"{package}-{version}.tar.gz"
    for entry in files:
        if entry.get("filename") == name:
            return urllib.parse.urljoin(page, entry["url"]), entry.get("hashes", {}).get("sha256")
    raise RuntimeError(f"{page} lists no {name}")


def _pip_download(package: str, version: str, dest: Path) -> Path:
    import subprocess
    import sys

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
