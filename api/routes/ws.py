"""`GET /ws`: live bot events and broadcaster messages over one WebSocket.

All frames are JSON text (orjson). Positions are the event store's notification ids.

Authentication — the first message, within 5 s (a token in the URL would end up in access logs):
    -> {"type": "auth", "token": "ob_…"}
    <- {"type": "authenticated", "position": HEAD}
  A missing, malformed, late, invalid or revoked token closes the socket with code 4401 and a
  reason. A browser Origin other than the dashboard's (`ui_origin`) or the server's own host is
  refused with 4403 before the upgrade.

Client requests (after authentication):
    {"type": "subscribe", "topics": [TOPIC, …], "after": POSITION | null}
    {"type": "unsubscribe", "topics": [TOPIC, …]}
    {"type": "ping"}                      answered with {"type": "pong"}
  Topics: `bots` (every bot event), `bot:<uuid>` (one bot's events), `trades` (OrderFilled and
  OrderPartiallyFilled), `bars:<SYMBOL>` and `backtest:<id>` (broadcaster messages). A message
  with a bad topic, bad JSON or an unknown type is answered with {"type": "error", "message": …}
  and changes nothing; the connection stays open.

Server messages:
    {"type": "subscribed", "topics": [...], "position": P}   after the catch-up; later events are
                                                             live and have positions > P
    {"type": "unsubscribed", "topics": [...]}
    {"type": "event", "topic": T, "position": N, "bot_id": ID, "version": V, "event": "OrderFilled",
     "at": ISO-8601, "text": human explanation, "data": {the event's fields; decimals as strings}}
    {"type": "message", "topic": T, "seq": S, …payload}      broadcaster message, live only
    {"type": "ping"}                                         every 15 s; no answer needed
    {"type": "error", "message": …}

Delivery for event topics: subscribing with `after=P` first sends every stored event of the topic
with position > P in position order, then the `subscribed` ack, then live events — each position
at most once per topic and none skipped across that boundary. `after: null` starts at the ack's
position. An event matching several subscribed topics is sent once per topic (each message names
its topic). Subscribing again to a topic restarts it at the new `after`. To resume after a
disconnect, subscribe with `after` = the last position received on that topic: exactly the missed
events follow. A client that cannot keep up (its queue of 1000 pending batches overflows) is
closed with 4008 "too slow; reconnect with after=N" (N: every subscribed topic was served up to
there) without slowing anyone else. Broadcaster topics have no history; `seq` counts messages per
topic, so a gap in it shows that messages were missed.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, WebSocket

from api.live.events import EventLog
from api.live.session import run_session
from api.live.tailer import Tailer
from api.services import Services

router = APIRouter(tags=["live"])


def tailer_of(app: FastAPI, services: Services) -> Tailer:
    """The app's one tailer, made on first use (on the event loop that serves the app)."""
    tailer: Tailer | None = getattr(app.state, "live_tailer", None)
    if tailer is None:
        tailer = Tailer(EventLog(services.application, services.gate))
        app.state.live_tailer = tailer
    return tailer


@router.websocket("/ws")
async def live_updates(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await run_session(websocket, services, tailer_of(websocket.app, services))
