"""Reading a year's indicator system as one tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models.db import db
from models.i18n import lazy_gettext as _l
from models.scheme import Dimension, Indicator, KeyPoint, Level, Scheme, SchemeYear
from webapp.domain.errors import NotFound


def find_scheme_year(scheme_code: str, year: int) -> SchemeYear:
    """Return the scheme's year or raise NotFound with a sentence."""
    scheme = Scheme.by_code(scheme_code)
    scheme_year = SchemeYear.find(scheme, year) if scheme else None
    if scheme_year is None:
        raise NotFound(f"no indicator system for scheme {scheme_code!r} and year {year}")
    return scheme_year


def list_years(scheme_code: str) -> list[int]:
    scheme = Scheme.by_code(scheme_code)
    if scheme is None:
        return []
    return list(
        db.session.scalars(
            select(SchemeYear.year).where(SchemeYear.scheme_id == scheme.id).order_by(SchemeYear.year)
        )
    )


def load_dimensions(scheme_year: SchemeYear) -> list[Dimension]:
    """The year's dimensions with levels, key points, indicators and owners loaded in a few queries."""
    return list(
        db.session.scalars(
            select(Dimension)
            .where(Dimension.scheme_year_id == scheme_year.id)
            .order_by(Dimension.number)
            .options(
                selectinload(Dimension.levels)
                .selectinload(Level.key_points)
                .selectinload(KeyPoint.indicators)
                .options(selectinload(Indicator.owner), selectinload(Indicator.co_owner_rows))
            )
        )
    )


@dataclass
class Subtotals:
    """Weight and indicator count per tier, keyed by the tier object's id."""

    dimensions: dict[int, Decimal] = field(default_factory=dict)
    levels: dict[int, Decimal] = field(default_factory=dict)
    key_points: dict[int, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    total: Decimal = Decimal(0)


def subtotals(dimensions: list[Dimension]) -> Subtotals:
    sums = Subtotals()
    n_levels = n_points = n_indicators = 0
    for d in dimensions:
        sums.dimensions[d.id] = Decimal(0)
        for lv in d.levels:
            n_levels += 1
            sums.levels[lv.id] = Decimal(0)
            for kp in lv.key_points:
                n_points += 1
                weight = sum((i.weight for i in kp.indicators), Decimal(0))
                n_indicators += len(kp.indicators)
                sums.key_points[kp.id] = weight
                sums.levels[lv.id] += weight
                sums.dimensions[d.id] += weight
        sums.total += sums.dimensions[d.id]
    sums.counts = {
        "dimensions": len(dimensions),
        "levels": n_levels,
        "key_points": n_points,
        "indicators": n_indicators,
    }
    return sums


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def export_tree(scheme_year: SchemeYear) -> dict:
    """The year's system as plain data (the `indicators export` JSON shape)."""
    dimensions = load_dimensions(scheme_year)
    sums = subtotals(dimensions)
    return {
        "year": scheme_year.year,
        "scheme": scheme_year.scheme.code,
        "status": scheme_year.status.value,
        "total_weight": _number(sums.total),
        "dimensions": [
            {
                "code": d.code,
                "number": d.number,
                "name": d.name,
                "weight": _number(sums.dimensions[d.id]),
                "levels": [
                    {
                        "code": lv.code,
                        "number": lv.number,
                        "name": lv.name,
                        "weight": _number(sums.levels[lv.id]),
                        "key_points": [
                            {
                                "number": kp.number,
                                "name": kp.name,
                                "weight": _number(sums.key_points[kp.id]),
                                "indicators": [
                                    {
                                        "code": i.code,
                                        "name": i.name,
                                        "weight": _number(i.weight),
                                        "owner_department": i.owner.code,
                                        "co_owners": [o.code for o in i.co_owners],
                                        "unit": i.unit,
                                        "scoring_rule": i.scoring_rule,
                                    }
                                    for i in kp.indicators
                                ],
                            }
                            for kp in lv.key_points
                        ],
                    }
                    for lv in d.levels
                ],
            }
            for d in dimensions
        ],
    }


def matching_indicator_ids(dimensions: list[Dimension], query: str) -> set[int] | None:
    """Ids of indicators whose code, name, owner or key point contains the query; None for no query."""
    if not query:
        return None
    needle = query.casefold()
    found: set[int] = set()
    for d in dimensions:
        for lv in d.levels:
            for kp in lv.key_points:
                for i in kp.indicators:
                    haystack = " ".join(
                        (i.code, i.name, i.owner.name, i.owner.short_name, kp.name, lv.name, d.name)
                    )
                    if needle in haystack.casefold():
                        found.add(i.id)
    return found


def points_text(value: Decimal) -> str:
    """A weight as people write it: 14 → '14分', 7.5 → '7.5分'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return str(_l("%(points)s points", points=text))


@dataclass
class Comparison:
    added: list[dict]
    removed: list[dict]
    reweighted: list[tuple[dict, dict]]
    renamed: list[tuple[dict, dict]]
    moved: list[tuple[dict, dict]]


def _flat(tree: dict) -> dict[str, dict]:
    out = {}
    for d in tree["dimensions"]:
        for lv in d["levels"]:
            for kp in lv["key_points"]:
                for ind in kp["indicators"]:
                    out[ind["code"]] = {**ind, "key_point": kp["number"], "key_point_name": kp["name"]}
    return out


def compare_trees(current: dict, previous: dict) -> Comparison:
    """What changed from the previous year's system to this one, matched by indicator code."""
    now, before = _flat(current), _flat(previous)
    common = sorted(set(now) & set(before))
    return Comparison(
        added=[now[c] for c in sorted(set(now) - set(before))],
        removed=[before[c] for c in sorted(set(before) - set(now))],
        reweighted=[(before[c], now[c]) for c in common if before[c]["weight"] != now[c]["weight"]],
        renamed=[(before[c], now[c]) for c in common if before[c]["name"] != now[c]["name"]],
        moved=[(before[c], now[c]) for c in common if before[c]["key_point"] != now[c]["key_point"]],
    )


def key_points(scheme_year: SchemeYear) -> list[KeyPoint]:
    return list(
        db.session.scalars(
            select(KeyPoint).where(KeyPoint.scheme_year_id == scheme_year.id).order_by(KeyPoint.number)
        )
    )
