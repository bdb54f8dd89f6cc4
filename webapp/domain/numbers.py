"""Exact Decimals as JSON, charts and spreadsheets take them."""

from __future__ import annotations

from decimal import Decimal

from models.rules import scoring


def plain(value: Decimal) -> int | float:
    """A whole number as an int, anything else as a float (14 → 14, 7.50 → 7.5)."""
    return int(value) if value == value.to_integral_value() else float(value)


def two_places(value: Decimal | str | int | float | None) -> str | None:
    """A Decimal as the API gives it: text with exactly two places, rounded half-up ("996.00")."""
    if value is None or value == "":
        return None
    return f"{scoring.display(Decimal(str(value))):.2f}"
