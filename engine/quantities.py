"""The small literal forms plan files use for numbers.

A comp admin writes ``50%``, ``1.5x base rate`` or ``3x target
incentive``; these helpers turn such text into exact values. Each raises
``ValueError`` with a sentence a comp admin can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_PERCENT = re.compile(rf"^(-?{_NUMBER[1:-1]})\s*%$")
_BASE_RATE = re.compile(rf"^{_NUMBER}\s*x\s+base\s+rate$")
_OF_TI = re.compile(rf"^{_NUMBER}\s*(x|%)\s*(?:of\s+)?target\s+incentive$")


def to_decimal(value: object) -> Decimal:
    """An exact Decimal from a YAML number (never via float)."""
    if isinstance(value, bool):
        raise ValueError(f"Expected a number, found {value!r}.")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        return Decimal(value.strip())
    raise ValueError(f"Expected a number, found {value!r}.")


def fraction(value: object) -> Decimal:
    """``50%`` or ``0.5`` as the fraction 0.5.

    >>> fraction("12.5%")
    Decimal('0.125')
    """
    if isinstance(value, str):
        match = _PERCENT.match(value.strip())
        if not match:
            raise ValueError(
                f"Expected a percentage such as 50%, found {value!r}."
            )
        return Decimal(match.group(1)) / 100
    return to_decimal(value)


@dataclass(frozen=True)
class Rate:
    """A rate: fixed, or a multiple of the base commission rate."""

    value: Decimal
    of_base_rate: bool = False

    def resolve(self, base_rate: Decimal | None) -> Decimal:
        if not self.of_base_rate:
            return self.value
        if base_rate is None:
            raise ValueError(
                "The rate is a multiple of the base rate, but the base "
                "rate is not known: it needs a target incentive and an "
                "annual quota."
            )
        return self.value * base_rate

    def __str__(self) -> str:
        if self.of_base_rate:
            return f"{self.value}x base rate"
        return percent_text(self.value)


def rate(value: object) -> Rate:
    """``15%``, ``0.15`` or ``1.5x base rate``."""
    if isinstance(value, str):
        match = _BASE_RATE.match(value.strip())
        if match:
            return Rate(Decimal(match.group(1)), of_base_rate=True)
    return Rate(fraction(value))


@dataclass(frozen=True)
class TiAmount:
    """An amount, or a share of the period's target incentive."""

    value: Decimal
    of_target_incentive: bool = False

    def resolve(self, target_incentive: Decimal | None) -> Decimal:
        if not self.of_target_incentive:
            return self.value
        if target_incentive is None:
            raise ValueError(
                "The amount is a share of the target incentive, but the "
                "plan and the roster give none for this payee."
            )
        return self.value * target_incentive

    def __str__(self) -> str:
        if self.of_target_incentive:
            return f"{self.value}x target incentive"
        return str(self.value)


def ti_amount(value: object) -> TiAmount:
    """``60000``, ``3x target incentive`` or ``250% of target incentive``."""
    if isinstance(value, str):
        match = _OF_TI.match(value.strip())
        if not match:
            raise ValueError(
                "Expected an amount, or a share of the target incentive "
                f"such as 3x target incentive, found {value!r}."
            )
        number = Decimal(match.group(1))
        if match.group(2) == "%":
            number /= 100
        return TiAmount(number, of_target_incentive=True)
    return TiAmount(to_decimal(value))


@lru_cache(maxsize=4096)
def percent_text(value: Decimal) -> str:
    """A fraction as a percentage without trailing zeros: 0.125 -> 12.5%."""
    number = (value * 100).normalize()
    if number == number.to_integral():
        number = number.quantize(Decimal(1))
    return f"{number:f}%"
