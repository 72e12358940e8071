"""The built dashboard (`ui/dist`) served by the API: hashed assets under /assets, and
index.html for every other browser path the API does not own (the page routes itself).

The page is the router's fallback for GET requests no route matched, so API answers, including
404 and 405 on API paths, stay exactly as they are without the dashboard.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

UI_DIST = Path(__file__).resolve().parents[1] / "ui" / "dist"
# Paths the dashboard never owns: a miss there stays the API's 404.
RESERVED = ("api", "ws", "docs", "redoc", "openapi.json", "health", "assets")
# The page runs only its own scripts and talks only to this origin (HTTP and ws); the charts
# set inline styles, hence 'unsafe-inline' for styles (never for scripts).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


class ImmutableAssets(StaticFiles):
    """Vite names assets by content hash, so a browser may keep them for good."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


class DashboardFallback:
    """For a GET no route matched: a top-level file of dist (favicon…) or the page itself."""

    def __init__(self, dist: Path, not_found: ASGIApp) -> None:
        self.dist, self.not_found = dist, not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "/")).lstrip("/")
        wanted = scope["type"] == "http" and scope.get("method") in ("GET", "HEAD")
        if not wanted or path.split("/", 1)[0] in RESERVED:
            await self.not_found(scope, receive, send)
            return
        await self.response(path)(scope, receive, send)

    def response(self, path: str) -> Response:
        if path and "/" not in path and path != "index.html":
            candidate = self.dist / path
            if candidate.is_file():
                return FileResponse(candidate)
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP}
        return FileResponse(self.dist / "index.html", media_type="text/html", headers=headers)


def install_ui(app: FastAPI, dist_dir: Path | str = UI_DIST) -> None:
    """Serve the dashboard built into `dist_dir`; nothing if it has not been built."""
    dist = Path(dist_dir)
    if not (dist / "index.html").is_file():
        return
    if (dist / "assets").is_dir():
        app.mount("/assets", ImmutableAssets(directory=dist / "assets"), name="ui-assets")
    app.router.default = DashboardFallback(dist, app.router.default)
