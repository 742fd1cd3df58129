"""Fetching reference data: verified extraction from a source archive (phonopy's sdist ships VASP
data), and plain downloads by URL."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import netrc
import os
import re
import shutil
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

logger = logging.getLogger(__name__)

PYPI_SIMPLE = "https://pypi.org/simple"

#: Query parameters whose values are redacted: tokens, keys, signatures, passwords (e.g. ``?token=``,
#: ``X-Amz-Signature``, ``sig``, ``access_key``).
_SECRET_QUERY = re.compile(r"token|key|secret|sig|password|passwd|auth|credential", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` fit to print: credentials (``user:token@``) and the values of secret-looking query
    parameters (token, key, signature, password, ...) become ``***``; anything else is kept.

    Example:
        >>> redact_url("https://user:s3cret@example.org/raw/a?token=abc&ref=main")
        'https://***@example.org/raw/a?token=***&ref=main'
    """
    parts = urllib.parse.urlsplit(url)
    netloc = f"***@{parts.netloc.rpartition('@')[2]}" if "@" in parts.netloc else parts.netloc
    query = "&".join(
        f"{name}=***" if sep and _SECRET_QUERY.search(name) else f"{name}{sep}{value}"
        for name, sep, value in (pair.partition("=") for pair in parts.query.split("&"))
    )
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return parts._replace(netloc=netloc, query=query).geturl()


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

    The file comes straight from the package index's JSON page (PEP 691), checked against the
    SHA-256 the index lists for it. Where that route is closed (the index answers no JSON or lists no
    checksum, an index URL with credentials, a mirror or proxy known only to pip's configuration, no
    network) pip downloads it instead, ~10 s slower: it builds the package's metadata to check what
    it fetched.

    Args:
        package: distribution name.
        version: exact version.
        dest: folder for the file.
        index_url: the index's simple API, e.g. ``https://pypi.org/simple`` (default ``$PIP_INDEX_URL``,
            else PyPI); pip is given it too.

    Raises:
        RuntimeError: neither route worked (offline, unknown version); both reasons are in the message.
        ValueError: the file the index served does not have the index's checksum.
    """
    dest = Path(dest)
    index = index_url or os.environ.get("PIP_INDEX_URL") or PYPI_SIMPLE
    try:
        url, digest = _sdist_link(index, package, version)
        return fetch_url(url, dest / f"{package}-{version}.tar.gz", sha256=digest, timeout=10.0)
    except RuntimeError as err:
        reason = str(err)
    logger.info("%s; downloading with pip", reason)
    try:
        return _pip_download(package, version, dest, index_url)
    except RuntimeError as err:
        raise RuntimeError(f"{err}\n(before that: {reason})") from err


def _sdist_link(index: str, package: str, version: str) -> tuple[str, str]:
    """(URL, SHA-256) of the sdist on a PEP 691 JSON index page.

    Raises:
        RuntimeError: no such page, no such file on it, or no checksum for it.
    """
    parts = urllib.parse.urlsplit(index)
    if parts.username or parts.password:  # urllib takes "user:token@host" for a host name; pip knows better
        raise RuntimeError("index URL with credentials")
    page = f"{index.rstrip('/')}/{package}/"
    name = f"{package}-{version}.tar.gz"
    request = urllib.request.Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=10.0) as response:
            files = {entry["filename"]: entry for entry in json.load(response)["files"]}
        entry = files.get(name)
        link = entry and (urllib.parse.urljoin(page, entry["url"]), entry.get("hashes", {}).get("sha256"))
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as err:  # URLError: an OSError
        raise RuntimeError(f"no JSON index page at {page} ({type(err).__name__}: {err})") from err
    if not link or not link[1]:
        raise RuntimeError(f"{page} lists {'no ' + name if not link else name + ' without a SHA-256'} "
                           f"(sdists listed: {sorted(f for f in files if f.endswith('.tar.gz'))[-5:]})")
    return link


def _pip_download(package: str, version: str, dest: Path, index_url: str | None) -> Path:
    """``pip download`` of the sdist into ``dest``; returns its path."""
    import subprocess
    import sys

    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{package}-{version}.tar.gz"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", package,
           f"{package}=={version}", "-d", str(dest), *(["--index-url", index_url] if index_url else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not target.exists():
        shown = " ".join(cmd)
        if index_url:
            shown = shown.replace(index_url, redact_url(index_url))
        raise RuntimeError(
            f"could not download the {package} {version} source distribution (network or index "
            f"unreachable?): {shown}\n{proc.stdout}\n{proc.stderr}"
        )
    return target


def _open(url: str, timeout: float):
    """urllib's response for ``url``. An HTTP(S) URL's credentials (``user:token@host``, which urllib
    would take for part of the host name), else the host's entry in ``$NETRC`` or ``~/.netrc``, are sent
    as HTTP basic authentication, to that scheme, host and port only: a redirect elsewhere does not
    carry them."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    bare = parts._replace(netloc=host).geturl() if "@" in parts.netloc else url
    credentials = _credentials(parts) if parts.scheme in ("http", "https") else None
    if credentials is None:
        return urllib.request.urlopen(bare, timeout=timeout)
    passwords = urllib.request.HTTPPasswordMgrWithPriorAuth()
    passwords.add_password(None, f"{parts.scheme}://{host}/", *credentials, is_authenticated=True)
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords))
    return opener.open(bare, timeout=timeout)


def _credentials(parts: urllib.parse.SplitResult) -> tuple[str, str] | None:
    """(user, password) of a URL: its own, else its host's netrc entry, else None."""
    if "@" in parts.netloc:
        return urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or "")
    try:
        entry = netrc.netrc(os.environ.get("NETRC")).authenticators(parts.hostname or "")
    except FileNotFoundError:
        return None
    except netrc.NetrcParseError as err:  # its message may quote the file's text: show where only
        logger.warning("netrc file %s unreadable at line %s; downloading without credentials", err.filename,
                       err.lineno)
        return None
    except OSError as err:
        logger.warning("netrc file unreadable (%s); downloading without credentials", type(err).__name__)
        return None
    return (entry[0] or "", entry[2] or "") if entry else None


def fetch_url(url: str, dest, *, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Download ``url`` (``https://``, ``http://`` or ``file://``) to ``dest``.

    Credentials in the URL (``https://user:token@host/...``), else the host's entry in ``$NETRC`` or
    ``~/.netrc``, are sent as HTTP basic authentication; messages show the URL through
    :func:`redact_url`. The file appears at ``dest`` only once complete and verified, so an
    interrupted or offline run leaves nothing behind.

    Raises:
        RuntimeError: the URL cannot be reached (offline, wrong address); names the URL.
        ValueError: checksum mismatch.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with _open(url, timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
    except (OSError, http.client.HTTPException) as err:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"could not download {redact_url(url)} ({err}); this source needs network access") from err
    except BaseException:  # interrupted: leave nothing behind
        tmp.unlink(missing_ok=True)
        raise
    if sha256 is not None and (found := sha256sum(tmp)) != sha256:
        tmp.unlink()
        raise ValueError(f"{redact_url(url)}: expected sha256 {sha256}, found {found}")
    os.replace(tmp, dest)
    return dest
