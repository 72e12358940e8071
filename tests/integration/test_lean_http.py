"""The lean session alpaca-py's clients use, against real local HTTP and HTTPS servers."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError

from infrastructure.alpaca.lean_http import LeanSession


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_one(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(  # type: ignore[attr-defined]
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        if self.path.startswith(("/chunked", "/until-close")):
            return self.frame_otherwise()
        if self.path.startswith("/hints"):
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
        status = 422 if self.path.startswith("/refuse") else 200
        payload = json.dumps(
            {"code": 42210000, "message": "refused"} if status == 422 else {"ok": 1}
        )
        data = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if self.path.startswith("/hang-up"):
            self.close_connection = True  # an idle keep-alive closed without saying so

    def frame_otherwise(self) -> None:
        """The body in chunks (with an extension and a trailer), or up to the hang-up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Part", "a")
        self.send_header("X-Part", "b")
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b'4;note=x\r\n{"ok\r\n')
            self.wfile.write(b'5\r\n": 2}\r\n0\r\nX-Trailer: t\r\n\r\n')
        else:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b'{"ok": 3}')
            self.close_connection = True

    do_GET = do_POST = do_DELETE = handle_one

    def log_message(self, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.seen: list[dict[str, Any]] = []
        self.accepted = 0  # connections opened by clients
        self.hung_up = threading.Event()  # set once a connection is closed on the server side

    def process_request(self, request: Any, client_address: Any) -> None:
        self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.hung_up.set()


def serve(tls: Any = None) -> tuple[Server, str]:
    server = Server()
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = "localhost" if tls is not None else "127.0.0.1"
    return server, f"{scheme}://{host}:{server.server_address[1]}"


@pytest.fixture
def plain() -> Iterator[tuple[Server, str]]:
    server, base = serve()
    yield server, base
    server.shutdown()
    server.server_close()


def test_requests_are_the_ones_requests_would_send(plain):
    server, base = plain
    session = LeanSession(timeout=2)
    params = {"status": "all", "symbols": "AAPL,MSFT", "after": None, "nested": ["a", "b"]}
    answer = session.request("GET", f"{base}/v2/orders", headers={"X-Key": "k"}, params=params)
    assert answer.status_code == 200 and answer.json() == {"ok": 1} and answer.text == '{"ok": 1}'
    expected = requests.Request("GET", f"{base}/v2/orders", params=params).prepare().url
    assert f"{base}{server.seen[0]['path']}" == expected  # None dropped, lists repeated
    assert server.seen[0]["headers"]["X-Key"] == "k"

    order = {"symbol": "AAPL", "qty": "1", "client_order_id": "ob-1"}
    session.request("POST", f"{base}/v2/orders", json=order)
    sent = server.seen[1]
    assert json.loads(sent["body"]) == order
    assert sent["headers"]["Content-Type"] == "application/json"
    session.request("DELETE", f"{base}/v2/orders/123")
    assert server.seen[2]["headers"]["Content-Length"] == "0"  # as requests sends a DELETE
    assert server.accepted == 1  # one kept-alive connection for all three


def test_an_error_answer_becomes_alpaca_py_s_api_error(plain):
    _, base = plain
    answer = LeanSession(timeout=2).request("POST", f"{base}/refuse", json={})
    with pytest.raises(requests.HTTPError) as raised:
        answer.raise_for_status()
    error = APIError(answer.text, raised.value)
    assert (error.status_code, error.code, error.message) == (422, 42210000, "refused")


def test_a_connection_the_server_dropped_is_replaced(plain):
    server, base = plain
    session = LeanSession(timeout=2)
    session.request("GET", f"{base}/hang-up")
    assert server.hung_up.wait(5)  # closed, as an idle keep-alive times out, without a word
    assert session.request("GET", f"{base}/again").json() == {"ok": 1}
    assert server.accepted == 2


def test_chunked_and_connection_framed_bodies_are_read_whole(plain):
    server, base = plain
    session = LeanSession(timeout=2)
    chunked = session.request("GET", f"{base}/chunked")
    assert chunked.json() == {"ok": 2}
    assert chunked.headers["x-part"] == "a, b"  # repeated headers joined, as requests does
    assert session.request("GET", f"{base}/after-chunks").json() == {"ok": 1}
    assert server.accepted == 1  # the chunked answer left the connection ready for more
    assert session.request("GET", f"{base}/until-close").json() == {"ok": 3}
    assert session.request("GET", f"{base}/after-close").json() == {"ok": 1}
    assert server.accepted == 2  # a new connection after the one the server closed
    hinted = session.request("GET", f"{base}/hints")  # an interim 103 first, then the answer
    assert (hinted.status_code, hinted.json()) == (200, {"ok": 1})


def test_failures_are_requests_exceptions(plain):
    _, base = plain
    with pytest.raises(requests.ReadTimeout):
        LeanSession(timeout=0.2).request("GET", f"{base}/slow")
    closed = serve()
    closed[0].server_close()
    with pytest.raises(requests.ConnectionError):
        LeanSession(timeout=1).request("GET", f"{closed[1]}/x")
    with pytest.raises(requests.exceptions.InvalidHeader):
        LeanSession(timeout=1).request("GET", f"{base}/x", headers={"X": "a\r\nInjected: 1"})


def test_https_is_verified_against_the_bundle(tmp_path: Path):
    import ssl

    ca, cert, key = make_certificates(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server, base = serve(tls)
    try:
        trusted = LeanSession(timeout=2, verify=str(ca))
        assert trusted.request("POST", f"{base}/v2/orders", json={"a": 1}).json() == {"ok": 1}
        assert json.loads(server.seen[-1]["body"]) == {"a": 1}
        folder = tmp_path / "trusted"  # a hashed certificate folder, as `c_rehash` makes
        folder.mkdir()
        (folder / "ca.pem").write_bytes(ca.read_bytes())
        subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True)
        by_folder = LeanSession(timeout=2, verify=str(folder))
        assert by_folder.request("GET", f"{base}/v2/account").json() == {"ok": 1}
        with pytest.raises(requests.ConnectionError):  # not in the default bundle
            LeanSession(timeout=2).request("GET", f"{base}/v2/account")
    finally:
        server.shutdown()
        server.server_close()


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for localhost, with the openssl CLI."""
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem")
    )
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
            str(ca), "-days", "2", "-subj", "/CN=openbell test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", "/CN=localhost")  # fmt: skip
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key
