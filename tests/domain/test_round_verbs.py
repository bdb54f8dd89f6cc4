"""The rounds' verbs called directly, with no process and no task: a round runs on them alone, and each
refuses what its rules forbid, naming the field, with nothing written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from models.db import db
from models.evaluation import (
    AnnualResult,
    CityFeedback,
    EvaluationRound,
    RoundKind,
    RoundStatus,
    Score,
    SelfReportItem,
    Submission,
    Verification,
)
from models.org import OrgKind, OrgUnit
from models.scheme import Indicator, SchemeYear
from models.workflow import ProcessInstance
from tests.domain.lookup import count, org, user
from webapp.domain import errors
from webapp.domain.results import queries as results
from webapp.domain.rounds import operations as rounds

JUNE = datetime(2012, 6, 1, 2, 0, tzinfo=UTC)


def owners(year: SchemeYear) -> list[OrgUnit]:
    ids = set(db.session.scalars(select(Indicator.owner_id).where(Indicator.scheme_year_id == year.id)))
    return [
        o
        for o in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT))
        if o.id in ids
    ]


def full_marks(year: SchemeYear, department: OrgUnit) -> list[dict]:
    return [
        {"code": i.code, "city": c.short_name, "score": str(i.weight), "reason": ""}
        for i in year.indicators()
        if i.owner_id == department.id
        for c in results.cities()
    ]


def opened(year: SchemeYear, kind: RoundKind = RoundKind.HALF_YEAR) -> EvaluationRound:
    return rounds.open_round(year, kind, date(2012, 6, 20), date(2012, 6, 28), user("office"), JUNE)


def test_a_round_runs_on_its_verbs_alone(year):
    round_ = opened(year)
    assert round_.status == RoundStatus.OPEN and round_.report_deadline.date() == date(2012, 6, 20)
    completion = [{"code": i.code, "completion": "100%", "narrative": ""} for i in year.indicators()]
    for city in results.cities():
        rounds.submit_self_report(round_, city, completion, user(city.code), JUNE)
    departments = owners(year)
    deducted = departments[0]
    for department in departments:
        rows = full_marks(year, department)
        if department is deducted:
            weight = Decimal(rows[0]["score"])
            rows[0].update(score=str(weight - 1), reason="进度滞后")
        rounds.submit_scores(round_, department, rows, user(department.code), JUNE)

    rounds.approve_round(round_, user("leader"), JUNE)
    totals = {e["city"]: Decimal(e["total"]) for e in round_.results["cities"]}
    lowered = next(c for c in results.cities() if c.short_name == full_marks(year, deducted)[0]["city"])
    assert totals[lowered.code] == Decimal(1000) - 1
    assert {t for code, t in totals.items() if code != lowered.code} == {Decimal(1000)}
    ranks = {e["city"]: e["rank"] for e in round_.results["cities"]}
    assert ranks[lowered.code] == 14 and set(ranks.values()) == {1, 14}

    advice = [{"city": c.short_name, "advice": f"{c.short_name}：继续保持"} for c in results.cities()]
    rounds.publish_round(round_, advice, user("office"), JUNE)
    assert round_.status == RoundStatus.PUBLISHED and round_.published_at is not None
    assert count(CityFeedback) == 14
    assert count(SelfReportItem) == 14 * len(completion)
    assert count(ProcessInstance) == 0, "no process was needed"


def test_scores_break_no_rule_and_a_refused_grid_writes_nothing(year):
    round_ = opened(year)
    department = owners(year)[0]
    rows = full_marks(year, department)
    actor = user(department.code)

    above = [dict(rows[0], score=str(Decimal(rows[0]["score"]) + 1)), *rows[1:]]
    with pytest.raises(errors.Invalid) as refused:
        rounds.submit_scores(round_, department, above, actor, JUNE)
    assert list(refused.value.fields) == ["rows-0-score"]

    unexplained = [*rows[:-1], dict(rows[-1], score="0")]
    with pytest.raises(errors.Invalid) as refused:
        rounds.submit_scores(round_, department, unexplained, actor, JUNE)
    assert list(refused.value.fields) == [f"rows-{len(rows) - 1}-reason"]

    with pytest.raises(errors.Invalid) as refused:
        rounds.submit_scores(round_, department, rows[1:], actor, JUNE)
    assert "" in refused.value.fields, "a grid that misses a row is refused as a whole"

    with pytest.raises(errors.Forbidden):
        rounds.submit_scores(round_, department, rows, user("shenyang"), JUNE)
    other = owners(year)[1]
    with pytest.raises(errors.Forbidden):
        rounds.submit_scores(round_, other, full_marks(year, other), actor, JUNE)
    assert count(Score) == 0 and count(Submission) == 0

    submission = rounds.submit_scores(round_, department, rows, actor, JUNE)
    again = rounds.submit_scores(round_, department, rows, actor, JUNE)
    assert again.id == submission.id and again.submissions == 2 and count(Score) == len(rows)
    assert set(db.session.scalars(select(Score.changes))) == {0}, "the same scores again change nothing"


def test_approval_waits_for_every_score_and_only_the_leadership_approves(year):
    round_ = opened(year)
    department = owners(year)[0]
    rounds.submit_scores(round_, department, full_marks(year, department), user(department.code), JUNE)
    with pytest.raises(errors.Forbidden):
        rounds.approve_round(round_, user("office"), JUNE)
    with pytest.raises(errors.Conflict) as refused:
        rounds.approve_round(round_, user("leader"), JUNE)
    assert str(len(year.indicators()) * 14 - len(full_marks(year, department))) in refused.value.message
    assert round_.status == RoundStatus.OPEN and round_.results is None


def test_a_self_report_names_every_indicator_and_only_its_city_reports(year):
    round_ = opened(year)
    city = org("shenyang")
    rows = [{"code": i.code, "completion": "100%"} for i in year.indicators()]
    with pytest.raises(errors.Invalid) as refused:
        rounds.submit_self_report(
            round_, city, [*rows[:-1], dict(rows[-1], completion=" ")], user("shenyang"), JUNE
        )
    assert list(refused.value.fields) == [f"rows-{len(rows) - 1}-completion"]
    with pytest.raises(errors.Forbidden):
        rounds.submit_self_report(round_, city, rows, user("dalian"), JUNE)
    assert count(SelfReportItem) == 0
    late = rounds.submit_self_report(round_, city, rows, user("shenyang"), datetime(2012, 6, 21, tzinfo=UTC))
    assert late.late


def test_fraud_found_at_verification_zeroes_the_indicator_for_the_whole_year(year):
    departments = owners(year)
    for kind in (RoundKind.HALF_YEAR, RoundKind.YEAR_END):
        round_ = opened(year, kind)
        for department in departments:
            rounds.submit_scores(
                round_, department, full_marks(year, department), user(department.code), JUNE
            )
        if kind == RoundKind.HALF_YEAR:
            rounds.approve_round(round_, user("leader"), JUNE)
    cheat = departments[0]
    verified = [
        {"code": r["code"], "city": r["city"], "result": "verified", "note": ""}
        for r in full_marks(year, cheat)
    ]
    verified[0].update(result="fraud", note="台账与实际不符")
    with pytest.raises(errors.Invalid) as refused:
        rounds.record_verification(
            year,
            cheat,
            [dict(verified[1], result="maybe"), *verified[2:], verified[0]],
            user(cheat.code),
            JUNE,
        )
    assert list(refused.value.fields) == ["rows-0-result"] and count(Verification) == 0
    assert rounds.record_verification(year, cheat, verified, user(cheat.code), JUNE) == 1

    rounds.propose_awards(year, [9, 15], 3, "表彰前三名", user("office"))
    annual = rounds.approve_year(year, user("leader"), JUNE)
    city = next(c for c in results.cities() if c.short_name == verified[0]["city"])
    weight = next(i.weight for i in year.indicators() if i.code == verified[0]["code"])
    for kind in (RoundKind.HALF_YEAR, RoundKind.YEAR_END):
        entry = next(
            e for e in EvaluationRound.find(year.id, kind).results["cities"] if e["city"] == city.code
        )
        line = next(line for line in entry["lines"] if line["code"] == verified[0]["code"])
        assert line["fraud"] and Decimal(line["score"]) == 0, kind
        assert Decimal(entry["total"]) == 1000 - weight
    row = next(r for r in annual.results["cities"] if r["city"] == city.code)
    assert Decimal(row["year_end"]) == 1000 - weight and annual.approved_at == JUNE
    assert db.session.get(AnnualResult, annual.id).proposal == "表彰前三名"


def test_the_years_feedback_is_acknowledged_only_by_its_city(year):
    advice = [{"city": c.short_name, "advice": "加强数据质量"} for c in results.cities()]
    with pytest.raises(errors.Forbidden):
        rounds.write_year_advice(year, advice, user("shenyang"), JUNE)
    rounds.write_year_advice(year, advice, user("office"), JUNE)
    with pytest.raises(errors.Forbidden):
        rounds.acknowledge_feedback(year, org("shenyang"), user("dalian"), JUNE)
    rounds.acknowledge_feedback(year, org("shenyang"), user("shenyang"), JUNE)
    acknowledged = db.session.scalars(
        select(CityFeedback).where(CityFeedback.acknowledged_at.is_not(None))
    ).all()
    assert [f.city_id for f in acknowledged] == [org("shenyang").id]
