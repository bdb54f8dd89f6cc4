"""The document model of feedback reports (考评结果反馈): what a city's round, a city's year and the
province's results say, and the content every format renders (`Document` of `Table`s of `Cell`s).
The PDF (`reports`) and the workbook (`xlsx`) both render one `Document`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class IndicatorLine:
    code: str
    name: str
    dimension: str
    key_point: str
    weight: Decimal
    score: Decimal
    fraud: bool = False
    note: str = ""

    @property
    def lost(self) -> Decimal:
        return self.weight - self.score


@dataclass(frozen=True)
class DimensionLine:
    name: str
    weight: Decimal
    score: Decimal
    rank: int


@dataclass(frozen=True)
class Version:
    """One published version of a round's results."""

    number: int
    published_at: datetime
    correction: bool
    reason: str = ""


@dataclass(frozen=True)
class Correction:
    """A corrected round's published versions, and the one a page or report shows."""

    versions: tuple[Version, ...]
    shown: int

    @property
    def latest(self) -> Version:
        return self.versions[-1]

    @property
    def current(self) -> bool:
        return self.shown == self.latest.number

    @property
    def shown_version(self) -> Version:
        return next(v for v in self.versions if v.number == self.shown)

    @property
    def corrections(self) -> list[Version]:
        return [v for v in self.versions if v.correction]


@dataclass(frozen=True)
class CityRoundReport:
    """One city, one round (half-year, third quarter, year-end)."""

    year: int
    round_title: str
    city: str
    total: Decimal
    max_total: Decimal
    rank: int
    cities: int
    dimensions: list[DimensionLine]
    lines: list[IndicatorLine]
    advice: str
    generated_at: datetime
    correction: Correction | None = None  # set when the round's published results were corrected
    rank_change: int | None = None  # places moved since the round before (positive: up; None: no earlier)


@dataclass(frozen=True)
class CityAnnualReport:
    """One city, the whole year."""

    year: int
    city: str
    half_year: Decimal
    q3: Decimal
    process_score: Decimal
    year_end: Decimal
    total: Decimal
    rank: int
    cities: int
    dimensions: list[DimensionLine]
    lines: list[IndicatorLine]
    awards: list[str]
    advice: str
    generated_at: datetime
    rank_change: int | None = None  # places moved since the year-end ranking, as on the results page


@dataclass(frozen=True)
class ProvinceRow:
    city: str
    half_year: Decimal
    q3: Decimal
    process_score: Decimal
    year_end: Decimal
    total: Decimal
    rank: int
    rank_change: int | None = None  # places moved since the year-end ranking, as on the results page


@dataclass(frozen=True)
class ProvinceReport:
    year: int
    rows: list[ProvinceRow]
    awards: dict[str, list[str]]  # key point -> cities
    fraud: list[tuple[str, str]]  # (city, indicator)
    generated_at: datetime


# --- the content both formats render ------------------------------------------------------------------

Cell = str | int | Decimal


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    widths: tuple[int, ...]  # millimetres, adding up to CONTENT_MM; the workbook scales them to characters
    rows: list[tuple[Cell, ...]]
    marked: frozenset[int] = frozenset()  # indexes of rows to flag (fraud)


@dataclass(frozen=True)
class Document:
    title: str
    summary: str
    facts: list[tuple[str, Cell]]
    tables: list[Table]
    advice: str | None  # None: the report has no advice section
    generated: str
    notice: str = ""  # said under the title, marked (e.g. that the figures were corrected, and when)


CENT = Decimal("0.01")
CITY_LIST_SEPARATOR = "、"


def shown(value: Cell) -> str:
    """A cell as text: amounts rounded half-up to 2 decimals (85.505 → '85.51'), the rest as they are."""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT, rounding=ROUND_HALF_UP))
    return str(value)
