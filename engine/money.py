"""Rounding money, and sharing a rounded amount out exactly.

Credits, quotas, attainment and converted amounts are never rounded;
only a payout line is, to its currency's minor unit. The shares of a
line (one per deal) are rounded so that they add up to the rounded line:
each is rounded down, and the cents left over go to the shares with the
largest remainders (ties to the earlier share).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Sequence

# ISO 4217 currencies whose minor unit is not the cent.
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3,
    "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
    "XAF": 0, "XOF": 0, "XPF": 0,
}
ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


@lru_cache(maxsize=None)
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01 for USD, 1 for JPY."""
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2))


def round_money(
    amount: Decimal, currency: str, rounding: str = "half_up"
) -> Decimal:
    """Round to the currency's minor unit.

    ``half_up`` rounds half away from zero, as Decimal's ROUND_HALF_UP
    does for negative amounts too.

    >>> round_money(Decimal("-0.125"), "USD")
    Decimal('-0.13')
    """
    return amount.quantize(minor_unit(currency), ROUNDING_MODES[rounding])


def allocate(
    shares: Sequence[Decimal], total: Decimal, currency: str
) -> list[Decimal]:
    """Round ``shares`` so that they add up to ``total`` exactly.

    ``total`` is the rounded sum of ``shares``.

    >>> allocate([Decimal("1.005"), Decimal("1.005")], Decimal("2.01"), "USD")
    [Decimal('1.01'), Decimal('1.00')]
    """
    if len(shares) == 1:
        return [total]
    unit = minor_unit(currency)
    floors = [s.quantize(unit, ROUND_FLOOR) for s in shares]
    left = int((total - sum(floors, Decimal(0))) / unit)
    by_remainder = sorted(
        range(len(shares)),
        key=lambda i: (-(shares[i] - floors[i]), i),
    )
    result = list(floors)
    if left >= 0:
        for i in by_remainder[:left]:
            result[i] += unit
    else:
        for i in list(reversed(by_remainder))[: -left]:
            result[i] -= unit
    return result
