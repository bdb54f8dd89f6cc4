"""What the office and the leadership decide on: the review's matrix of every score beside the city's
self-report with its flags, the return form preselecting the flagged parties, the approvals' ranking,
fraud, awards and changes by name, the declaration's note, and decisions that are never preselected.
Each test stops a simulated year (the session's snapshot) where the decision waits."""

from __future__ import annotations

import re
import time
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from models.db import db
from models.evaluation import (
    EvaluationRound,
    RoundKind,
    Score,
    SelfReportItem,
    Verification,
    VerificationResult,
)
from models.formation import Declaration
from models.org import OrgUnit, User
from models.rules import scoring
from models.scheme import Indicator, KeyPoint, SchemeYear
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from tests.snapshots import simulate_once
from webapp.domain import errors
from webapp.domain.process import tasks as task_service
from webapp.domain.results import queries as results
from webapp.domain.rounds import review
from workflows import engine, forms
from workflows.forms.generic import ApprovalForm

PLANTED_REASON = "台账缺失，无法核实。"
NOTE = "本部门共申报7项指标，附依据文件。"
BASIS = "《辽宁省国民经济和社会发展第十二个五年规划纲要》"


def _open_task(form_key: str) -> InboxTask:
    return db.session.scalars(
        select(InboxTask)
        .where(InboxTask.form_key == form_key, InboxTask.status == TaskStatus.OPEN)
        .order_by(InboxTask.id)
    ).first()


def _row_html(page: str, code: str) -> str:
    """The matrix row of one indicator."""
    start = page.index(f'data-indicator="{code}"')
    return page[start : page.index("</tr>", start)]


def _nothing_decided(html: str) -> bool:
    """The decision select offers the empty choice first and marks none selected."""
    select_html = html[html.index('name="decision"') :]
    select_html = select_html[: select_html.index("</select>")]
    return '<option value="">' in select_html and "selected" not in select_html


def _stopped_at(form_key: str) -> tuple[InboxTask, datetime]:
    stopped = simulate_once(2012, 5, stop_at=form_key)
    assert stopped["stopped_at"] == form_key
    return _open_task(form_key), datetime.fromisoformat(stopped["clock"])


def test_the_office_review_shows_every_score_beside_the_self_report_and_flags_what_stands_out(
    app, login, demo
):
    with app.app_context():
        task, clock = _stopped_at("round.review")
        guid, year_id = task.task_guid, task.instance.scheme_year_id
        round_ = EvaluationRound.find(year_id, RoundKind(task.scope))
        cities = {c.code: c for c in results.cities()}
        first, second = db.session.scalars(
            select(Indicator).where(Indicator.scheme_year_id == year_id).order_by(Indicator.seq).limit(2)
        ).all()

        def score(indicator: Indicator, city: str) -> Score:
            return db.session.scalar(
                select(Score).where(
                    Score.round_id == round_.id,
                    Score.indicator_id == indicator.id,
                    Score.city_id == cities[city].id,
                )
            )

        # planted: a zero with its reason (a large deduction, far from the other cities' scores) ...
        zero = score(first, "dalian")
        zero.score, zero.reason = Decimal(0), PLANTED_REASON
        # ... a score changed after its first submission ...
        changed = score(first, "shenyang")
        changed.first_score, changed.score, changed.changes = first.weight, changed.score - 1, 1
        # ... and a self-report item that is missing
        db.session.delete(
            db.session.scalar(
                select(SelfReportItem).where(
                    SelfReportItem.round_id == round_.id,
                    SelfReportItem.indicator_id == second.id,
                    SelfReportItem.city_id == cities["anshan"].id,
                )
            )
        )
        shenyang_reported = db.session.scalar(
            select(SelfReportItem.completion).where(
                SelfReportItem.round_id == round_.id,
                SelfReportItem.indicator_id == first.id,
                SelfReportItem.city_id == cities["shenyang"].id,
            )
        )
        names = {
            "indicator": first.name,
            "key_point": first.key_point.name,
            "owner": first.owner.code,
            "second": second.code,
            "first": first.code,
        }
        db.session.commit()
        computed = results.compute_round(round_)
        dalian_total = next(c["total"] for c in computed["cities"] if c["city"] == "dalian")

    client = login("office")
    with engine.use_clock(clock):
        page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-testid="review-matrix"' in page and names["key_point"] in page
    row = _row_html(page, names["first"])
    # the department's score beside the city's self-report, with the deduction and its reason, by name
    assert names["indicator"] in row and shenyang_reported in row and PLANTED_REASON in row
    assert f"−{first.weight:.2f}".rstrip("0").rstrip(".") in row  # the whole weight deducted in Dalian
    for flag in ("large_deduction", "outlier", "changed"):
        assert f'data-flag="{flag}"' in row, flag
    assert 'data-flag="missing_report"' in _row_html(page, names["second"])
    assert ">大连<" in page and ">dalian<" not in page  # columns by name
    # the ranking as it would be published: the planted zero counts
    ranking = page[page.index('data-testid="ranking"') :]
    ranking = ranking[: ranking.index("</table>")]
    assert ranking.count('data-testid="ranking-row"') == 14 and "大连市" in ranking
    assert f"{scoring.display(Decimal(dalian_total)):.2f}" in ranking
    # the return form preselects whom the flags point to: the scoring department and the unreported city
    departments = page[page.index('name="returned_departments"') :]
    assert f'<option selected value="{names["owner"]}">' in departments[: departments.index("</select>")]
    returned_cities = page[page.index('name="returned_cities"') :]
    returned_cities = returned_cities[: returned_cities.index("</select>")]
    assert '<option selected value="anshan">' in returned_cities
    assert '<option selected value="dalian">' not in returned_cities  # a low score is the department's
    # and no decision is made for the office
    assert _nothing_decided(page)


def test_the_matrix_is_built_with_a_handful_of_queries_whatever_the_number_of_cells(app, demo):
    with app.app_context():
        task, _clock = _stopped_at("round.review")
        round_ = EvaluationRound.find(task.instance.scheme_year_id, RoundKind(task.scope))
        scheme_year = db.session.get(SchemeYear, round_.scheme_year_id)
        db.session.expire_all()
        statements: list[str] = []

        def count(*args, **kwargs) -> None:
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            started = time.perf_counter()
            found = review.matrix(round_, scheme_year)
            elapsed = time.perf_counter() - started
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert found.cell_count == 14 * 117
    assert len(statements) <= 12, statements
    assert elapsed < 5  # a generous ceiling on a shared machine; typically a tenth of a second


def test_the_leadership_approves_a_round_on_the_ranking_and_what_the_office_changed(app, login, demo):
    with app.app_context():
        task, clock = _stopped_at("round.approve")
        guid, year_id = task.task_guid, task.instance.scheme_year_id
        round_ = EvaluationRound.find(year_id, RoundKind(task.scope))
        changed = db.session.scalars(
            select(Score).where(Score.round_id == round_.id).order_by(Score.id).limit(1)
        ).first()
        changed.first_score, changed.score, changed.changes = changed.score, Decimal(0), 1
        changed.reason = PLANTED_REASON
        indicator, city = changed.indicator.name, db.session.get(OrgUnit, changed.city_id).short_name
        returned = db.session.scalars(
            select(InboxTask)
            .where(InboxTask.form_key == "round.review", InboxTask.status == TaskStatus.COMPLETED)
            .order_by(InboxTask.id)
        ).first()
        [returned_city] = returned.submitted["returned_cities"]
        returned_name = db.session.scalar(select(OrgUnit.short_name).where(OrgUnit.code == returned_city))
        db.session.commit()

    client = login("leader")
    with engine.use_clock(clock):
        page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-testid="approval-context"' in page
    ranking = page[page.index('data-testid="ranking"') :]
    assert ranking[: ranking.index("</table>")].count('data-testid="ranking-row"') == 14
    assert "沈阳市" in ranking and "大连市" in ranking
    # what the office changed after review: the return with its reason, the changed score
    returns = page[page.index('data-testid="returns"') :]
    returns = returns[: returns.index("</ul>")]
    assert returned_name in returns and "部分指标说明不充分，请补充。" in returns
    changes = page[page.index('data-testid="changed-scores"') :]
    changes = changes[: changes.index("</table>")]
    assert indicator in changes and city in changes and PLANTED_REASON in changes
    # the scores the review flags, with their flags: the planted zero changed after submission
    flagged = page[page.index('data-testid="flagged-scores"') :]
    flagged = flagged[: flagged.index("</table>")]
    [planted] = [
        r for r in re.findall(r"<tr>.*?</tr>", flagged, re.S) if indicator in r and f"<td>{city}</td>" in r
    ]
    assert 'data-flag="changed"' in planted and 'data-flag="large_deduction"' in planted
    assert _nothing_decided(page)


def test_the_annual_approval_names_the_fraud_the_awards_and_the_rank_changes(app, login, demo):
    with app.app_context():
        task, clock = _stopped_at("year_end.approve")
        guid, year_id = task.task_guid, task.instance.scheme_year_id
        fraud = db.session.scalars(
            select(Verification).where(
                Verification.scheme_year_id == year_id, Verification.result == VerificationResult.FRAUD
            )
        ).one()
        fraud_city = db.session.get(OrgUnit, fraud.city_id)
        fraud_indicator = db.session.get(Indicator, fraud.indicator_id)
        fraud_text = f"{fraud_city.name} · {fraud_indicator.code} {fraud_indicator.name}"
        proposed = results.annual_result(year_id)
        awards = results.compute_annual(
            db.session.get(SchemeYear, year_id), proposed.award_key_points, proposed.award_top_n
        )["awards"]
        assert awards
        points = {
            p.number: p.name
            for p in db.session.scalars(select(KeyPoint).where(KeyPoint.scheme_year_id == year_id))
        }
        city_names = {c.code: c.name for c in results.cities()}

    client = login("leader")
    with engine.use_clock(clock):
        page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    findings = page[page.index('data-testid="fraud-findings"') :]
    findings = findings[: findings.index("</ul>")]
    assert fraud_text in findings
    proposals = page[page.index('data-testid="award-proposals"') :]
    proposals = proposals[: proposals.index("</ul>")]
    for number, winners in awards.items():
        assert f"{number}. {points[int(number)]}" in proposals
        assert "、".join(city_names[c] for c in winners) in proposals
    assert not re.search(r"\b(dalian|shenyang|panjin|tieling|benxi)\b", proposals + findings)
    # the year-end ranking beside the third quarter's: arrows for those who moved
    assert 'data-testid="annual-ranking"' in page
    assert 'data-testid="rank-up"' in page or 'data-testid="rank-down"' in page
    assert "↑" in page or "↓" in page


def test_the_office_reviewing_a_declaration_sees_the_note_and_the_basis_documents(app, login, demo):
    with app.app_context():
        task, clock = _stopped_at("declaration.review")
        guid, year_id = task.task_guid, task.instance.scheme_year_id
        declare = db.session.scalars(
            select(InboxTask)
            .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
            .where(
                ProcessInstance.scheme_year_id == year_id,
                InboxTask.form_key == "declaration.declare",
                InboxTask.org_id == task.subject_org_id,
                InboxTask.status == TaskStatus.COMPLETED,
            )
        ).one()
        declare.submitted = {**(declare.submitted or {}), "note": NOTE}
        declaration = Declaration.find(year_id, task.subject_org_id)
        declaration.items[0].basis_document = BASIS
        db.session.commit()

    client = login("office")
    with engine.use_clock(clock):
        page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    note = page[page.index('data-testid="declaration-note"') :]
    assert NOTE in note[: note.index("</div>")]
    assert f'data-testid="declaration-basis">{BASIS}<' in page


def test_a_bare_submit_of_a_decision_is_refused_naming_the_field(app, login, demo):
    with app.app_context():
        task, clock = _stopped_at("round.review")
        guid = task.task_guid
        office = db.session.scalar(select(User).where(User.username == "office"))
        with engine.use_clock(clock):
            with pytest.raises(errors.Invalid) as refused:
                task_service.complete_task(guid, office, {"comment": ""})
            db.session.rollback()
        assert "decision" in refused.value.fields

    client = login("office")
    with engine.use_clock(clock):
        response = client.post(f"/tasks/{guid}", data={"action": "complete"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="decision"' in page
    with app.app_context():
        assert InboxTask.by_guid(guid).status == TaskStatus.OPEN


def test_no_decision_form_comes_with_a_decision_made(app):
    """Every registered form with a decision (reviews and approvals of every phase) starts undecided."""
    with app.test_request_context("/"):
        deciding = [d for d in forms.REGISTRY.values() if "decision" in d.form_class().data]
        assert {"approval", "round.review", "round.approve", "year_end.approve", "declaration.review"} <= {
            d.key for d in deciding
        }
        for definition in deciding:
            form = definition.form_class()
            assert not form.decision.data, definition.key
            assert _nothing_decided(str(form.decision)), definition.key
            assert not form.validate() and form.decision.errors, definition.key
        assert ApprovalForm(data={"decision": "approve"}).validate()


def test_a_score_is_far_from_the_other_cities_only_beyond_the_documented_rule():
    weight = Decimal(10)
    spread = [Decimal(v) for v in ("8", "8.5", "9", "7.5", "8", "9.5", "8", "7", "8.5", "9", "8", "7.5", "9")]
    assert review._outliers(list(enumerate(spread)), weight) == set()  # an ordinary spread flags nothing
    assert review._outliers(list(enumerate([*spread, Decimal(0)])), weight) == {len(spread)}
    # equal scores have no deviation: a difference within a tenth of the weight is no anomaly
    alike = [Decimal(8)] * 13
    assert review._outliers(list(enumerate([*alike, Decimal("7.5")])), weight) == set()
    assert review._outliers(list(enumerate([*alike, Decimal("6.5")])), weight) == {13}
    # too few other cities to tell
    assert review._outliers(list(enumerate([Decimal(8), Decimal(8), Decimal(0)])), weight) == set()
