from decimal import Decimal

import pytest

from webapp.numbering import chinese_numeral, points


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "一"), (7, "七"), (10, "十"), (11, "十一"), (14, "十四"), (20, "二十"), (42, "四十二")],
)
def test_chinese_numerals_as_the_plan_prints_them(n, text):
    assert chinese_numeral(n) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("40.00"), "40"),
        (Decimal("7.50"), "7.5"),
        (Decimal("12.25"), "12.25"),
        (Decimal(1000), "1000"),
        (None, ""),
    ],
)
def test_points_drop_trailing_zeros(value, text):
    assert points(value) == text
