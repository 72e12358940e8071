"""A lean stand-in for the `requests.Session` inside alpaca-py's REST clients.

alpaca-py sends every call through `session.request(method, url, headers=, params=|json=)` and
reads `status_code`, `text`, `json()` and `raise_for_status()` of the answer. requests and urllib3
spend ~0.5 ms of Python per call getting there (preparing, merging settings, pooling, header
parsing): most of an order's cost in the live trader, whose orders leave in bursts. This session
keeps one keep-alive connection per thread and host, writes each request in one `sendall`, and
answers with a real `requests.Response`, so alpaca-py (and its `APIError`) work unchanged.
Failures raise requests' own exceptions (ConnectionError, ConnectTimeout, ReadTimeout), which the
broker treats as "outcome unknown: look the order up before resubmitting".

Used when no proxy is configured (see `clients.py`); behind a proxy the requests session stays.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import select
import socket
import ssl
import threading
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

    def exchange(
        self, raw: bytes, method: str, timeout: float
    ) -> tuple[http.client.HTTPResponse, bytes]:
        sock = self._open(timeout)
        try:
            sock.settimeout(timeout)
            sock.sendall(raw)
            response = http.client.HTTPResponse(sock, method=method)
            response.begin()
            body = response.read()  # all of it: the connection is then ready for the next request
        except TimeoutError as exc:
            self.close()
            raise requests.ReadTimeout(str(exc) or "read timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise requests.ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        if response.will_close:
            self.close()
        return response, body

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
        answer, content = channel.exchange(raw, method, timeout or self._timeout)
        return _response(answer, content, url)

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


def _response(answer: http.client.HTTPResponse, content: bytes, url: str) -> requests.Response:
    response = requests.Response()
    response.status_code = answer.status
    response.reason = answer.reason
    response.headers = CaseInsensitiveDict(answer.getheaders())
    response.encoding = get_encoding_from_headers(response.headers)
    response.url = url
    response._content = content
    return response
