from datetime import date
from decimal import Decimal
from uuid import UUID

from domain.bot import Bot
from domain.orders import Intent, OrderRequest, OrderType, Side
from domain.risk import Approved, Denied, check_entry, daily_loss_breach, protective_prices
from tests.builders import config, et

DAY = date(2024, 11, 1)
T0 = et(DAY, 9, 30)


def no_fee(qty: int, price: Decimal) -> Decimal:
    return Decimal(0)


def bot_with(**risk):
    rules = {"max_position_size": 0.1, "max_positions": 1} | risk
    bot = Bot.create(UUID(int=1), config(symbols=["AAPL", "MSFT"], risk_management=rules), T0)
    bot.start(T0)
    return bot


def hold(bot, symbol, qty, price):
    coid = f"{symbol}-b"
    request = OrderRequest(coid, symbol, Side.BUY, qty, OrderType.LIMIT, Decimal(price))
    bot.submit_order(T0, request, Intent.ENTRY, Decimal(price) * qty)
    bot.record_fill(T0, coid, qty, Decimal(price), Decimal(0))


def test_entry_is_sized_to_max_position_size_of_capital_at_the_buffered_limit():
    verdict = check_entry(bot_with(), "AAPL", Decimal("100.00"), DAY, no_fee)
    assert isinstance(verdict, Approved)
    assert verdict.limit_price == Decimal("100.50")  # 0.5% buffer, rounded up to the cent
    assert verdict.qty == 9  # 1000 / 100.50
    assert verdict.reserved == Decimal("904.50")
    assert verdict.reserved <= Decimal("0.1") * 10000


def test_fees_are_reserved_and_can_shrink_the_size():
    def fee(qty: int, price: Decimal) -> Decimal:
        return Decimal("50")

    verdict = check_entry(bot_with(), "AAPL", Decimal("100.00"), DAY, fee)
    assert isinstance(verdict, Approved)
    assert verdict.qty == 9 and verdict.reserved == Decimal("954.50")
    expensive = check_entry(bot_with(), "AAPL", Decimal("990.00"), DAY, fee)
    assert isinstance(expensive, Denied) and expensive.limit == "max_position_size"


def test_max_positions_denies_with_limit_and_attempted_value():
    bot = bot_with(max_positions=1, max_position_size=0.5)
    hold(bot, "MSFT", 10, "100")
    verdict = check_entry(bot, "AAPL", Decimal("100"), DAY, no_fee)
    assert isinstance(verdict, Denied)
    assert (verdict.limit, verdict.limit_value, verdict.attempted_value) == (
        "max_positions",
        Decimal(1),
        Decimal(2),
    )


def test_cash_binds_when_other_positions_used_it():
    bot = bot_with(max_positions=3, max_position_size=0.9)
    hold(bot, "MSFT", 80, "100")  # 8000 of 10000 spent
    verdict = check_entry(bot, "AAPL", Decimal("100"), DAY, no_fee)
    assert isinstance(verdict, Approved)
    assert verdict.qty == 19  # 2000 / 100.50
    assert bot.committed() + verdict.reserved <= bot.config.capital


def test_a_share_that_costs_more_than_the_budget_is_denied_naming_the_binding_limit():
    verdict = check_entry(bot_with(), "AAPL", Decimal("2000"), DAY, no_fee)
    assert isinstance(verdict, Denied)
    assert verdict.limit == "max_position_size"
    assert verdict.limit_value == Decimal("1000.0")
    assert verdict.attempted_value == Decimal("2010.00")


def test_halted_bot_cannot_enter():
    bot = bot_with(max_daily_loss=0.01)
    bot.reach_daily_loss_limit(T0, DAY, Decimal(100), Decimal(-150))
    verdict = check_entry(bot, "AAPL", Decimal("10"), DAY, no_fee)
    assert isinstance(verdict, Denied) and verdict.limit == "max_daily_loss"
    assert isinstance(check_entry(bot, "AAPL", Decimal("10"), date(2024, 11, 4), no_fee), Approved)


def test_daily_loss_breach_counts_unrealised_losses():
    bot = bot_with(max_daily_loss=0.01, max_position_size=0.5)
    hold(bot, "AAPL", 10, "100")
    assert daily_loss_breach(bot, DAY, {"AAPL": Decimal("91")}) is None  # -90 > -100
    assert daily_loss_breach(bot, DAY, {"AAPL": Decimal("90")}) == (
        Decimal("100.00"),
        Decimal("-100"),
    )


def test_protective_prices_round_to_the_cent():
    rules = config(risk_management={"stop_loss": 0.02, "take_profit": 0.035}).risk
    assert protective_prices(Decimal("187.23"), rules) == (Decimal("183.49"), Decimal("193.78"))
    none = config().risk
    assert protective_prices(Decimal("10"), none) == (None, None)
