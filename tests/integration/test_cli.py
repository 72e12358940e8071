"""The `openbell` command line end to end on a real event store (SQLite, and PostgreSQL too)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from infrastructure.bootstrap import build_application
from infrastructure.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BARS = ROOT / "data" / "sample" / "bars.csv"
BOTS = ROOT / "data" / "sample" / "bots"
CONFIGS = [str(BOTS / "rsi_macd.json"), str(BOTS / "trend_bands.json")]


def openbell(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def replay_json(capsys, url: str, bars: str = str(SAMPLE_BARS), configs=CONFIGS) -> dict:
    args = ["--database-url", url, "replay", "--bars", bars, "--json"]
    for config in configs:
        args += ["--config", config]
    code, out, err = openbell(capsys, *args)
    assert code == 0, err
    return json.loads(out)


def test_replay_prints_per_bot_results_as_json(capsys, sqlite_url):
    result = replay_json(capsys, sqlite_url)
    assert [b["name"] for b in result["bots"]] == ["rsi-macd", "trend-bands"]
    for bot in result["bots"]:
        assert len(bot["digest"]) == 64
        assert bot["events"] > 10 and bot["trades"] > 0
        assert {"id", "final_equity", "realized_pnl", "max_drawdown", "return_pct"} <= set(bot)
    assert result["bars"] == 6480 and result["bars_per_second"] > 0


def test_two_replays_into_two_fresh_stores_give_identical_digests(capsys, store_url, tmp_path):
    first = replay_json(capsys, store_url)
    second = replay_json(capsys, f"sqlite:///{tmp_path / 'second.sqlite'}")
    assert [b["digest"] for b in first["bots"]] == [b["digest"] for b in second["bots"]]
    assert [b["id"] for b in first["bots"]] == [b["id"] for b in second["bots"]]


def test_each_digest_is_that_of_the_events_read_back_from_the_store(capsys, store_url):
    result = replay_json(capsys, store_url)
    app = build_application(store_url)
    try:
        for bot in result["bots"]:
            assert app.digest(UUID(bot["id"])) == (bot["digest"], bot["events"])
    finally:
        app.close()


def test_repeating_a_replay_into_the_same_store_is_refused_and_writes_nothing(capsys, store_url):
    replay_json(capsys, store_url)
    code, _, err = openbell(capsys, "--database-url", store_url, "bots", "list", "--json")
    before = code
    code, _, err = openbell(
        capsys,
        "--database-url",
        store_url,
        "replay",
        "--bars",
        str(SAMPLE_BARS),
        "--config",
        CONFIGS[0],
    )
    assert code == 2 and "already stored" in err
    code, out, _ = openbell(capsys, "--database-url", store_url, "bots", "list", "--json")
    assert before == 0 and len(json.loads(out)) == 2


def test_audit_explains_each_decision_and_rebuilds_state_at_a_moment(capsys, store_url):
    bot_id = replay_json(capsys, store_url)["bots"][0]["id"]
    code, out, _ = openbell(capsys, "--database-url", store_url, "audit", bot_id)
    assert code == 0
    lines = out.splitlines()
    assert "Created" in lines[0] and "capital 100000" in lines[0]
    fills = [line for line in lines if "OrderFilled" in line and "BUY" in line]
    assert fills and "of capital" in fills[0] and "vote buy" in fills[0]
    assert any("risk check passed" in line for line in lines)

    code, _, err = openbell(
        capsys, "--database-url", store_url, "audit", bot_id, "--at", "2024-10-31T09:29", "--json"
    )
    assert code == 2 and "did not exist yet" in err

    code, out, _ = openbell(
        capsys, "--database-url", store_url, "audit", bot_id, "--at", "2024-11-05T16:00", "--json"
    )
    state = json.loads(out)
    assert code == 0 and state["status"] == "running" and state["trades"] > 0
    assert state["positions"] == []  # flattened at the window's end


def test_audit_at_mid_session_shows_open_positions(capsys, sqlite_url):
    bot_id = replay_json(capsys, sqlite_url)["bots"][0]["id"]
    _, out, _ = openbell(capsys, "--database-url", sqlite_url, "events", bot_id)
    events = [json.loads(line) for line in out.splitlines()]
    opened = next(e for e in events if e["topic"].endswith("PositionOpened"))
    at = opened["state"]["timestamp"]
    _code, out, _ = openbell(
        capsys, "--database-url", sqlite_url, "audit", bot_id, "--at", at, "--json"
    )
    state = json.loads(out)
    assert [p["symbol"] for p in state["positions"]] == [opened["state"]["symbol"]]
    assert state["version"] >= opened["originator_version"]
    assert state["as_of"] == at


def test_events_prints_raw_stored_events_in_order(capsys, sqlite_url):
    bot_id = replay_json(capsys, sqlite_url)["bots"][0]["id"]
    code, out, _ = openbell(capsys, "--database-url", sqlite_url, "events", bot_id, "--json")
    versions = [json.loads(line)["originator_version"] for line in out.splitlines()]
    assert code == 0 and versions == list(range(1, len(versions) + 1))


def test_unknown_bot_id_is_a_clear_error(capsys, sqlite_url):
    code, _, err = openbell(
        capsys, "--database-url", sqlite_url, "audit", "00000000-0000-0000-0000-000000000001"
    )
    assert code == 2 and "no bot 00000000-0000-0000-0000-000000000001" in err
    code, _, err = openbell(capsys, "--database-url", sqlite_url, "audit", "not-a-uuid")
    assert code == 2 and "is not a bot id" in err


BAD_BARS = {
    "missing_column": "timestamp,symbol,open,high,low,close\n2024-11-01T13:30:00Z,AAPL,1,1,1,1\n",
    "high_below_low": "timestamp,symbol,open,high,low,close,volume\n"
    "2024-11-01T13:30:00Z,AAPL,10,9,11,10,100\n",
    "nan_price": "timestamp,symbol,open,high,low,close,volume\n"
    "2024-11-01T13:30:00Z,AAPL,NaN,1,1,1,1\n",
    "unsorted": "timestamp,symbol,open,high,low,close,volume\n"
    "2024-11-01T13:31:00Z,AAPL,1,1,1,1,1\n2024-11-01T13:30:00Z,AAPL,1,1,1,1,1\n",
    "duplicate": "timestamp,symbol,open,high,low,close,volume\n"
    "2024-11-01T13:30:00Z,AAPL,1,1,1,1,1\n2024-11-01T13:30:00Z,AAPL,1,1,1,1,1\n",
    "bad_timestamp": "timestamp,symbol,open,high,low,close,volume\nyesterday,AAPL,1,1,1,1,1\n",
}


@pytest.mark.parametrize("case", sorted(BAD_BARS))
def test_bad_bars_are_refused_with_one_message_and_nothing_is_stored(capsys, tmp_path, case):
    path = tmp_path / f"{case}.csv"
    path.write_text(BAD_BARS[case])
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    code, out, err = openbell(
        capsys, "--database-url", url, "replay", "--bars", str(path), "--config", CONFIGS[0]
    )
    assert code == 2
    assert err.startswith("openbell: error: ") and str(path.name) in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = openbell(capsys, "--database-url", url, "bots", "list", "--json")
    assert json.loads(out) == []


def test_unknown_symbol_in_config_is_refused_before_anything_is_stored(capsys, tmp_path):
    config = json.loads((BOTS / "rsi_macd.json").read_text()) | {
        "name": "tsla-bot",
        "symbols": ["TSLA"],
    }
    path = tmp_path / "tsla.json"
    path.write_text(json.dumps(config))
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    code, _, err = openbell(
        capsys,
        "--database-url",
        url,
        "replay",
        "--bars",
        str(SAMPLE_BARS),
        "--config",
        CONFIGS[0],
        "--config",
        str(path),
    )
    assert code == 2 and "unknown symbol TSLA" in err
    code, out, _ = openbell(capsys, "--database-url", url, "bots", "list", "--json")
    assert json.loads(out) == []


def test_invalid_config_names_the_file_and_field(capsys, tmp_path, sqlite_url):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x", "capital": 0, "symbols": ["AAPL"], "indicators": {}}))
    code, _, err = openbell(
        capsys,
        "--database-url",
        sqlite_url,
        "replay",
        "--bars",
        str(SAMPLE_BARS),
        "--config",
        str(path),
    )
    assert code == 2 and "bad.json" in err and "capital" in err and "indicators" in err
    path.write_text("{not json")
    code, _, err = openbell(
        capsys,
        "--database-url",
        sqlite_url,
        "replay",
        "--bars",
        str(SAMPLE_BARS),
        "--config",
        str(path),
    )
    assert code == 2 and "not valid JSON" in err


def test_console_script_runs_and_lists_bots(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    script = Path(sys.executable).parent / "openbell"
    done = subprocess.run(
        [str(script), "--database-url", url, "bots", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "no bots yet" in done.stdout
    bad = subprocess.run(
        [str(script), "--database-url", "mysql://x/y", "bots", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "unsupported database URL" in bad.stderr


def test_demo_replays_the_sample_bots_once_per_store(capsys, sqlite_url):
    code, out, _ = openbell(capsys, "--database-url", sqlite_url, "demo")
    assert code == 0
    assert out.count("digest") == 3 and "Audit a bot" in out
    code, out, _ = openbell(capsys, "--database-url", sqlite_url, "demo")
    assert code == 0 and "already replayed" in out
    assert all(name in out for name in ("rsi-macd", "trend-bands", "stoch-volume"))
