"""Computing a round's and a year's results from the score tables with the plan's rules."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from models.db import db, load
from models.evaluation import (
    AnnualResult,
    EvaluationRound,
    RoundKind,
    RoundPublication,
    RoundStatus,
    Score,
    Verification,
    VerificationResult,
)
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit
from models.rules import scoring
from models.scheme import Indicator, SchemeYear
from webapp.domain.errors import NotFound


def cities() -> list[OrgUnit]:
    return list(
        db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.CITY).order_by(OrgUnit.sort_order))
    )


def fraud_pairs(scheme_year_id: int) -> set[tuple[int, int]]:
    """(indicator id, city id) where verification found fraud: zero for the whole year."""
    return set(
        db.session.execute(
            select(Verification.indicator_id, Verification.city_id).where(
                Verification.scheme_year_id == scheme_year_id, Verification.result == VerificationResult.FRAUD
            )
        )
        .tuples()
        .all()
    )


def _d(value: Decimal) -> str:
    return str(value)


def compute_round(round_: EvaluationRound) -> dict[str, Any]:
    """Totals, ranks, dimension scores and lost points of every city in a round (exact values as text)."""
    year = load(SchemeYear, round_.scheme_year_id)
    indicators = year.indicators()
    by_id = {i.id: i for i in indicators}
    fraud = fraud_pairs(year.id)
    scores = {
        (s.indicator_id, s.city_id): s
        for s in db.session.scalars(select(Score).where(Score.round_id == round_.id))
    }
    out_cities: list[dict[str, Any]] = []
    totals: dict[str, Decimal] = {}
    dimension_scores: dict[str, dict[str, Decimal]] = {}
    key_point_scores: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for city in cities():
        lines: list[dict[str, Any]] = []
        dims: dict[str, Decimal] = defaultdict(Decimal)
        for ind in indicators:
            row = scores.get((ind.id, city.id))
            raw = row.score if row is not None else Decimal(0)
            is_fraud = (ind.id, city.id) in fraud
            effective = scoring.effective_score(raw, ind.weight, is_fraud)
            dims[ind.key_point.level.dimension.name] += effective
            key_point_scores[ind.key_point.number][city.code] = (
                key_point_scores[ind.key_point.number].get(city.code, Decimal(0)) + effective
            )
            lines.append(
                {
                    "code": ind.code,
                    "score": _d(effective),
                    "lost": _d(scoring.lost_points(ind.weight, effective)),
                    "fraud": is_fraud,
                    "reason": row.reason if row is not None else "",
                    "missing": row is None,
                }
            )
        total = scoring.round_total({line["code"]: Decimal(line["score"]) for line in lines})
        totals[city.code] = total
        dimension_scores[city.code] = dict(dims)
        out_cities.append(
            {
                "city": city.code,
                "name": city.name,
                "total": _d(total),
                "dimensions": {k: _d(v) for k, v in dims.items()},
                "lines": lines,
            }
        )
    ranks = scoring.competition_ranks(totals)
    by_dimension = scoring.dimension_ranks(dimension_scores)
    for entry in out_cities:
        entry["rank"] = ranks[entry["city"]]
        entry["dimension_ranks"] = {d: by_dimension[d][entry["city"]] for d in entry["dimensions"]}
    return {
        "round": round_.kind.value,
        "max_total": _d(sum((i.weight for i in indicators), Decimal(0))),
        "cities": sorted(out_cities, key=lambda e: (e["rank"], e["city"])),
        "key_points": {str(k): {c: _d(v) for c, v in cs.items()} for k, cs in key_point_scores.items()},
        "indicators": {i.code: {"name": by_id[i.id].name, "weight": _d(i.weight)} for i in indicators},
    }


def award_barred(year: SchemeYear) -> dict[int, set[str]]:
    """Key point number → the cities with fraud found on any of its indicators (the year's award rule)."""
    point_of = {i.id: i.key_point.number for i in year.indicators()}
    code_of = {c.id: c.code for c in cities()}
    barred: dict[int, set[str]] = defaultdict(set)
    for indicator_id, city_id in fraud_pairs(year.id):
        if indicator_id in point_of and city_id in code_of:
            barred[point_of[indicator_id]].add(code_of[city_id])
    return dict(barred)


def compute_annual(year: SchemeYear, award_key_points: list[int], top_n: int) -> dict[str, Any]:
    """The annual total of each city: process (the scheme's rule over half-year and Q3) × w + year-end × w."""
    rounds = {k: EvaluationRound.find(year.id, k) for k in RoundKind}
    # Fraud zeroes the indicator in every round, so the process rounds are recomputed with it.
    computed = {k: compute_round(r) for k, r in rounds.items() if r is not None}
    totals_of = {k: {c["city"]: Decimal(c["total"]) for c in v["cities"]} for k, v in computed.items()}
    rows: list[dict[str, Any]] = []
    annual: dict[str, Decimal] = {}
    for city in cities():
        half = totals_of.get(RoundKind.HALF_YEAR, {}).get(city.code, Decimal(0))
        q3 = totals_of.get(RoundKind.Q3, {}).get(city.code, Decimal(0))
        year_end = totals_of.get(RoundKind.YEAR_END, {}).get(city.code, Decimal(0))
        process = scoring.process_score(half, q3, year.process_rule)
        total = scoring.annual_total(process, year_end, year.process_weight, year.year_end_weight)
        annual[city.code] = total
        rows.append(
            {
                "city": city.code,
                "name": city.name,
                "half_year": _d(half),
                "q3": _d(q3),
                "process_score": _d(process),
                "year_end": _d(year_end),
                "total": _d(total),
            }
        )
    ranks = scoring.competition_ranks(annual)
    for row in rows:
        row["rank"] = ranks[row["city"]]
    year_end_round = computed.get(RoundKind.YEAR_END)
    awards: dict[str, list[str]] = {}
    ineligible: dict[int, set[str]] = {}
    if year_end_round and award_key_points:
        kp_scores = {
            int(k): {c: Decimal(v) for c, v in cs.items()} for k, cs in year_end_round["key_points"].items()
        }
        designated = [k for k in award_key_points if k in kp_scores]
        barred = award_barred(year) if year.fraud_bars_award else {}
        ineligible = {k: barred[k] for k in designated if k in barred}
        awards = {
            str(k): v for k, v in scoring.excellence_awards(kp_scores, designated, top_n, ineligible).items()
        }
    return {
        "year": year.year,
        "process_rule": year.process_rule,
        "process_weight": _d(year.process_weight),
        "year_end_weight": _d(year.year_end_weight),
        "fraud_bars_award": year.fraud_bars_award,
        "cities": sorted(rows, key=lambda r: (r["rank"], r["city"])),
        "awards": awards,
        "award_ineligible": {str(k): sorted(v) for k, v in ineligible.items()},
        "fraud": sorted(
            [
                {
                    "city": load(OrgUnit, city_id).code,
                    "indicator": load(Indicator, ind_id).code,
                }
                for ind_id, city_id in fraud_pairs(year.id)
            ],
            key=lambda f: (f["city"], f["indicator"]),
        ),
    }


def annual_result(scheme_year_id: int) -> AnnualResult | None:
    return db.session.scalar(select(AnnualResult).where(AnnualResult.scheme_year_id == scheme_year_id))


def computed(results: dict[str, Any] | None) -> dict[str, Any]:
    """Results that were computed (a report or page of them is reached only after approval)."""
    if results is None:
        raise NotFound(str(_l("These results have not been approved yet.")))
    return results


def annual_results(scheme_year_id: int) -> dict[str, Any]:
    """The year's computed annual results (NotFound before the year is approved)."""
    annual = annual_result(scheme_year_id)
    return computed(annual.results if annual is not None else None)


# ---------------------------------------------------------------- what was published


def publications(round_: EvaluationRound) -> list[RoundPublication]:
    """The round's published versions, first to latest."""
    return list(
        db.session.scalars(
            select(RoundPublication)
            .where(RoundPublication.round_id == round_.id)
            .order_by(RoundPublication.version)
        )
    )


def publication(round_: EvaluationRound, version: int | None = None) -> RoundPublication | None:
    """The asked version of a published round (NotFound naming it if there is none), else its latest
    (None while the round is unpublished)."""
    versions = publications(round_)
    if version is None:
        return versions[-1] if versions else None
    found = next((p for p in versions if p.version == version), None)
    if found is None:
        raise NotFound(str(_l("The results have no version %(version)d.", version=version)))
    return found


def shown_results(round_: EvaluationRound, version: int | None = None) -> dict[str, Any]:
    """A round's results as published (the asked version, else the latest), or as approved while the
    round is not yet published (what the office and the leadership see before publication)."""
    published = publication(round_, version) if round_.status == RoundStatus.PUBLISHED else None
    if published is None and version is not None:
        raise NotFound(str(_l("The results have no version %(version)d.", version=version)))
    return published.results if published is not None else computed(round_.results)


def changed_cities(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The cities whose published figures differ between two results: a total, a rank, a dimension,
    or an indicator's score or fraud mark; in the order of `after`."""

    def figures(entry: dict[str, Any]) -> tuple[Any, ...]:
        # as numbers: "30.00" and "30" are the same figure
        lines = {line["code"]: (Decimal(line["score"]), line["fraud"]) for line in entry.get("lines", [])}
        dimensions = {name: Decimal(value) for name, value in entry.get("dimensions", {}).items()}
        return Decimal(entry["total"]), entry["rank"], dimensions, entry.get("dimension_ranks"), lines

    earlier = {e["city"]: figures(e) for e in before.get("cities", [])}
    return [e["city"] for e in after.get("cities", []) if earlier.get(e["city"]) != figures(e)]


def new_fraud(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    """(city code, indicator code) marked as fraud in `after` and not in `before`."""
    marked = {
        (e["city"], line["code"]) for e in before.get("cities", []) for line in e["lines"] if line["fraud"]
    }
    return [
        (e["city"], line["code"])
        for e in after.get("cities", [])
        for line in e["lines"]
        if line["fraud"] and (e["city"], line["code"]) not in marked
    ]
