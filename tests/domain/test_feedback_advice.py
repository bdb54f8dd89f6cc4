"""A round's (and the year's) feedback gives every city its advice, or the office's explicit choice of
none: a city left empty, a missing row or no rows at all are refused, naming the row, and nothing
is published or written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.db import db
from models.evaluation import CityFeedback, EvaluationRound, RoundKind, RoundStatus
from models.scheme import SchemeYear
from tests.domain.lookup import count, user
from webapp.domain import errors
from webapp.domain.results import queries as results
from webapp.domain.rounds import operations as rounds
from webapp.domain.rounds import queries

JUNE = datetime(2012, 7, 1, 2, 0, tzinfo=UTC)


def approved(year: SchemeYear) -> EvaluationRound:
    round_ = EvaluationRound(
        scheme_year_id=year.id,
        kind=RoundKind.HALF_YEAR,
        status=RoundStatus.APPROVED,
        report_deadline=JUNE,
        score_deadline=JUNE,
    )
    db.session.add(round_)
    db.session.flush()
    return round_


def advice() -> list[dict]:
    return [
        {"city": c.short_name, "advice": f"{c.short_name}：加强数据质量", "no_advice": False}
        for c in results.cities()
    ]


def publish(year: SchemeYear, rows: list[dict]) -> None:
    rounds.publish_round(approved(year), rows, user("office"), JUNE)


def write_for_the_year(year: SchemeYear, rows: list[dict]) -> None:
    rounds.write_year_advice(year, rows, user("office"), JUNE)


VERBS = pytest.mark.parametrize("verb", [publish, write_for_the_year], ids=["round", "year"])


@VERBS
def test_feedback_with_no_rows_is_refused_and_nothing_is_written(year, verb):
    with pytest.raises(errors.Invalid) as refused:
        verb(year, [])
    assert list(refused.value.fields) == [""]
    assert "无整改建议" in refused.value.fields[""][0]
    assert count(CityFeedback) == 0


def test_a_round_refused_for_its_advice_is_not_published(year):
    round_ = approved(year)
    with pytest.raises(errors.Invalid):
        rounds.publish_round(round_, [], user("office"), JUNE)
    assert round_.status == RoundStatus.APPROVED and round_.published_at is None


@VERBS
def test_a_city_left_without_advice_is_refused_naming_its_row(year, verb):
    rows = advice()
    rows[3]["advice"] = "  \n "
    with pytest.raises(errors.Invalid) as refused:
        verb(year, rows)
    assert list(refused.value.fields) == ["rows-3-advice"]
    [message] = refused.value.fields["rows-3-advice"]
    assert message.startswith(rows[3]["city"]) and "无整改建议" in message
    assert count(CityFeedback) == 0


@VERBS
def test_advice_and_no_advice_together_are_refused(year, verb):
    rows = advice()
    rows[5]["no_advice"] = True
    with pytest.raises(errors.Invalid) as refused:
        verb(year, rows)
    assert list(refused.value.fields) == ["rows-5-no_advice"]


@VERBS
@pytest.mark.parametrize(
    "change", [lambda rows: rows[:-1], lambda rows: [*rows[:-1], rows[0]]], ids=["missing", "twice"]
)
def test_a_missing_or_repeated_city_is_refused(year, verb, change):
    with pytest.raises(errors.Invalid) as refused:
        verb(year, change(advice()))
    assert refused.value.fields == {"": ["城市列表已变化，请刷新页面。"]}


def test_no_advice_chosen_for_a_city_publishes_it_with_none(year):
    rows = advice()
    rows[3].update(advice="", no_advice=True)
    round_ = approved(year)
    rounds.publish_round(round_, rows, user("office"), JUNE)
    assert round_.status == RoundStatus.PUBLISHED
    city = queries.cities_by_name()[rows[3]["city"]]
    assert queries.city_feedback(year.id, "half_year", city.id).advice == ""
    assert count(CityFeedback) == 14


def test_the_year_keeps_each_citys_advice_or_none(year):
    rows = advice()
    rows[0].update(advice="", no_advice=True)
    write_for_the_year(year, rows)
    kept = {f.city_id: f.advice for f in db.session.query(CityFeedback).filter_by(round_kind="annual")}
    cities = queries.cities_by_name()
    assert kept[cities[rows[0]["city"]].id] == ""
    assert kept[cities[rows[1]["city"]].id] == rows[1]["advice"]
