"""The HTTP side: Alpaca's trading REST (`/v2/...`), market-data REST (`/v2/stocks/...`), admin.

One FastAPI app serves every base URL the alpaca-py clients take (trading, data, both streams),
so a test or the demo points all of them at one `http://127.0.0.1:PORT`.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Request, Response
from starlette.types import ASGIApp

from domain.calendar import next_session, previous_session, session_on
from domain.units import NEW_YORK
from infrastructure.alpaca_sim.guard import Guard
from infrastructure.alpaca_sim.order_endpoints import OrderEndpoints
from infrastructure.alpaca_sim.server import SimServer
from infrastructure.alpaca_sim.streams import bar_message

FEEDS = ("iex", "sip", "delayed_sip", "test")


def build_app(sim: SimServer) -> ASGIApp:
    """The simulator as an ASGI app; its market loop runs while the app is up.

    The key check and injected faults come first (`Guard`), then the order endpoints' fast path
    (`OrderEndpoints`), then FastAPI for the rest.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sim.start()
        yield
        await sim.stop()

    app = FastAPI(title="Openbell Alpaca simulator", lifespan=lifespan)
    _trading_routes(app, sim)
    _data_routes(app, sim)
    _admin_routes(app, sim)
    for feed in FEEDS:
        app.add_api_websocket_route(f"/v2/{feed}", sim.streams.serve_data)
    app.add_api_websocket_route("/stream", sim.streams.serve_trading)
    return Guard(OrderEndpoints(app, sim), sim)


class JSONResponse(Response):
    """JSON through orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _trading_routes(app: FastAPI, sim: SimServer) -> None:
    @app.get("/v2/account")
    async def account() -> dict[str, Any]:
        return sim.account_json()

    @app.get("/v2/orders")
    async def list_orders(
        status: str = "open",
        limit: int = 50,
        symbols: str | None = None,
        after: str | None = None,
        until: str | None = None,
        direction: str = "desc",
    ) -> list[dict[str, Any]]:
        wanted = set(symbols.split(",")) if symbols else None
        since, up_to = _moment(after), _moment(until)
        orders = [
            o
            for o in sim.exchange.orders.values()
            if (status == "all" or (status == "open") == o.is_open)
            and (wanted is None or o.symbol in wanted)
            and (since is None or o.created_at > since)
            and (up_to is None or o.created_at < up_to)
        ]
        orders.sort(key=lambda o: o.created_at, reverse=direction == "desc")
        return [o.to_json() for o in orders[: min(limit, 500)]]

    @app.delete("/v2/orders")
    async def cancel_all() -> list[dict[str, Any]]:
        done = []
        for order in list(sim.exchange.open.values()):
            sim.exchange.cancel(order, sim.clock.now())
            done.append({"id": str(order.id), "status": 200, "body": order.to_json()})
        return done

    @app.get("/v2/positions")
    async def positions() -> list[dict[str, Any]]:
        return sim.positions_json()

    @app.get("/v2/positions/{symbol}")
    async def position(symbol: str) -> Response:
        for row in sim.positions_json():
            if row["symbol"] == symbol.upper():
                return JSONResponse(row)
        return error(404, 40410000, "position does not exist")

    @app.get("/v2/clock")
    async def clock() -> dict[str, Any]:
        now = sim.clock.now()
        upcoming = next_session(now)
        is_open = upcoming.open <= now < upcoming.close
        following = next_session(upcoming.close) if is_open else upcoming
        return {
            "timestamp": now.astimezone(NEW_YORK).isoformat(),
            "is_open": is_open,
            "next_open": following.open.isoformat(),
            "next_close": upcoming.close.isoformat(),
        }

    @app.get("/v2/calendar")
    async def calendar(start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
        today = sim.clock.now().astimezone(NEW_YORK).date()
        first = date.fromisoformat(start[:10]) if start else previous_session(sim.clock.now()).day
        last = date.fromisoformat(end[:10]) if end else today + timedelta(days=30)
        days: list[dict[str, str]] = []
        day = first
        while day <= last and len(days) < 5000:
            if (session := session_on(day)) is not None:
                days.append(
                    {
                        "date": day.isoformat(),
                        "open": f"{session.open:%H:%M}",
                        "close": f"{session.close:%H:%M}",
                        "session_open": "0400",
                        "session_close": "2000",
                        "settlement_date": (day + timedelta(days=1)).isoformat(),
                    }
                )
            day += timedelta(days=1)
        return days


@dataclass(frozen=True, slots=True)
class BarsQuery:
    """The query both bars endpoints take (FastAPI fills it from the query string)."""

    timeframe: str = "1Min"
    start: str | None = None
    end: str | None = None
    limit: int | None = None
    page_token: str | None = None
    sort: str = "asc"

    def page(self, sim: SimServer, symbols: list[str]) -> tuple[list[tuple[str, Any]], str | None]:
        return _bars_page(
            sim, symbols, self.start, self.end, self.limit, self.page_token, self.sort
        )

    def refusal(self) -> Response | None:
        if self.timeframe in ("1Min", "1T"):
            return None
        return error(422, 42210000, f"the simulator serves 1Min bars, not {self.timeframe}")


def _data_routes(app: FastAPI, sim: SimServer) -> None:
    @app.get("/v2/stocks/bars")
    async def bars(symbols: str, query: Annotated[BarsQuery, Depends()]) -> Response:
        if (refused := query.refusal()) is not None:
            return refused
        names = sorted({s.strip().upper() for s in symbols.split(",") if s.strip()})
        page, token = query.page(sim, names)
        body: dict[str, Any] = {"bars": {}, "next_page_token": token}
        for symbol, bar in page:
            body["bars"].setdefault(symbol, []).append(_rest_bar(bar))
        return JSONResponse(body)

    @app.get("/v2/stocks/{symbol}/bars")
    async def symbol_bars(symbol: str, query: Annotated[BarsQuery, Depends()]) -> Response:
        if (refused := query.refusal()) is not None:
            return refused
        name = symbol.upper()
        page, token = query.page(sim, [name])
        return JSONResponse(
            {"bars": [_rest_bar(bar) for _, bar in page], "symbol": name, "next_page_token": token}
        )


def _bars_page(
    sim: SimServer,
    symbols: list[str],
    start: str | None,
    end: str | None,
    limit: int | None,
    page_token: str | None,
    sort: str,
) -> tuple[list[tuple[str, Any]], str | None]:
    """One page of published bars, symbol by symbol (as Alpaca pages multi-symbol requests)."""
    sim.bar_requests += 1
    now = sim.clock.now()
    rows = [
        (s, bar)
        for s in symbols
        for bar in (
            reversed(sim.book.published(s, _moment(start), _moment(end), now))
            if sort == "desc"
            else sim.book.published(s, _moment(start), _moment(end), now)
        )
    ]
    offset = int(base64.urlsafe_b64decode(page_token).decode()) if page_token else 0
    size = min(limit or sim.options.page_size, sim.options.page_size)
    page = rows[offset : offset + size]
    more = offset + size < len(rows)
    return page, base64.urlsafe_b64encode(str(offset + size).encode()).decode() if more else None


def _rest_bar(bar: Any) -> dict[str, Any]:
    message = bar_message(bar)
    message.pop("T"), message.pop("S")
    message["t"] = bar.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return message


def _admin_routes(app: FastAPI, sim: SimServer) -> None:
    @app.get("/admin/state")
    async def state() -> dict[str, Any]:
        published = sim.bars_published_until()
        return {
            "now": sim.clock.now().isoformat(),
            "speed": sim.clock.speed,
            "bars_published_until": published.isoformat() if published else None,
            "orders": len(sim.exchange.orders),
            "submissions": sim.submissions,
            "bar_requests": sim.bar_requests,
            "open_orders": len(sim.exchange.open),
            "stream_clients": {"data": len(sim.streams.data), "trading": len(sim.streams.trading)},
            # The symbols whose bars some data stream client has subscribed to.
            "bar_subscriptions": sorted({s for conn in sim.streams.data for s in conn.bars}),
            "faults": sim.faults.as_dict(),
        }

    @app.post("/admin/clock")
    async def move_clock(request: Request) -> Response:
        """Body: {"advance": seconds} | {"to": ISO-8601} | {"speed": x} (0 = stepped)."""
        body = await request.json()
        try:
            if "speed" in body:
                sim.clock.set_speed(float(body["speed"]))
            if "to" in body:
                target = datetime.fromisoformat(str(body["to"]))
                sim.advance(max(0.0, (target - sim.clock.now()).total_seconds()))
            if "advance" in body:
                sim.advance(float(body["advance"]))
        except (TypeError, ValueError) as exc:
            return error(422, 42210000, str(exc))
        sim.catch_up()
        return JSONResponse(await state())

    @app.post("/admin/faults")
    async def set_faults(request: Request) -> Response:
        body = dict(await request.json())
        drop = bool(body.pop("drop_streams", False))
        try:
            sim.faults.update(body)
        except (TypeError, ValueError) as exc:
            return error(422, 42210000, str(exc))
        dropped = sim.streams.drop_all() if drop else 0
        return JSONResponse({"faults": sim.faults.as_dict(), "dropped_streams": dropped})

    @app.delete("/admin/faults")
    async def clear_faults() -> dict[str, Any]:
        sim.faults = type(sim.faults)()
        return sim.faults.as_dict()

    @app.get("/admin/timings")
    async def timings() -> dict[str, Any]:
        """When each minute's bars left (by bar start) and each order first arrived (wall time)."""
        return {
            "bars_sent": {m.isoformat(): t for m, t in sim.bars_sent.items()},
            "orders_received": sim.orders_received,
        }

    @app.get("/admin/orders")
    async def all_orders() -> list[dict[str, Any]]:
        return [o.to_json() for o in sim.exchange.orders.values()]


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
