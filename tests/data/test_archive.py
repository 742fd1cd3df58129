"""Downloading a source distribution from a package index's JSON page (PEP 691), served locally."""

import functools
import hashlib
import http.server
import json
import threading

import pytest

from ffdiff.data import archive
from ffdiff.data.archive import download_sdist


@pytest.fixture
def index(tmp_path):
    """A one-package index on localhost: /simple/demo/ lists demo-1.0.tar.gz with its SHA-256, a wrong
    one for demo-2.0.tar.gz and none for demo-3.0.tar.gz; yields (index URL, the 1.0 file's bytes)."""
    payload = b"not really a tarball"
    (tmp_path / "files").mkdir()
    hashes = {"1.0": {"sha256": hashlib.sha256(payload).hexdigest()}, "2.0": {"sha256": "0" * 64}, "3.0": {}}
    files = []
    for version, digest in hashes.items():
        (tmp_path / f"files/demo-{version}.tar.gz").write_bytes(payload)
        files.append({"filename": f"demo-{version}.tar.gz", "url": f"../../files/demo-{version}.tar.gz",
                      "hashes": digest})
    (tmp_path / "simple/demo").mkdir(parents=True)
    (tmp_path / "simple/demo/index.html").write_text(json.dumps({"files": files}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple", payload
    server.shutdown()
    server.server_close()


@pytest.fixture
def pip_calls(monkeypatch):
    """Stands in for pip: records its calls (package, version, index) and fails like pip offline."""
    calls = []

    def fake(package, version, dest, index_url):
        calls.append((package, version, index_url))
        raise RuntimeError("pip: no network")

    monkeypatch.setattr(archive, "_pip_download", fake)
    return calls


def test_sdist_from_the_index_json_page(index, pip_calls, tmp_path):
    url, payload = index
    path = download_sdist("demo", "1.0", tmp_path / "out", index_url=url)
    assert path == tmp_path / "out/demo-1.0.tar.gz" and path.read_bytes() == payload
    assert not pip_calls


@pytest.mark.parametrize(("version", "index_url", "reason"), [
    ("3.0", None, "without a SHA-256"),  # never unchecked
    ("9.9", None, "lists no demo-9.9.tar.gz"),
    ("1.0", "http://127.0.0.1:9/simple", "no JSON index page"),  # nothing listens on port 9
    ("1.0", "https://user:token@127.0.0.1:9/simple", "credentials"),
])
def test_pip_downloads_where_the_json_page_cannot(index, pip_calls, tmp_path, version, index_url, reason):
    url = index_url or index[0]
    with pytest.raises(RuntimeError, match="pip: no network") as failed:
        download_sdist("demo", version, tmp_path / "out", index_url=url)
    assert reason in str(failed.value) and pip_calls == [("demo", version, url)]
    assert "token" not in str(failed.value).split("before that:")[1]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*"))


def test_sdist_with_a_wrong_checksum_is_refused(index, tmp_path):
    with pytest.raises(ValueError, match="expected sha256 0000"):
        download_sdist("demo", "2.0", tmp_path / "out", index_url=index[0])
    assert not list((tmp_path / "out").glob("*"))  # nothing half-written
