"""A lean stand-in for the `requests.Session` inside alpaca-py's REST clients.

alpaca-py sends every call through `session.request(method, url, headers=, params=|json=)` and
reads `status_code`, `text`, `json()` and `raise_for_status()` of the answer. requests and urllib3
spend ~0.5 ms of Python per call getting there (preparing, merging settings, pooling, header
parsing): most of an order's cost in the live trader, whose orders leave in bursts. This session
keeps one keep-alive connection per thread and host, writes each request in one `sendall`, reads
the answer straight off the socket, and answers with a real `requests.Response`, so alpaca-py
(and its `APIError`) work unchanged.
Failures raise requests' own exceptions (ConnectionError, ConnectTimeout, ReadTimeout), which the
broker treats as "outcome unknown: look the order up before resubmitting".

Used when no proxy is configured (see `clients.py`); behind a proxy the requests session stays.
"""

from __future__ import annotations

import json as jsonlib
import os
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.models import RequestEncodingMixin
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers

_BODYLESS = ("GET", "HEAD")


class _Channel:
    """One keep-alive connection to one origin, used by one thread at a time."""

    def __init__(self, scheme: str, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        self._address = (host, port)
        self._tls = tls if scheme == "https" else None
        self._socket: socket.socket | None = None

    def exchange(self, raw: bytes, method: str, timeout: float) -> _Answer:
        sock = self._open(timeout)
        try:
            if sock.gettimeout() != timeout:
                sock.settimeout(timeout)
            sock.sendall(raw)
            answer = _read_answer(sock, method)
        except TimeoutError as exc:
            self.close()
            raise requests.ReadTimeout(str(exc) or "read timed out") from exc
        except (OSError, ValueError) as exc:
            self.close()
            raise requests.ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        if answer.close:
            self.close()
        return answer

    def _open(self, timeout: float) -> socket.socket:
        sock = self._socket
        # A kept connection the server closed meanwhile reads as ready (EOF): open a new one.
        if sock is not None and select.select([sock], [], [], 0)[0]:
            self.close()
            sock = None
        if sock is None:
            try:
                sock = socket.create_connection(self._address, timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
            except TimeoutError as exc:
                raise requests.ConnectTimeout(f"connecting to {self._address}: {exc}") from exc
            except OSError as exc:
                raise requests.ConnectionError(f"connecting to {self._address}: {exc}") from exc
            self._socket = sock
        return sock

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


class LeanSession:
    """What alpaca-py's RESTClient needs of a `requests.Session`, and no more."""

    def __init__(self, timeout: float, verify: bool | str = True) -> None:
        self._timeout = timeout
        self._tls: ssl.SSLContext
        if verify:
            bundle = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
            # As requests reads REQUESTS_CA_BUNDLE: a file of certificates, or a hashed folder.
            if os.path.isdir(bundle):
                self._tls = ssl.create_default_context(capath=bundle)
            else:
                self._tls = ssl.create_default_context(cafile=bundle)
        else:
            self._tls = ssl.create_default_context()
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE
        self._local = threading.local()
        self._channels: list[_Channel] = []
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        timeout: float | None = None,
        allow_redirects: bool = False,  # alpaca-py asks for none; a 3xx comes back as it is
    ) -> requests.Response:
        method = method.upper()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise requests.exceptions.InvalidURL(f"not an http(s) URL: {url!r}")
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, _encoded(params)) if q)
        if query:
            target = f"{target}?{query}"
        body = b""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += ["Accept: */*", "Accept-Encoding: identity", "Connection: keep-alive"]
        for name, value in (headers or {}).items():
            if "\r" in f"{name}{value}" or "\n" in f"{name}{value}":
                raise requests.exceptions.InvalidHeader(f"line break in header {name!r}")
            lines.append(f"{name}: {value}")
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False).encode()
            lines.append("Content-Type: application/json")
        if body or method not in _BODYLESS:
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        port = parts.port or (443 if parts.scheme == "https" else 80)
        channel = self._channel(parts.scheme, parts.hostname, port)
        return _response(channel.exchange(raw, method, timeout or self._timeout), url)

    def close(self) -> None:
        with self._lock:
            channels, self._channels = self._channels, []
        for channel in channels:
            channel.close()

    def _channel(self, scheme: str, host: str, port: int) -> _Channel:
        channels: dict[tuple[str, str, int], _Channel] | None = getattr(self._local, "map", None)
        if channels is None:
            channels = self._local.map = {}
        key = (scheme, host, port)
        channel = channels.get(key)
        if channel is None:
            channel = channels[key] = _Channel(scheme, host, port, self._tls)
            with self._lock:
                self._channels.append(channel)
        return channel


def _encoded(params: Any) -> str:
    # requests' own encoding of `params` (None values dropped, lists repeated), for the same URLs.
    if not params:
        return ""
    encoded = RequestEncodingMixin._encode_params(params)
    return encoded if isinstance(encoded, str) else encoded.decode()


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    reason: str
    headers: CaseInsensitiveDict[str]
    body: bytes
    close: bool  # the server ends the connection after this answer


_MAX_HEAD = 64 * 1024


def _read_answer(sock: socket.socket, method: str) -> _Answer:
    """One HTTP/1.1 answer, read straight off the socket.

    What http.client's HTTPResponse did here, without its file object and email-package header
    parsing (a quarter of the Python an order cost): status line, headers, then a body framed by
    Content-Length, by chunks, or by the end of the connection. Malformed input raises ValueError.
    """
    rest = bytearray()
    while True:
        while (end := rest.find(b"\r\n\r\n")) < 0:
            if len(rest) > _MAX_HEAD:
                raise ValueError("answer headers too long")
            _receive(sock, rest)
        lines = rest[:end].decode("latin-1").split("\r\n")
        del rest[: end + 4]
        version, _, status_reason = lines[0].partition(" ")
        code, _, reason = status_reason.partition(" ")
        if not version.startswith("HTTP/") or not code.isdigit():
            raise ValueError(f"not an HTTP answer: {lines[0][:80]!r}")
        status = int(code)
        if not 100 <= status < 200:
            break  # an interim answer (e.g. 103 Early Hints) is followed by the real one
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"malformed header line {line[:80]!r}")
        name, value = name.strip(), value.strip()
        # Repeated headers join with ", ", as requests' own answers have them.
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    tokens = {t.strip().lower() for t in headers.get("Connection", "").split(",")}
    close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if method == "HEAD" or status in (204, 304):
        return _Answer(status, reason, headers, b"", close)
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return _Answer(status, reason, headers, _chunked(sock, rest), close)
    if (length := headers.get("Content-Length")) is not None:
        if not length.isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        while len(rest) < int(length):
            _receive(sock, rest)
        return _Answer(status, reason, headers, bytes(rest[: int(length)]), close)
    while _receive(sock, rest, eof_ok=True):  # framed by the end of the connection
        pass
    return _Answer(status, reason, headers, bytes(rest), True)


def _chunked(sock: socket.socket, buffer: bytearray) -> bytes:
    body = bytearray()
    while True:
        while (end := buffer.find(b"\r\n")) < 0:
            _receive(sock, buffer)
        size = int(bytes(buffer[:end]).split(b";")[0].strip() or b"x", 16)
        del buffer[: end + 2]
        if size == 0:  # then optional trailers, up to an empty line
            while not (buffer.startswith(b"\r\n") or b"\r\n\r\n" in buffer):
                _receive(sock, buffer)
            return bytes(body)
        while len(buffer) < size + 2:
            _receive(sock, buffer)
        body += buffer[:size]
        del buffer[: size + 2]


def _receive(sock: socket.socket, buffer: bytearray, eof_ok: bool = False) -> bool:
    data = sock.recv(65536)
    if not data:
        if eof_ok:
            return False
        raise ConnectionResetError("the server closed the connection mid-answer")
    buffer += data
    return True


def _response(answer: _Answer, url: str) -> requests.Response:
    response = requests.Response()
    response.status_code = answer.status
    response.reason = answer.reason
    response.headers = answer.headers
    response.encoding = get_encoding_from_headers(answer.headers)
    response.url = url
    response._content = answer.body
    return response
