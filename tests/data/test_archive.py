"""Downloading a source distribution from a package index's JSON page (PEP 691), served locally."""

import functools
import hashlib
import http.server
import json
import threading

import pytest

from ffdiff.data.archive import download_sdist


@pytest.fixture
def index(tmp_path):
    """A one-package index on localhost: /simple/demo/ lists demo-1.0.tar.gz with its SHA-256 (and a
    wrong one for demo-2.0.tar.gz); yields (index URL, the 1.0 file's bytes)."""
    payload = b"not really a tarball"
    (tmp_path / "files").mkdir()
    for version in ("1.0", "2.0"):
        (tmp_path / f"files/demo-{version}.tar.gz").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    files = [{"filename": "demo-1.0.tar.gz", "url": "../../files/demo-1.0.tar.gz", "hashes": {"sha256": digest}},
             {"filename": "demo-2.0.tar.gz", "url": "../../files/demo-2.0.tar.gz", "hashes": {"sha256": "0" * 64}}]
    (tmp_path / "simple/demo").mkdir(parents=True)
    (tmp_path / "simple/demo/index.html").write_text(json.dumps({"files": files}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple", payload
    server.shutdown()


def test_sdist_from_the_index_json_page(index, tmp_path):
    url, payload = index
    path = download_sdist("demo", "1.0", tmp_path / "out", index_url=url)
    assert path == tmp_path / "out/demo-1.0.tar.gz" and path.read_bytes() == payload


def test_sdist_with_a_wrong_checksum_is_refused(index, tmp_path):
    with pytest.raises(ValueError, match="expected sha256 0000"):
        download_sdist("demo", "2.0", tmp_path / "out", index_url=index[0])
    assert not list((tmp_path / "out").glob("*"))  # nothing half-written
