"""The bot configuration users write (JSON or HTTP), validated field by field with pydantic."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.config import BotConfig, IndicatorSpec, RiskRules

SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.]{0,9}$"


class InvalidBotConfig(ValueError):
    """Every problem with a submitted config, each naming its field (dotted path)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Thresholds(_Strict):
    oversold: Decimal = Field(Decimal(30), ge=0, le=100)
    overbought: Decimal = Field(Decimal(70), ge=0, le=100)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Self:
        if self.oversold >= self.overbought:
            raise ValueError("oversold must be below overbought")
        return self


class RSIParams(_Thresholds):
    period: int = Field(14, ge=2, le=1000)


class MACDParams(_Strict):
    fast: int = Field(12, ge=2, le=1000)
    slow: int = Field(26, ge=2, le=1000)
    signal: int = Field(9, ge=1, le=1000)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError("fast must be below slow")
        return self


class PeriodParams(_Strict):
    period: int = Field(20, ge=2, le=5000)


class BBandsParams(_Strict):
    period: int = Field(20, ge=2, le=5000)
    std: Decimal = Field(Decimal(2), gt=0, le=10)


class StochParams(_Thresholds):
    k: int = Field(14, ge=1, le=1000)
    d: int = Field(3, ge=1, le=1000)
    smooth: int = Field(3, ge=1, le=1000)
    oversold: Decimal = Field(Decimal(20), ge=0, le=100)
    overbought: Decimal = Field(Decimal(80), ge=0, le=100)


class NoParams(_Strict):
    pass


class Indicators(_Strict):
    RSI: RSIParams | None = None
    MACD: MACDParams | None = None
    SMA: PeriodParams | None = None
    EMA: PeriodParams | None = None
    BBANDS: BBandsParams | None = None
    STOCH: StochParams | None = None
    VOLUME_SMA: PeriodParams | None = None
    OBV: NoParams | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if not self.chosen():
            raise ValueError("choose at least one indicator")
        return self

    def chosen(self) -> dict[str, BaseModel]:
        return {kind: params for kind in type(self).model_fields if (params := getattr(self, kind))}


Fraction = Annotated[Decimal, Field(gt=0, le=1)]


class RiskManagement(_Strict):
    stop_loss: Annotated[Decimal, Field(gt=0, lt=1)] | None = None
    take_profit: Annotated[Decimal, Field(gt=0, le=10)] | None = None
    max_position_size: Fraction = Decimal("0.1")
    max_daily_loss: Fraction | None = None
    max_positions: int = Field(1, ge=1, le=100)


class BotConfigInput(_Strict):
    """A bot as a user writes it; see docs/ARCHITECTURE.md for how indicator votes combine."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
    capital: Decimal = Field(gt=0, le=Decimal("1e12"), decimal_places=2)
    trading_frequency: int = Field(60, ge=60, le=23400)
    symbols: list[Annotated[str, Field(pattern=SYMBOL_PATTERN)]] = Field(
        min_length=1, max_length=50
    )
    indicators: Indicators
    risk_management: RiskManagement = Field(default_factory=lambda: RiskManagement())
    start_hour: int = Field(9, ge=0, le=23)
    start_minute: int = Field(30, ge=0, le=59)
    end_hour: int = Field(12, ge=0, le=23)
    end_minute: int = Field(0, ge=0, le=59)
    min_votes: int | None = Field(None, ge=1)
    flatten_at_end: bool = True
    entry_price_buffer: Decimal = Field(Decimal("0.005"), ge=0, le=Decimal("0.1"))

    @field_validator("trading_frequency")
    @classmethod
    def _whole_minutes(cls, value: int) -> int:
        if value % 60:
            raise ValueError("must be a whole number of minutes (a multiple of 60 seconds)")
        return value

    @field_validator("symbols")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("symbols must not repeat")
        return value

    @model_validator(mode="after")
    def _window_and_votes(self) -> Self:
        if time(self.start_hour, self.start_minute) >= time(self.end_hour, self.end_minute):
            raise ValueError("end_hour:end_minute must be after start_hour:start_minute")
        chosen = len(self.indicators.chosen())
        if self.min_votes is not None and self.min_votes > chosen:
            raise ValueError(f"min_votes {self.min_votes} exceeds the {chosen} chosen indicators")
        return self

    def to_domain(self) -> BotConfig:
        chosen = self.indicators.chosen()
        specs = tuple(
            IndicatorSpec(kind, tuple((k, Decimal(v)) for k, v in params.model_dump().items()))
            for kind, params in chosen.items()
        )
        risk = self.risk_management
        return BotConfig(
            name=self.name,
            capital=self.capital,
            trading_frequency=self.trading_frequency,
            symbols=tuple(self.symbols),
            indicators=specs,
            risk=RiskRules(
                max_position_size=risk.max_position_size,
                max_positions=risk.max_positions,
                stop_loss=risk.stop_loss,
                take_profit=risk.take_profit,
                max_daily_loss=risk.max_daily_loss,
            ),
            window_start=time(self.start_hour, self.start_minute),
            window_end=time(self.end_hour, self.end_minute),
            min_votes=self.min_votes or len(specs) // 2 + 1,
            flatten_at_end=self.flatten_at_end,
            entry_price_buffer=self.entry_price_buffer,
        )


def parse_bot_config(data: Any) -> BotConfig:
    """Validate user input into a domain config, or raise InvalidBotConfig naming each field."""
    try:
        return BotConfigInput.model_validate(data).to_domain()
    except ValidationError as exc:
        raise InvalidBotConfig(
            [(".".join(str(p) for p in e["loc"]) or "(config)", e["msg"]) for e in exc.errors()]
        ) from None
