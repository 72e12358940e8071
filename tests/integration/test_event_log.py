"""The notification log read in pages: every notification once, in order, within the bounds."""

from datetime import date
from uuid import UUID

from application.event_log import PAGE, notifications
from infrastructure.bootstrap import build_application
from tests.builders import config, et

T0 = et(date(2024, 11, 1), 9, 30)


def test_pages_are_walked_in_order_within_start_and_stop_and_by_topic(sqlite_url):
    app = build_application(sqlite_url)
    bot_id = UUID(int=1)
    app.create_bot(bot_id, config(), T0)
    app.run_command(bot_id, "start", T0)
    for _ in range(PAGE // 2 + 10):  # more than a page of notifications
        app.run_command(bot_id, "pause", T0)
        app.run_command(bot_id, "resume", T0)
    head = app.recorder.max_notification_id()
    assert head is not None and head > PAGE + 10

    ids = [n.id for n in notifications(app.recorder)]
    assert ids == list(range(1, head + 1))
    bounded = [n.id for n in notifications(app.recorder, PAGE - 5, stop=PAGE + 7)]
    assert bounded == list(range(PAGE - 5, PAGE + 8))
    paused = [n.topic for n in notifications(app.recorder, topics=["domain.bot:Bot.Paused"])]
    assert paused == ["domain.bot:Bot.Paused"] * (PAGE // 2 + 10)
    assert list(notifications(app.recorder, head + 1, stop=head)) == []
    app.close()
