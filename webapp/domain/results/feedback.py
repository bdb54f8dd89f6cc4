"""Who sees which results, and the feedback reports built from the approved results."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from models.db import db, utcnow
from models.evaluation import CityFeedback, EvaluationRound, PublicationKind, RoundKind
from models.org import OrgKind, OrgUnit, User
from models.scheme import KeyPoint, SchemeYear
from webapp.domain.results import document, scorecard
from webapp.domain.results import queries as results
from webapp.domain.system import queries as indicator_service


def round_visible(round_: EvaluationRound | None, user: User) -> bool:
    return round_ is not None and round_.results_visible_to(user)


def annual_visible(scheme_year_id: int, user: User) -> bool:
    annual = results.annual_result(scheme_year_id)
    return annual is not None and annual.results_visible_to(user)


def rank_changes(scheme_year: SchemeYear, view: str, current: dict[str, Any]) -> dict[str, int | None]:
    """Each city's places moved in `current` (the results of `view`: a round's or "annual") since the
    ranking before it in the year's order, as the results page shows them."""
    earlier = {k.value: r for k, r in rounds_of(scheme_year).items() if r.results is not None}
    before = scorecard.previous_view(view, [k for k in earlier if k != view])
    previous = scorecard.ranks_of(results.shown_results(earlier[before])) if before else None
    return scorecard.rank_changes(previous, scorecard.ranks_of(current))


def rounds_of(scheme_year: SchemeYear) -> dict[RoundKind, EvaluationRound]:
    found = {
        r.kind: r
        for r in db.session.scalars(
            select(EvaluationRound).where(EvaluationRound.scheme_year_id == scheme_year.id)
        )
    }
    return {k: found[k] for k in RoundKind if k in found}


def _advice(scheme_year_id: int, kind: str, city_id: int) -> str:
    row = db.session.scalar(
        select(CityFeedback).where(
            CityFeedback.scheme_year_id == scheme_year_id,
            CityFeedback.round_kind == kind,
            CityFeedback.city_id == city_id,
        )
    )
    return row.advice if row else ""


def _tree_lookup(scheme_year: SchemeYear) -> dict[str, dict[str, Any]]:
    tree = indicator_service.export_tree(scheme_year)
    return {
        i["code"]: {"dimension": d["name"], "key_point": f"{k['number']}. {k['name']}"}
        for d in tree["dimensions"]
        for lv in d["levels"]
        for k in lv["key_points"]
        for i in k["indicators"]
    }


def _key_point_names(scheme_year: SchemeYear) -> dict[str, str]:
    """Each key point's name by its number (as the annual results' awards name them)."""
    return {
        str(p.number): p.name
        for p in db.session.scalars(select(KeyPoint).where(KeyPoint.scheme_year_id == scheme_year.id))
    }


def _named(code: str, indicators: dict[str, Any]) -> str:
    """An indicator as people read it: its code and its name."""
    name = indicators.get(code, {}).get("name", "")
    return f"{code} {name}".strip()


def _lines(
    entry: dict[str, Any], indicators: dict[str, Any], where: dict[str, dict[str, Any]]
) -> list[document.IndicatorLine]:
    return [
        document.IndicatorLine(
            code=line["code"],
            name=indicators[line["code"]]["name"],
            dimension=where.get(line["code"], {}).get("dimension", ""),
            key_point=where.get(line["code"], {}).get("key_point", ""),
            weight=Decimal(indicators[line["code"]]["weight"]),
            score=Decimal(line["score"]),
            fraud=line["fraud"],
            note=line.get("reason") or "",
        )
        for line in entry["lines"]
    ]


def _dimensions(entry: dict[str, Any], weights: dict[str, Decimal]) -> list[document.DimensionLine]:
    return [
        document.DimensionLine(
            name=name,
            weight=weights.get(name, Decimal(0)),
            score=Decimal(score),
            rank=entry["dimension_ranks"][name],
        )
        for name, score in entry["dimensions"].items()
    ]


def _dimension_weights(scheme_year: SchemeYear) -> dict[str, Decimal]:
    dims = indicator_service.load_dimensions(scheme_year)
    sums = indicator_service.subtotals(dims)
    return {d.name: sums.dimensions[d.id] for d in dims}


def correction(round_: EvaluationRound, version: int | None = None) -> document.Correction | None:
    """The round's published versions when it was corrected (None if never), showing `version` (else
    the latest); NotFound naming a version the round does not have."""
    versions = results.publications(round_)
    shown = results.publication(round_, version) if version is not None else None
    if not any(v.kind == PublicationKind.CORRECTION for v in versions):
        return None
    return document.Correction(
        versions=tuple(
            document.Version(v.version, v.published_at, v.kind == PublicationKind.CORRECTION, v.reason_text)
            for v in versions
        ),
        shown=shown.version if shown is not None else versions[-1].version,
    )


def city_round_report(
    scheme_year: SchemeYear,
    round_: EvaluationRound,
    city: OrgUnit,
    now: datetime | None = None,
    version: int | None = None,
) -> document.CityRoundReport:
    """A city's feedback on a round, in the published version asked (else the latest, or as approved)."""
    data = results.shown_results(round_, version)
    entry = next(e for e in data["cities"] if e["city"] == city.code)
    return document.CityRoundReport(
        year=scheme_year.year,
        round_title=round_.kind.title,
        city=city.name,
        total=Decimal(entry["total"]),
        max_total=Decimal(data["max_total"]),
        rank=entry["rank"],
        cities=len(data["cities"]),
        dimensions=_dimensions(entry, _dimension_weights(scheme_year)),
        lines=_lines(entry, data["indicators"], _tree_lookup(scheme_year)),
        advice=_advice(scheme_year.id, round_.kind.value, city.id),
        generated_at=now or utcnow(),
        correction=correction(round_, version),
        rank_change=rank_changes(scheme_year, round_.kind.value, data).get(city.code),
    )


def city_annual_report(
    scheme_year: SchemeYear, city: OrgUnit, now: datetime | None = None
) -> document.CityAnnualReport:
    annual = results.annual_results(scheme_year.id)
    row = next(r for r in annual["cities"] if r["city"] == city.code)
    year_end = results.computed(rounds_of(scheme_year)[RoundKind.YEAR_END].results)
    entry = next(e for e in year_end["cities"] if e["city"] == city.code)
    names = _key_point_names(scheme_year)
    awards = [
        f"{kp}. {names.get(kp, '')}".strip() for kp, cities in annual["awards"].items() if city.code in cities
    ]
    return document.CityAnnualReport(
        year=scheme_year.year,
        city=city.name,
        half_year=Decimal(row["half_year"]),
        q3=Decimal(row["q3"]),
        process_score=Decimal(row["process_score"]),
        year_end=Decimal(row["year_end"]),
        total=Decimal(row["total"]),
        rank=row["rank"],
        cities=len(annual["cities"]),
        dimensions=_dimensions(entry, _dimension_weights(scheme_year)),
        lines=_lines(entry, year_end["indicators"], _tree_lookup(scheme_year)),
        awards=awards,
        advice=_advice(scheme_year.id, "annual", city.id),
        generated_at=now or utcnow(),
        rank_change=rank_changes(scheme_year, "annual", annual).get(city.code),
    )


def province_report(scheme_year: SchemeYear, now: datetime | None = None) -> document.ProvinceReport:
    annual = results.annual_results(scheme_year.id)
    names = {c.code: c.name for c in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.CITY))}
    points = _key_point_names(scheme_year)
    indicators = results.computed(rounds_of(scheme_year)[RoundKind.YEAR_END].results)["indicators"]
    changes = rank_changes(scheme_year, "annual", annual)
    return document.ProvinceReport(
        year=scheme_year.year,
        rows=[
            document.ProvinceRow(
                city=r["name"],
                half_year=Decimal(r["half_year"]),
                q3=Decimal(r["q3"]),
                process_score=Decimal(r["process_score"]),
                year_end=Decimal(r["year_end"]),
                total=Decimal(r["total"]),
                rank=r["rank"],
                rank_change=changes.get(r["city"]),
            )
            for r in annual["cities"]
        ],
        awards={
            f"{kp}. {points.get(kp, '')}".strip(): [names.get(c, c) for c in cities]
            for kp, cities in annual["awards"].items()
        },
        fraud=[
            (names.get(f["city"], f["city"]), _named(f["indicator"], indicators)) for f in annual["fraud"]
        ],
        generated_at=now or utcnow(),
    )
