"""The `/ws` WebSocket on real stores (SQLite and PostgreSQL): auth, topics, catch-up, reconnects.

Every receive has a timeout, so a missing message fails the test instead of hanging it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

from api.live import session
from application.replay import replay
from infrastructure.bootstrap import build_application
from infrastructure.cli.commands import load_config
from infrastructure.sim_broker import SimulatedBroker
from tests.e2e.test_api_commands import Api, start_api
from tests.integration.projections_support import CONFIGS, COSTS, FILL_TOPICS, sample_bars

if TYPE_CHECKING:
    from starlette.testclient import WebSocketTestSession

TIMEOUT = 10.0


@pytest.fixture
def api(store_url) -> Iterator[Api]:
    yield from start_api(store_url, run_projections=False)


async def _next(stream: Any, timeout: float) -> dict[str, Any]:
    with anyio.fail_after(timeout):
        message: dict[str, Any] = await stream.receive()
        return message


@dataclass
class Live:
    ws: WebSocketTestSession

    def send(self, message: Any) -> None:
        self.ws.send_json(message)

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next JSON message, or WebSocketDisconnect if the server closed the socket."""
        message = self.ws.portal.call(_next, self.ws._send_rx, timeout)
        if message["type"] == "websocket.close":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        return orjson.loads(message["text"])

    def next_data(self) -> dict[str, Any]:
        """The next message that is not a heartbeat."""
        while (message := self.recv())["type"] == "ping":
            pass
        return message

    def subscribe(
        self, topics: list[str], after: int | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The catch-up event messages and the `subscribed` acknowledgement that ends them."""
        self.send({"type": "subscribe", "topics": topics, "after": after})
        events = []
        while (message := self.next_data())["type"] != "subscribed":
            assert message["type"] == "event", message
            events.append(message)
        return events, message

    def events(self, count: int) -> list[dict[str, Any]]:
        found = []
        while len(found) < count:
            message = self.next_data()
            assert message["type"] == "event", message
            found.append(message)
        return found

    def assert_quiet(self) -> None:
        """Nothing but heartbeats is pending: a ping is answered by the very next message."""
        self.send({"type": "ping"})
        assert self.next_data() == {"type": "pong"}


@contextmanager
def connect(api: Api) -> Iterator[Live]:
    with api.client.websocket_connect("/ws") as ws:
        live = Live(ws)
        live.send({"type": "auth", "token": api.token})
        hello = live.recv()
        assert hello["type"] == "authenticated" and isinstance(hello["position"], int)
        yield live


def closed_with(ws: WebSocketTestSession) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as caught:
        Live(ws).recv()
    return caught.value


def stored(url: str, topics: list[str] | None = None) -> list[Any]:
    app = build_application(url)
    try:
        head = app.recorder.max_notification_id() or 0
        return list(app.recorder.select_notifications(1, head + 1, topics=topics or ()))
    finally:
        app.close()


def replay_a_day(url: str, dataset: str = "ws") -> None:
    """The sample's first day through two bots, saved into the same store in one transaction."""
    bars = sample_bars()
    first_day = [b for b in bars if b.timestamp.date() == bars[0].timestamp.date()]
    app = build_application(url)
    try:
        configs = [load_config(p) for p in CONFIGS]
        replay(app, first_day, configs, lambda clock: SimulatedBroker(clock, COSTS), dataset)
    finally:
        app.close()


def positions(messages: list[dict[str, Any]]) -> list[int]:
    return [m["position"] for m in messages]


def test_unauthenticated_connections_are_closed_with_4401(api, monkeypatch):
    with api.client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": "ob_not-a-real-token"})
        refused = closed_with(ws)
    assert refused.code == 4401 and "invalid" in refused.reason
    with api.client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "subscribe", "topics": ["bots"]})
        refused = closed_with(ws)
    assert refused.code == 4401 and "auth" in refused.reason
    monkeypatch.setattr(session, "AUTH_TIMEOUT", 0.2)
    with api.client.websocket_connect("/ws") as ws:
        refused = closed_with(ws)  # said nothing
    assert refused.code == 4401 and "timed out" in refused.reason
    # Browsers on another site are refused before the upgrade.
    with (
        pytest.raises(WebSocketDisconnect) as caught,
        api.client.websocket_connect("/ws", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert caught.value.code == 4403


def test_live_bot_events_arrive_with_increasing_positions(api):
    with connect(api) as live:
        backlog, ack = live.subscribe(["bots"])
        assert backlog == [] and ack["topics"] == ["bots"] and isinstance(ack["position"], int)
        config = {"name": "ws-bot", "capital": 1000, "symbols": ["AAPL"], "indicators": {"RSI": {}}}
        created = api.post("/api/bots", json=config).json()
        started = api.post(f"/api/bots/{created['bot_id']}/start").json()
        first, second = live.events(2)
        live.assert_quiet()
    assert (first["event"], second["event"]) == ("Created", "Started")
    assert first["position"] == created["position"] > ack["position"]
    assert second["position"] == started["position"] > first["position"]
    assert first["topic"] == second["topic"] == "bots"
    assert first["bot_id"] == second["bot_id"] == created["bot_id"]
    assert (first["version"], second["version"]) == (1, 2)
    assert first["data"]["config"]["name"] == "ws-bot" and "created 'ws-bot'" in first["text"]
    assert second["text"] == "started" and second["data"] == {}
    assert second["at"].endswith("+00:00")


def test_trades_catch_up_and_live_are_exactly_the_fills_in_position_order(api):
    before = api.create_bot()
    mark = stored(api.url)[-1].id
    with connect(api) as watcher:
        watcher.subscribe(["trades"])
        replay_a_day(api.url)
        fills = [n.id for n in stored(api.url, FILL_TOPICS)]
        assert len(fills) > 10
        live = watcher.events(len(fills))
        watcher.assert_quiet()
    assert positions(live) == fills
    everything = [n.id for n in stored(api.url) if n.id > mark]
    with connect(api) as late:
        trades, _ = late.subscribe(["trades"], after=mark)  # reads only the fill topics
        backlog, ack = late.subscribe(["trades", "bots"], after=mark)  # restarts `trades`
        late.assert_quiet()
    assert positions(trades) == fills
    assert ack["position"] == everything[-1]
    assert positions([m for m in backlog if m["topic"] == "trades"]) == fills
    assert positions([m for m in backlog if m["topic"] == "bots"]) == everything
    assert before not in {m["bot_id"] for m in backlog}
    fill = next(m for m in backlog if m["topic"] == "trades")
    assert fill["event"] in ("OrderFilled", "OrderPartiallyFilled")
    assert isinstance(fill["data"]["price"], str) and fill["data"]["side"] in ("buy", "sell")
    assert fill["data"]["symbol"] in fill["text"]


def test_a_reconnect_with_the_last_position_misses_and_repeats_nothing(api):
    with connect(api) as first:
        first.subscribe(["bots"])
        replay_a_day(api.url)
        seen = first.events(120)  # leave mid-stream, with many events still to come
    bot_id = api.create_bot()  # while nobody listens
    with connect(api) as second:
        backlog, ack = second.subscribe(["bots"], after=seen[-1]["position"])
        started = api.post(f"/api/bots/{bot_id}/start").json()["position"]
        (live,) = second.events(1)
        second.assert_quiet()
    assert live["position"] == started and live["event"] == "Started"
    received = positions(seen) + positions(backlog) + [live["position"]]
    assert received == [n.id for n in stored(api.url)]  # no gap, no duplicate, in order
    assert ack["position"] == positions(backlog)[-1]


def test_a_bot_topic_carries_only_that_bot(api):
    one, other = api.create_bot(), api.create_bot()
    api.post(f"/api/bots/{other}/start")
    api.post(f"/api/bots/{one}/start")
    with connect(api) as live:
        backlog, ack = live.subscribe([f"bot:{one.upper()}"], after=0)
        assert ack["topics"] == [f"bot:{one}"]
        assert [(m["event"], m["bot_id"], m["topic"]) for m in backlog] == [
            ("Created", one, f"bot:{one}"),
            ("Started", one, f"bot:{one}"),
        ]
        api.post(f"/api/bots/{other}/stop")
        stopped = api.post(f"/api/bots/{one}/stop").json()["position"]
        (message,) = live.events(1)
        live.assert_quiet()
    assert (message["event"], message["bot_id"], message["position"]) == ("Stopped", one, stopped)


def test_broadcaster_messages_reach_their_subscribers(api):
    broadcaster = api.client.app.state.services.broadcaster
    with connect(api) as live:
        _, ack = live.subscribe(["bars:AAPL", "backtest:bt-1"])
        assert ack["topics"] == ["bars:AAPL", "backtest:bt-1"]
        broadcaster.publish("bars:MSFT", {"close": "410.08"})
        seq = broadcaster.publish("bars:AAPL", {"close": "225.13", "volume": 409484})
        assert live.next_data() == {
            "type": "message",
            "topic": "bars:AAPL",
            "seq": seq,
            "close": "225.13",
            "volume": 409484,
        }
        broadcaster.publish("backtest:bt-1", {"progress": 0.5})
        message = live.next_data()
        assert (message["topic"], message["progress"]) == ("backtest:bt-1", 0.5)
        live.send({"type": "unsubscribe", "topics": ["bars:AAPL"]})
        assert live.next_data() == {"type": "unsubscribed", "topics": ["bars:AAPL"]}
        broadcaster.publish("bars:AAPL", {"close": "225.50"})
        live.assert_quiet()


def test_bad_messages_get_an_error_and_the_connection_stays_usable(api):
    bad = [
        "not json",
        "[1, 2]",
        '{"type": "dance"}',
        '{"type": "subscribe", "topics": []}',
        '{"type": "subscribe", "topics": ["bots", "everything"]}',
        '{"type": "subscribe", "topics": ["bot:not-a-uuid"]}',
        '{"type": "subscribe", "topics": ["bars:aapl"]}',
        '{"type": "subscribe", "topics": ["bots"], "after": -1}',
        '{"type": "subscribe", "topics": ["bots"], "after": "5"}',
        '{"type": "auth", "token": "again"}',
    ]
    with connect(api) as live:
        for text in bad:
            live.ws.send_text(text)
            reply = live.next_data()
            assert reply["type"] == "error" and reply["message"], text
        live.ws.send_bytes(b'{"type": "ping"}')
        assert live.next_data()["type"] == "error"
        bot_id = api.create_bot()  # `bots` was never subscribed by the rejected message above
        live.assert_quiet()
        backlog, _ = live.subscribe(["bots"], after=0)
        assert [m["bot_id"] for m in backlog] == [bot_id]


def test_the_server_sends_heartbeats(api, monkeypatch):
    monkeypatch.setattr(session, "HEARTBEAT_INTERVAL", 0.05)
    with connect(api) as live:
        assert live.recv() == {"type": "ping"}
        live.send({"type": "pong"})
        assert live.recv() == {"type": "ping"}


def test_connections_share_one_tailer_that_stops_with_the_last(sqlite_url):
    for api in start_api(sqlite_url, run_projections=False):
        with connect(api) as one, connect(api) as two:
            tailer = api.client.app.state.live_tailer
            assert tailer.running
            one.subscribe(["bots"])
            two.subscribe([f"bot:{uuid.uuid4()}"])
            api.create_bot()
            assert one.events(1)[0]["event"] == "Created"
            two.assert_quiet()
        deadline = time.monotonic() + TIMEOUT
        while tailer.running and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not tailer.running
