"""Units of market time and money, defined once for every layer.

`NEW_YORK` is the exchange's wall clock: sessions, bot windows, trading days and the times shown
to people are New York times. `CENT` is the step of prices and money amounts: what order prices,
P&L and reported figures are rounded to.
"""

from decimal import Decimal
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
CENT = Decimal("0.01")
