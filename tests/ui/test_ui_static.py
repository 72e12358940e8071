"""`install_ui`: the built dashboard at `/`, its assets, and the API's own answers unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.ui_static import install_ui


def api_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/things")
    def things() -> list[str]:
        return ["a"]

    return app


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>Openbell</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "robots.txt").write_text("User-agent: *")
    return tmp_path


def test_the_page_answers_every_browser_path_with_a_strict_policy(dist: Path) -> None:
    app = api_app()
    install_ui(app, dist)
    client = TestClient(app)
    for path in ("/", "/trades", "/bots/42/audit", "/backtests?id=x"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "<title>Openbell</title>" in response.text
        assert response.headers["cache-control"] == "no-cache"
        assert "script-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/robots.txt").text == "User-agent: *"


def test_assets_are_served_for_good_and_a_missing_one_is_404(dist: Path) -> None:
    app = api_app()
    install_ui(app, dist)
    client = TestClient(app)
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert client.get("/assets/gone.js").status_code == 404


def test_api_answers_stay_the_apis(dist: Path) -> None:
    app = api_app()
    install_ui(app, dist)
    client = TestClient(app)
    assert client.get("/api/things").json() == ["a"]
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/ws").status_code == 404
    assert client.get("/docs").status_code == 200  # FastAPI's own page
    assert client.post("/api/things").status_code == 405  # a known path, another method
    assert client.post("/bots/42").status_code == 404  # only GET gets the page
    assert "/{path}" not in str(app.openapi())


def test_nothing_is_served_without_a_build(tmp_path: Path) -> None:
    app = api_app()
    install_ui(app, tmp_path / "missing")
    client = TestClient(app)
    assert client.get("/").status_code == 404
    assert client.get("/api/things").status_code == 200
