"""A local stand-in for PyTorch's CPU package index, for machines that cannot reach it.

Generated PyTorch projects take torch from https://download.pytorch.org/whl/cpu (the CPU build;
PyPI's Linux torch is the CUDA build). Our CI machines cannot reach that host, but they keep
PyTorch's own CPU wheel on disk. ``PytorchCpuIndex`` serves that wheel under the real index's
URL layout and host name, so that `uv lock` and `uv sync --locked` run unchanged and the lock
records the same URLs a user's lock records:

- an HTTPS server answering as ``download.pytorch.org`` (a certificate from a throw-away test CA,
  made with ``trustme``) with a PEP 503/691-style page for ``/whl/cpu/torch/`` listing the wheel
  with its sha256 and its PEP 658 metadata file;
- an HTTP CONNECT proxy: ``download.pytorch.org:443`` is routed to that server, every other host
  is tunnelled to the real one (PyPI still serves everything else).

uv is pointed at it with ``HTTPS_PROXY`` and ``SSL_CERT_FILE`` (the test CA plus the public roots).
What this cannot show: wheels for other platforms and Pythons. The index lists only the wheel on
this disk (CPython 3.11, Linux x86_64), so PyTorch projects are tested on Python 3.11.

The wheel is found through ``MLOPS_TEST_TORCH_WHEEL``, else in pip's ``find-links`` directories.
"""

from __future__ import annotations

import hashlib
import html
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "download.pytorch.org"
INDEX_PATH = "/whl/cpu"
TORCH_VERSION = "2.13.0"


def _find_links() -> list[Path]:
    """pip's find-links directories (its configuration files and PIP_FIND_LINKS)."""
    found = os.environ.get("PIP_FIND_LINKS", "").split()
    try:
        listing = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        listing = ""
    for line in listing.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("find-links"):
            found += value.strip().strip("'\"").split()
    return [Path(urllib.parse.urlparse(f).path if f.startswith("file:") else f) for f in found]


def find_torch_wheel(version: str = TORCH_VERSION) -> Path | None:
    explicit = os.environ.get("MLOPS_TEST_TORCH_WHEEL")
    if explicit:
        return Path(explicit)
    for directory in _find_links():
        for wheel in sorted(directory.glob(f"torch-{version}+cpu-*.whl")):
            return wheel
    return None


def _metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return archive.read(name)


def _sha256(data: bytes | Path) -> str:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with data.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _IndexHandler(BaseHTTPRequestHandler):
    server: _IndexServer

    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(self.path)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = urllib.parse.unquote(self.path.split("?", 1)[0])
        wheel = self.server.wheel
        file_path = f"{INDEX_PATH}/{wheel.name}"
        if path.rstrip("/") in (INDEX_PATH, f"{INDEX_PATH}/torch"):
            page = (
                self.server.project_page() if path.rstrip("/").endswith("torch") else self.server.root_page()
            )
            self._send(page.encode(), "text/html")
        elif path == file_path + ".metadata":
            self._send(self.server.metadata, "application/octet-stream")
        elif path == file_path:
            size = wheel.stat().st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command != "HEAD":
                with wheel.open("rb") as stream:
                    shutil.copyfileobj(stream, self.wfile, 1 << 20)
        else:
            self.send_error(404)


class _IndexServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, wheel: Path, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _IndexHandler)
        self.wheel = wheel
        self.metadata = _metadata(wheel)
        self.wheel_sha = _sha256(wheel)
        self.requests: list[str] = []
        self.socket = context.wrap_socket(self.socket, server_side=True)

    def root_page(self) -> str:
        return '<!DOCTYPE html><html><body><a href="torch/">torch</a></body></html>'

    def project_page(self) -> str:
        href = f"{INDEX_PATH}/{urllib.parse.quote(self.wheel.name)}#sha256={self.wheel_sha}"
        meta = f"sha256={_sha256(self.metadata)}"
        return (
            "<!DOCTYPE html><html><body><h1>Links for torch</h1>"
            f'<a href="{html.escape(href)}" data-dist-info-metadata="{meta}" data-core-metadata="{meta}">'
            f"{html.escape(self.wheel.name)}</a><br/></body></html>"
        )


def _pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    try:
        while True:
            readable, _, broken = select.select(sockets, [], sockets, 300)
            if broken or not readable:
                return
            for source in readable:
                data = source.recv(1 << 16)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        target = ("127.0.0.1", self.server.index_port) if host == HOST else (host, int(port or 443))
        try:
            upstream = socket.create_connection(target, timeout=60)
        except OSError as error:
            self.send_error(502, str(error))
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        _pipe(self.connection, upstream)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, index_port: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.index_port = index_port


class PytorchCpuIndex:
    """Serve the local CPU wheel as download.pytorch.org/whl/cpu; ``env()`` points uv at it."""

    def __init__(self, wheel: Path, workdir: Path) -> None:
        import certifi
        import trustme

        self.wheel = wheel
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(HOST).configure_cert(context)
        workdir.mkdir(parents=True, exist_ok=True)
        self.ca_bundle = workdir / "ca-bundle.pem"
        self.ca_bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca.cert_pem.bytes())
        self._index = _IndexServer(wheel, context)
        self._proxy = _ProxyServer(self._index.server_address[1])
        self._threads = [
            threading.Thread(target=server.serve_forever, daemon=True)
            for server in (self._index, self._proxy)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def requests(self) -> list[str]:
        """The paths the index served (to check that uv really came here)."""
        return list(self._index.requests)

    def env(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self._proxy.server_address[1]}"
        return {"HTTPS_PROXY": proxy, "https_proxy": proxy, "SSL_CERT_FILE": str(self.ca_bundle)}

    def close(self) -> None:
        for server in (self._proxy, self._index):
            server.shutdown()
            server.server_close()
