"""Exact Decimals as JSON, charts and spreadsheets take them."""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal) -> int | float:
    """A whole number as an int, anything else as a float (14 → 14, 7.50 → 7.5)."""
    return int(value) if value == value.to_integral_value() else float(value)
