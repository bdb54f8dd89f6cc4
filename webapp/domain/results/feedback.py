"""Who sees which results, and the feedback reports built from the approved results."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from models.db import db, utcnow
from models.evaluation import CityFeedback, EvaluationRound, RoundKind
from models.org import OrgKind, OrgUnit, User
from models.scheme import KeyPoint, SchemeYear
from webapp.domain.results import document
from webapp.domain.results import queries as results
from webapp.domain.system import queries as indicator_service


def round_visible(round_: EvaluationRound | None, user: User) -> bool:
    return round_ is not None and round_.results_visible_to(user)


def annual_visible(scheme_year_id: int, user: User) -> bool:
    annual = results.annual_result(scheme_year_id)
    return annual is not None and annual.results_visible_to(user)


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


def city_round_report(
    scheme_year: SchemeYear, round_: EvaluationRound, city: OrgUnit, now: datetime | None = None
) -> document.CityRoundReport:
    data = results.computed(round_.results)
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
    )


def city_annual_report(
    scheme_year: SchemeYear, city: OrgUnit, now: datetime | None = None
) -> document.CityAnnualReport:
    annual = results.annual_results(scheme_year.id)
    row = next(r for r in annual["cities"] if r["city"] == city.code)
    year_end = results.computed(rounds_of(scheme_year)[RoundKind.YEAR_END].results)
    entry = next(e for e in year_end["cities"] if e["city"] == city.code)
    names = {
        str(p.number): p.name
        for p in db.session.scalars(select(KeyPoint).where(KeyPoint.scheme_year_id == scheme_year.id))
    }
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
    )


def province_report(scheme_year: SchemeYear, now: datetime | None = None) -> document.ProvinceReport:
    annual = results.annual_results(scheme_year.id)
    names = {c.code: c.name for c in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.CITY))}
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
            )
            for r in annual["cities"]
        ],
        awards={kp: [names.get(c, c) for c in cities] for kp, cities in annual["awards"].items()},
        fraud=[(names.get(f["city"], f["city"]), f["indicator"]) for f in annual["fraud"]],
        generated_at=now or utcnow(),
    )
