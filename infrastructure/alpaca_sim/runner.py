"""Run the simulator: in the foreground (`openbell alpaca-sim`) or on a thread (tests, bench)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

import uvicorn

from domain.bars import Bar
from infrastructure.alpaca_sim.rest import build_app
from infrastructure.alpaca_sim.server import SimOptions, SimServer

# No access log line per request, no per-message compression of stream frames (the client
# accepts either) and no pings: the order endpoints and trade updates are the bench's hot path.
_QUIET: dict[str, Any] = {
    "access_log": False,
    "ws_per_message_deflate": False,
    "ws_ping_interval": None,
}


class RunningSim:
    """A simulator serving on 127.0.0.1 from a background thread; `close()` stops it."""

    def __init__(self, bars: Sequence[Bar], options: SimOptions | None = None, port: int = 0):
        self.sim = SimServer(bars, options)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(build_app(self.sim), log_level="warning", lifespan="on", **_QUIET)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Alpaca simulator did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> RunningSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(bars: Sequence[Bar], options: SimOptions, host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(
        build_app(SimServer(bars, options)), host=host, port=port, log_level="info", **_QUIET
    )
