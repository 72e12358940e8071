"""Which symbols a running bot learns again after a config change (`symbols_to_learn`)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from application.config_warm_up import symbols_to_learn
from tests.builders import config

RULES = {"indicators": {"RSI": {"period": 7, "oversold": 45}, "EMA": {"period": 5}}}
OLD = config(symbols=["AAPL", "MSFT"], trading_frequency=60, **RULES)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "renamed"},
        {"capital": 25000},
        {"risk_management": {"max_position_size": 0.1, "max_positions": 3, "stop_loss": 0.05}},
        {"entry_price_buffer": 0.02},
        {"flatten_at_end": False},
        {"symbols": ["MSFT"]},
        {"symbols": ["MSFT", "AAPL"]},
    ],
)
def test_a_change_that_leaves_rules_and_symbols_needs_no_history(change):
    new = config(**{"symbols": ["AAPL", "MSFT"], **RULES, **change})
    assert symbols_to_learn(OLD, new, {}) == set()


def test_an_added_symbol_is_learned_alone_under_the_same_rules():
    new = config(symbols=["AAPL", "MSFT", "NVDA"], capital=20000, **RULES)
    assert symbols_to_learn(OLD, new, {"NVDA": {"RSI(7)"}}) == {"NVDA"}


def test_a_symbol_with_a_calculator_registered_cold_is_learned():
    assert symbols_to_learn(OLD, OLD, {"AAPL": {"EMA(5)"}, "MSFT": set()}) == {"AAPL"}


def test_the_same_indicators_in_another_order_are_the_same_rules():
    new = replace(OLD, indicators=OLD.indicators[::-1])
    assert symbols_to_learn(OLD, new, {}) == set()


@pytest.mark.parametrize(
    "change",
    [
        {"indicators": {"RSI": {"period": 7, "oversold": 40}, "EMA": {"period": 5}}},
        {"indicators": {"RSI": {"period": 9, "oversold": 45}, "EMA": {"period": 5}}},
        {"indicators": {"EMA": {"period": 5}}},
        {"min_votes": 2, **RULES},
        {"trading_frequency": 120, **RULES},
        {"start_minute": 45, **RULES},
        {"end_hour": 11, **RULES},
    ],
)
def test_a_change_of_what_decides_relearns_every_symbol(change):
    new = config(**{"symbols": ["AAPL", "MSFT", "NVDA"], **change})
    assert symbols_to_learn(OLD, new, {}) == {"AAPL", "MSFT", "NVDA"}
