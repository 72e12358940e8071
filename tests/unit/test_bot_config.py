from datetime import time
from decimal import Decimal

import pytest

from application.bot_config import InvalidBotConfig, parse_bot_config
from domain.config import BotConfig

VALID = {
    "name": "rsi-bot",
    "capital": 100000,
    "trading_frequency": 300,
    "symbols": ["AAPL", "BRK.B"],
    "indicators": {"RSI": {"period": 14, "oversold": 30, "overbought": 70}, "MACD": {}},
    "risk_management": {
        "stop_loss": 0.02,
        "take_profit": 0.04,
        "max_position_size": 0.1,
        "max_daily_loss": 0.03,
        "max_positions": 3,
    },
    "start_hour": 9,
    "start_minute": 45,
    "end_hour": 11,
    "end_minute": 30,
}


def errors_for(**changes):
    data = {**VALID, **changes}
    with pytest.raises(InvalidBotConfig) as caught:
        parse_bot_config(data)
    return dict(caught.value.errors)


def test_valid_config_becomes_a_domain_config_with_decimals_and_defaults():
    config = parse_bot_config(VALID)
    assert config.capital == Decimal(100000)
    assert config.risk.stop_loss == Decimal("0.02")
    assert config.window_start == time(9, 45) and config.window_end == time(11, 30)
    assert [s.label for s in config.indicators] == ["RSI(14)", "MACD(12,26,9)"]
    assert config.min_votes == 2  # majority of two indicators by default
    assert config.flatten_at_end is True


def test_config_survives_the_round_trip_through_its_stored_form():
    config = parse_bot_config(VALID)
    assert BotConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capital": -5}, "capital"),
        ({"capital": "12.345"}, "capital"),
        ({"trading_frequency": 90}, "trading_frequency"),
        ({"symbols": []}, "symbols"),
        ({"symbols": ["aapl"]}, "symbols.0"),
        ({"symbols": ["AAPL", "AAPL"]}, "symbols"),
        ({"indicators": {}}, "indicators"),
        ({"indicators": {"RSI": {"period": 1}}}, "indicators.RSI.period"),
        ({"indicators": {"RSI": {"oversold": 80, "overbought": 70}}}, "indicators.RSI"),
        ({"indicators": {"MACD": {"fast": 30, "slow": 26}}}, "indicators.MACD"),
        ({"indicators": {"BBANDS": {"std": 0}}}, "indicators.BBANDS.std"),
        ({"indicators": {"ADX": {}}}, "indicators.ADX"),
        ({"risk_management": {"stop_loss": 1.5}}, "risk_management.stop_loss"),
        ({"risk_management": {"max_position_size": 0}}, "risk_management.max_position_size"),
        ({"risk_management": {"max_positions": 0}}, "risk_management.max_positions"),
        ({"start_hour": 24}, "start_hour"),
        ({"end_hour": 9, "end_minute": 0}, "(config)"),
        ({"min_votes": 3}, "(config)"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_each_invalid_value_is_refused_naming_its_field(changes, field):
    assert field in errors_for(**changes)


def test_message_lists_every_problem():
    with pytest.raises(InvalidBotConfig, match=r"capital: .*; symbols\.0: "):
        parse_bot_config({**VALID, "capital": 0, "symbols": ["x"]})
