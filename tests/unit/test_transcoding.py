from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.bot import Bot
from domain.orders import Side
from infrastructure.transcoding import OrjsonTranscoder, TypedMapper

AT = datetime(2024, 11, 1, 13, 45, tzinfo=UTC)


def round_trip(event):
    mapper = TypedMapper(transcoder=OrjsonTranscoder())
    stored = mapper.to_stored_event(event)
    copy = StoredEvent(
        str(stored.originator_id), stored.originator_version, stored.topic, stored.state
    )
    return stored, mapper.to_domain_event(copy)


def test_event_fields_come_back_with_their_declared_types():
    event = Bot.SignalGenerated(
        originator_id=UUID(int=5),
        originator_version=3,
        timestamp=AT,
        symbol="AAPL",
        bar_time=AT,
        side=Side.BUY,
        price=Decimal("187.20"),
        indicators={"RSI(14).rsi": Decimal("27.43")},
        rule="r",
        votes={"RSI(14)": "buy"},
    )
    stored, back = round_trip(event)
    assert back == event
    assert isinstance(back.price, Decimal) and back.price == Decimal("187.20")
    assert back.side is Side.BUY
    assert back.timestamp.tzinfo is not None
    assert isinstance(back.indicators["RSI(14).rsi"], Decimal)
    assert b'"price":"187.20"' in stored.state  # money stored as an exact string, not a float


def test_optional_and_date_fields_round_trip():
    limit = Bot.DailyLossLimitReached(
        originator_id=UUID(int=5),
        originator_version=9,
        timestamp=AT,
        day=date(2024, 11, 1),
        limit=Decimal("300"),
        pnl=Decimal("-301.5"),
    )
    assert round_trip(limit)[1] == limit


def test_same_event_gives_the_same_bytes():
    event = Bot.Paused(originator_id=UUID(int=5), originator_version=2, timestamp=AT)
    assert (
        round_trip(event)[0].state
        == round_trip(event)[0].state
        == b'{"timestamp":"2024-11-01T13:45:00+00:00"}'
    )
