"""The functions a formula may call. The table below is the whole list: nothing else is
callable, and no name in a formula can reach a Python attribute, import or builtin.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable


@dataclass(frozen=True)
class Function:
    min_args: int
    max_args: int | None
    usage: str
    impl: Callable

    @property
    def arity_text(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args} arguments"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round to ``places`` decimals, halves away from zero (the Chinese 四舍五入)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _clamp(value, low, high):
    return min(max(value, low), high)


FUNCTIONS: dict[str, Function] = {
    "min": Function(2, None, "min(a, b, ...)", min),
    "max": Function(2, None, "max(a, b, ...)", max),
    "abs": Function(1, 1, "abs(x)", abs),
    "round": Function(2, 2, "round(x, places)", lambda x, places: round_half_up(x, int(places))),
    "clamp": Function(3, 3, "clamp(x, low, high)", _clamp),
}
