"""Published stays published: publishing freezes a round's results as version 1, and fraud found later
publishes a correction beside it, with its reason, told to the cities it changed and kept in the audit;
a recomputation that changes nothing publishes nothing. And a city with fraud on a key point is not
eligible for that key point's award, as the year's rule says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from models.db import db
from models.evaluation import EvaluationRound, PublicationKind, RoundKind, Verification, VerificationResult
from models.notification import Notification
from models.org import Role, User
from models.scheme import SchemeYear
from models.workflow import AuditEvent
from tests.domain.lookup import org, user
from tests.domain.published import (
    APPROVED_AT,
    OPENED_AT,
    PUBLISHED_AT,
    STEP,
    approve_the_year,
    fraud_indicator,
    no_advice,
    publish_half_year,
    score_round,
)
from webapp.domain.results import queries as results
from webapp.domain.rounds import operations as rounds


def ranks(data: dict) -> dict[str, int]:
    return {e["city"]: e["rank"] for e in data["cities"]}


def test_publishing_a_round_freezes_what_was_published_as_version_1(year):
    half = publish_half_year(year)
    [first] = results.publications(half)
    assert (first.version, first.kind, first.published_at) == (1, PublicationKind.PUBLICATION, PUBLISHED_AT)
    assert first.published_by_id == user("office").id and first.results == half.results
    rounds.publish_round(half, no_advice(), user("office"), APPROVED_AT)
    assert len(results.publications(half)) == 1, "the same figures published again are the same version"


def test_fraud_found_after_the_half_years_publication_publishes_a_correction(year):
    half = publish_half_year(year)
    first_figures = ranks(half.results)
    cities = [c.code for c in results.cities()]
    assert list(first_figures.values()) == list(range(1, 15)) and list(first_figures) == cities
    indicator, cheat = fraud_indicator(year), org("dalian")

    approve_the_year(year, (indicator, cheat))

    first, correction = results.publications(half)
    assert ranks(first.results) == first_figures, "the first publication is kept as published"
    assert Decimal(next(e for e in first.results["cities"] if e["city"] == "dalian")["total"]) == 1000 - STEP
    assert (correction.version, correction.kind, correction.published_at) == (
        2,
        PublicationKind.CORRECTION,
        APPROVED_AT,
    )
    assert correction.published_by_id == user("leader").id
    assert "大连市" in correction.reason_text and indicator.code in correction.reason_text
    assert half.results == correction.results, "the round's results are its latest publication"
    corrected = ranks(correction.results)
    assert corrected["dalian"] == 14 and corrected["shenyang"] == 1
    # dalian fell from 2nd to 14th; every city below it moved up one; shenyang kept its place and figures
    assert set(correction.cities) == set(cities) - {"shenyang"}
    assert (
        results.shown_results(half, 1) == first.results and results.shown_results(half) == correction.results
    )

    told = db.session.scalars(select(Notification).where(Notification.kind == "results_corrected")).all()
    city_users = {
        u.id: u.org.root().code
        for u in db.session.scalars(select(User))
        if u.has_role(Role.CITY) and u.active
    }
    assert {n.user_id for n in told} == {uid for uid, code in city_users.items() if code != "shenyang"}
    assert all(n.params["findings"].startswith("大连市 · " + indicator.code) for n in told)
    dalian = next(n for n in told if city_users[n.user_id] == "dalian")
    assert dalian.link == "/results/2012/half_year/city/dalian"

    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.corrected")).all()
    assert event.actor_id == user("leader").id and event.at == APPROVED_AT
    assert event.detail["round"] == "half_year" and event.detail["version"] == 2
    assert event.detail["fraud"] == [{"city": "dalian", "indicator": indicator.code}]
    assert event.detail["cities"] == correction.cities

    year_end = EvaluationRound.find(year.id, RoundKind.YEAR_END)
    assert results.publications(year_end) == [], "the year-end round is published later, already corrected"


def test_a_round_published_before_versions_were_kept_keeps_its_first_figures_too(year):
    half = publish_half_year(year)
    published = half.results
    for version in results.publications(half):
        db.session.delete(version)  # as a round published before this revision, without its backfill
    db.session.flush()
    approve_the_year(year, (fraud_indicator(year), org("dalian")))
    first, correction = results.publications(half)
    assert (first.version, first.kind, first.published_at, first.published_by_id) == (
        1,
        PublicationKind.PUBLICATION,
        PUBLISHED_AT,
        None,
    )
    assert first.results == published and correction.version == 2


def test_a_recomputation_that_changes_nothing_publishes_no_correction(year):
    half = publish_half_year(year)
    published = half.results
    approve_the_year(year, None)
    assert [p.version for p in results.publications(half)] == [1]
    assert half.results == published
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.corrected")).all()
    assert not db.session.scalars(select(Notification).where(Notification.kind == "results_corrected")).all()


def test_a_city_with_fraud_on_a_key_point_is_not_eligible_for_its_award(year: SchemeYear):
    """The cheat ties the best city on the key point (the others lose more elsewhere in it): with one
    place to give, the tie would name both; the year's rule leaves the cheat out."""
    point = next(
        p
        for p in sorted({i.key_point for i in year.indicators()}, key=lambda p: p.number)
        if len({i.weight for i in p.indicators}) >= 2
    )
    small = min(point.indicators, key=lambda i: i.weight)
    large = max(point.indicators, key=lambda i: i.weight)
    cheat = org("dalian")
    round_ = rounds.open_round(
        year, RoundKind.YEAR_END, date(2012, 12, 20), date(2012, 12, 28), user("office"), OPENED_AT
    )
    lost = {
        (large.code, c.code): large.weight for c in results.cities() if c.code not in ("dalian", "shenyang")
    }
    lost[large.code, "shenyang"] = small.weight  # the same as dalian loses once fraud zeroes `small`
    score_round(year, round_, lost)
    db.session.add(
        Verification(
            scheme_year_id=year.id, indicator_id=small.id, city_id=cheat.id, result=VerificationResult.FRAUD
        )
    )
    db.session.flush()
    kp_scores = results.compute_round(round_)["key_points"][str(point.number)]
    assert Decimal(kp_scores["dalian"]) == Decimal(kp_scores["shenyang"]), "the cheat ties the best city"

    assert year.fraud_bars_award, "the rule is on by default"
    barred = results.compute_annual(year, [point.number], 1)
    assert barred["awards"] == {str(point.number): ["shenyang"]}
    assert barred["award_ineligible"] == {str(point.number): ["dalian"]}

    year.fraud_bars_award = False
    allowed = results.compute_annual(year, [point.number], 1)
    assert allowed["awards"] == {str(point.number): ["dalian", "shenyang"]}
    assert allowed["award_ineligible"] == {}
