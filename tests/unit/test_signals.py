from decimal import Decimal

from domain.config import IndicatorSpec
from domain.orders import Side
from domain.signals import BUY, NONE, SELL, BarView, VoteRule, decide


def rule(kind, **params):
    return VoteRule(IndicatorSpec(kind, tuple((k, Decimal(v)) for k, v in params.items())))


FLAT = BarView(open=100.0, high=100.0, low=100.0, close=100.0, volume=1000.0)


def test_rsi_votes_buy_when_oversold_and_sell_when_overbought():
    rsi = rule("RSI", period=14, oversold=30, overbought=70)
    assert rsi.vote((29.9,), None, FLAT) == BUY
    assert rsi.vote((70.1,), None, FLAT) == SELL
    assert rsi.vote((50.0,), None, FLAT) == NONE
    assert rsi.explain((27.4,), None, FLAT) == "RSI(14) 27.40 < 30 (oversold)"


def test_macd_votes_with_the_sign_of_its_histogram():
    macd = rule("MACD", fast=12, slow=26, signal=9)
    assert macd.vote((1.0, 0.5, 0.5), None, FLAT) == BUY
    assert macd.vote((0.5, 1.0, -0.5), None, FLAT) == SELL


def test_moving_averages_vote_with_price_against_the_average():
    sma = rule("SMA", period=20)
    assert sma.vote((99.0,), None, FLAT) == BUY
    assert sma.vote((101.0,), None, FLAT) == SELL


def test_bollinger_buys_below_the_lower_band_and_sells_above_the_upper():
    bands = rule("BBANDS", period=20, std=2)
    assert bands.vote((110.0, 105.0, 100.5), None, FLAT) == BUY
    assert bands.vote((99.0, 95.0, 90.0), None, FLAT) == SELL
    assert bands.vote((101.0, 100.0, 99.0), None, FLAT) == NONE


def test_volume_votes_with_the_bar_direction_only_when_above_its_average():
    volume = rule("VOLUME_SMA", period=20)
    up = BarView(open=99.0, high=100.0, low=99.0, close=100.0, volume=2000.0)
    assert volume.vote((1500.0,), None, up) == BUY
    assert volume.vote((2500.0,), None, up) == NONE


def test_obv_votes_with_its_change():
    obv = rule("OBV")
    assert obv.vote((10.0,), (5.0,), FLAT) == BUY
    assert obv.vote((1.0,), (5.0,), FLAT) == SELL
    assert obv.vote((1.0,), None, FLAT) == NONE


def test_decide_needs_min_votes_and_a_majority():
    assert decide([BUY, BUY, SELL], 2) is Side.BUY
    assert decide([BUY, SELL], 1) is None
    assert decide([SELL, NONE, NONE], 1) is Side.SELL
    assert decide([BUY, NONE], 2) is None
