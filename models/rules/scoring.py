"""The plan's scoring rules over exact decimals: score bounds, fraud, totals, the annual formula, ranks, awards.

Arithmetic is exact (no context rounding); the only rounding is `display`, half-up to 2 decimals, and it is
meant for what people see: the screen, the exports, and the ties of the published ranking.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from contextlib import AbstractContextManager
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)
from typing import TypeVar

from models.i18n import lazy_gettext as _l

K = TypeVar("K", bound=Hashable)

SCORE_DECIMALS = 2
PROCESS_RULES = ("mean", "min", "max", "latest")
PROCESS_WEIGHT = Decimal("0.2")
YEAR_END_WEIGHT = Decimal("0.8")
ZERO = Decimal(0)
HALF = Decimal("0.5")


class InvalidScore(ValueError):
    """A value that cannot be read as a score: not a number, not finite, or more than 2 decimals."""

    def __init__(self, value: object) -> None:
        super().__init__(
            _l(
                "“%(value)s” is not a score: enter a number with at most 2 decimals.",
                value=str(value).strip(),
            )
        )
        self.value = value


class ScoreOutOfRange(ValueError):
    """A score that is not a finite number between zero and the indicator's weight."""

    def __init__(self, score: Decimal | int, weight: Decimal | int) -> None:
        super().__init__(
            _l(
                "The score %(score)s must lie between 0 and the weight %(weight)s.",
                score=score,
                weight=weight,
            )
        )
        self.score = score
        self.weight = weight


def _exact() -> AbstractContextManager[Context]:
    """Enter a context wide enough (precision, exponents) that no operation ever rounds."""
    return localcontext(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _finite(value: Decimal | int, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what} must be a Decimal or an int, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value}")
    return value


def _decimal_places(value: Decimal) -> int:
    """Count the decimals of a finite value, ignoring trailing zeros ("12.50" has 1)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values have an int exponent
    while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return max(0, -exponent) if any(digits) else 0


def as_score(value: str | int | Decimal | float) -> Decimal:
    """Parse a typed or imported score ("12.5", " 3 ", 7, Decimal) into a Decimal, or raise InvalidScore."""
    if isinstance(value, bool):
        raise InvalidScore(value)
    try:
        # str() first: a float from a spreadsheet cell becomes its shortest repr (12.5, not 12.5000000001...)
        score = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidScore(value) from None
    if not score.is_finite() or _decimal_places(score) > SCORE_DECIMALS:
        raise InvalidScore(value)
    return score if score else abs(score)  # "-0" reads as 0


def check_score(score: Decimal | int, weight: Decimal | int) -> None:
    """Raise ScoreOutOfRange unless the score is a finite number in [0, weight]; never clamp."""
    weight = _finite(weight, "weight")
    if weight < 0:
        raise ValueError(f"weight must not be negative, not {weight}")
    if isinstance(score, bool) or not isinstance(score, Decimal | int):
        raise TypeError(f"score must be a Decimal or an int, not {type(score).__name__}")
    if not Decimal(score).is_finite() or not 0 <= score <= weight:
        raise ScoreOutOfRange(score, weight)


def effective_score(score: Decimal, weight: Decimal, fraud: bool) -> Decimal:
    """Return the score that counts: zero when fraud was found at verification, else the checked score."""
    check_score(score, weight)
    return ZERO if fraud else Decimal(score)


def round_total(scores: Mapping[str, Decimal]) -> Decimal:
    """Sum a round's indicator scores exactly (unrounded)."""
    with _exact():
        return sum((_finite(s, f"score of {code}") for code, s in scores.items()), ZERO)


def process_score(half_year: Decimal, q3: Decimal, rule: str = "mean") -> Decimal:
    """Combine the half-year and Q3 round totals into the process score by the scheme's rule."""
    half_year, q3 = _finite(half_year, "half-year total"), _finite(q3, "Q3 total")
    if rule == "mean":
        with _exact():
            return (half_year + q3) * HALF  # times 0.5, not / 2: exact at any precision
    if rule == "min":
        return min(half_year, q3)
    if rule == "max":
        return max(half_year, q3)
    if rule == "latest":
        return q3
    raise ValueError(f"unknown process-score rule {rule!r}; the rules are {', '.join(PROCESS_RULES)}")


def annual_total(
    process: Decimal,
    year_end: Decimal,
    process_weight: Decimal = PROCESS_WEIGHT,
    year_end_weight: Decimal = YEAR_END_WEIGHT,
) -> Decimal:
    """Return the annual total: process × process_weight + year-end × year_end_weight (20% / 80% by default)."""
    process, year_end = _finite(process, "process score"), _finite(year_end, "year-end score")
    w1, w2 = _finite(process_weight, "process weight"), _finite(year_end_weight, "year-end weight")
    with _exact():
        if w1 < 0 or w2 < 0 or w1 + w2 != 1:
            raise ValueError(f"the weights must be non-negative and sum to 1, not {w1} and {w2}")
        return process * w1 + year_end * w2


def display(value: Decimal, places: int = SCORE_DECIMALS) -> Decimal:
    """Round half-up (away from zero on a tie) to `places` decimals; for display and export only."""
    value = _finite(value, "value")
    if places < 0:
        raise ValueError(f"places must not be negative, not {places}")
    with _exact():
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def competition_ranks(totals: Mapping[str, Decimal], places: int = SCORE_DECIMALS) -> dict[str, int]:
    """Rank cities by total, highest first, ties (on displayed values) sharing a rank: 1, 1, 3."""
    shown = {city: display(total, places) for city, total in totals.items()}
    # two stable sorts (by name, then by value descending) rather than negating, which would round
    order = sorted(sorted(shown), key=shown.__getitem__, reverse=True)
    ranks: dict[str, int] = {}
    rank, last = 0, None
    for position, city in enumerate(order, start=1):
        if shown[city] != last:  # a new displayed value starts a new rank; a tie keeps the previous one
            rank, last = position, shown[city]
        ranks[city] = rank
    return ranks  # in rank order, then by city name


def dimension_ranks(scores: Mapping[str, Mapping[str, Decimal]]) -> dict[str, dict[str, int]]:
    """Rank the cities on each dimension: city → dimension → score in, dimension → city → rank out."""
    by_dimension: dict[str, dict[str, Decimal]] = {}
    for city, dimensions in scores.items():
        for dimension, score in dimensions.items():
            by_dimension.setdefault(dimension, {})[city] = score
    # a city without a score on a dimension is left out of that ranking, not ranked as zero
    return {dimension: competition_ranks(cities) for dimension, cities in by_dimension.items()}


def excellence_awards(
    key_point_scores: Mapping[K, Mapping[str, Decimal]],
    designated: Iterable[K],
    top_n: int,
    ineligible: Mapping[K, Collection[str]] | None = None,
) -> dict[K, list[str]]:
    """Name, per designated key point, the cities ranked within the top N (all ties at the boundary included).

    Cities `ineligible` for a key point (the year's rule: fraud found on one of its indicators) are left
    out of that key point's ranking, so they are never named and the places go to the eligible cities.
    """
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ValueError(f"top_n must be a whole number of at least 1, not {top_n!r}")
    ineligible = ineligible or {}
    awards: dict[K, list[str]] = {}
    for key_point in designated:
        if key_point not in key_point_scores:
            raise ValueError(f"no scores for designated key point {key_point!r}")
        barred = ineligible.get(key_point, ())
        ranks = competition_ranks(
            {city: score for city, score in key_point_scores[key_point].items() if city not in barred}
        )
        awards[key_point] = [city for city, rank in ranks.items() if rank <= top_n]
    return awards


def lost_points(weight: Decimal, score: Decimal) -> Decimal:
    """Return the points an indicator lost (weight − score), for feedback reports."""
    check_score(score, weight)
    with _exact():
        return Decimal(weight) - Decimal(score)
