"""Shutdown waits for store calls already running on other threads, then refuses new ones."""

import threading

import pytest

from api.store_gate import StoreClosed, StoreGate


def test_close_waits_for_a_call_in_flight() -> None:
    gate = StoreGate()
    entered, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def slow_read() -> None:
        with gate.use():
            entered.set()
            release.wait(5)
            finished.append("read")

    reader = threading.Thread(target=slow_read)
    reader.start()
    entered.wait(5)
    threading.Timer(0.1, release.set).start()
    assert gate.close(timeout=5) is True
    assert finished == ["read"]  # close returned only after the read had finished
    reader.join()


def test_close_gives_up_after_its_timeout() -> None:
    gate = StoreGate()
    entered, release = threading.Event(), threading.Event()

    def stuck() -> None:
        with gate.use():
            entered.set()
            release.wait(5)

    reader = threading.Thread(target=stuck)
    reader.start()
    entered.wait(5)
    assert gate.close(timeout=0.05) is False
    release.set()
    reader.join()


def test_no_new_calls_after_close() -> None:
    gate = StoreGate()
    assert gate.run(lambda x: x + 1, 1) == 2
    gate.close()
    with pytest.raises(StoreClosed, match="shutting down"):
        gate.run(lambda: None)
