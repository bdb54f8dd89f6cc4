"""The rounds, verification, aggregation, approval, publication and feedback, driven by the simulation
through the services the web uses; then what each role sees and downloads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from models.db import db
from models.evaluation import EvaluationRound, RoundKind, RoundStatus, Score, Submission, SubmissionStatus
from models.org import User
from models.rules import scoring
from models.scheme import Indicator
from models.workflow import InboxTask, TaskStatus
from tests.snapshots import simulate_once
from webapp.domain import errors
from webapp.domain.process import tasks as task_service
from webapp.domain.results import queries as results
from workflows import engine
from workflows.forms.values import raw_values


def test_a_simulated_year_obeys_the_plans_rules_and_each_role_sees_its_part(app, login, demo):
    """One simulated year (it takes half a minute), then the rules and what each role sees."""
    with app.app_context():
        simulated = simulate_once(2012, 5)  # the browser tests' finished year, when they ran first
    check_the_plans_rules(app, simulated)
    check_every_participant_sees_the_ranking_and_a_city_only_its_details(app, login)


def check_the_plans_rules(app, simulated):
    assert simulated["returns"] >= 2 and len(simulated["fraud_findings"]) == 1
    [fraud] = simulated["fraud_findings"]
    with app.app_context():
        rounds = {r.kind: r for r in db.session.scalars(select(EvaluationRound))}
        assert set(rounds) == set(RoundKind) and all(
            r.status == RoundStatus.PUBLISHED for r in rounds.values()
        )
        for r in rounds.values():
            entry = next(e for e in r.results["cities"] if e["city"] == fraud["city"])
            line = next(line for line in entry["lines"] if line["code"] == fraud["indicator"])
            assert line["fraud"] and Decimal(line["score"]) == 0, f"fraud zeroes {r.kind} too"
            assert Decimal(entry["total"]) == sum(Decimal(line["score"]) for line in entry["lines"])
        annual = results.annual_result(rounds[RoundKind.YEAR_END].scheme_year_id)
        assert annual.published_at is not None and annual.proposal
        rows = annual.results["cities"]
        assert len(rows) == 14
        for row in rows:
            process = (Decimal(row["half_year"]) + Decimal(row["q3"])) / 2
            assert Decimal(row["process_score"]) == process
            assert Decimal(row["total"]) == process * Decimal("0.2") + Decimal(row["year_end"]) * Decimal(
                "0.8"
            )
        ranks = scoring.competition_ranks({r["city"]: Decimal(r["total"]) for r in rows})
        assert {r["city"]: r["rank"] for r in rows} == ranks
        assert set(annual.results["awards"]) == {"9", "15", "33"} and all(
            len(v) >= 3 for v in annual.results["awards"].values()
        )
        # A returned city got its self-report back and resubmitted it.
        fixes = db.session.scalars(select(InboxTask).where(InboxTask.element_id == "fix_report")).all()
        assert fixes and all(t.status == TaskStatus.COMPLETED for t in fixes)
        resubmitted = db.session.scalars(select(Submission).where(Submission.submissions > 1)).all()
        assert resubmitted and all(s.status == SubmissionStatus.SUBMITTED for s in resubmitted)
    json_cities = {c["code"]: c for c in simulated["cities"]}
    assert sorted(c["rank"] for c in simulated["cities"])[0] == 1 and len(json_cities) == 14


def check_every_participant_sees_the_ranking_and_a_city_only_its_details(app, login):
    city = login("shenyang")
    page = city.get("/results/2012").get_data(as_text=True)
    assert 'data-testid="annual-results"' in page and "大连市" in page
    assert city.get("/results/2012/half_year/city/shenyang").status_code == 200
    assert city.get("/results/2012/half_year/city/dalian").status_code == 403
    pdf = city.get("/results/2012/annual/city/shenyang.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert city.get("/results/2012/q3/city/shenyang.xlsx").data[:2] == b"PK"
    assert city.get("/results/2012/annual/city/dalian.pdf").status_code == 403
    department = login("fgw")
    assert "I001" in department.get("/results/2012/department").get_data(as_text=True)
    assert login("office").get("/results/2012/province.pdf").status_code == 200
    api = app.test_client()
    token = api.post(
        "/api/v1/tokens", json={"username": "shenyang", "password": "Demo-pass-2012!"}
    ).get_json()["token"]
    body = api.get("/api/v1/years/2012/results", headers={"Authorization": f"Bearer {token}"}).get_json()
    own = next(c for c in body["rounds"]["half_year"]["cities"] if c["city"]["code"] == "shenyang")
    other = next(c for c in body["rounds"]["half_year"]["cities"] if c["city"]["code"] == "dalian")
    assert "lines" in own and "lines" not in other
    assert len(body["annual"]["cities"]) == 14
    tree = api.get("/api/v1/years/2012/indicators", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert tree["total_weight"] == "1000.00"


def test_scores_outside_the_weight_are_refused_naming_the_indicator_and_the_city(app, demo):
    with app.app_context():
        stopped = simulate_once(2012, 5, stop_at="round.score")
        assert stopped["stopped_at"] == "round.score"
        task = db.session.scalars(
            select(InboxTask)
            .where(InboxTask.form_key == "round.score", InboxTask.status == TaskStatus.OPEN)
            .order_by(InboxTask.id)
        ).first()
        user = db.session.scalar(select(User).where(User.org_id == task.org_id))
        clock = datetime.fromisoformat(stopped["clock"])
        with engine.use_clock(clock):
            data = raw_values(task_service.build_form(task, user))
            first = data["rows"][0]
            weight = db.session.scalar(
                select(Indicator.weight).where(
                    Indicator.code == first["code"], Indicator.scheme_year_id == task.instance.scheme_year_id
                )
            )
            for row in data["rows"]:
                row["score"], row["reason"] = "1", "未完成"
            for bad, expected in (
                (str(weight + Decimal("0.01")), "between 0"),
                ("-1", "between 0"),
                ("abc", "not a score"),
                ("1.005", "not a score"),
            ):
                first["score"] = bad
                with pytest.raises(errors.Invalid) as refused:
                    task_service.complete_task(task.task_guid, user, data)
                db.session.rollback()
                messages = " ".join(m for ms in refused.value.fields.values() for m in ms)
                assert (
                    first["code"] in messages
                    and first["city"] in messages
                    and bad in messages
                    or expected in messages
                )
            first["score"], first["reason"] = str(weight - 1), ""
            with pytest.raises(errors.Invalid) as refused:
                task_service.complete_task(task.task_guid, user, data)
            db.session.rollback()
            assert any("full marks" in m or "满分" in m for ms in refused.value.fields.values() for m in ms)
            first["score"] = str(weight)
            task_service.complete_task(task.task_guid, user, data)
            db.session.commit()
        stored = db.session.scalars(select(Score).where(Score.round_id.is_not(None))).all()
        assert len(stored) == len(data["rows"]) and max(s.score for s in stored) == weight


def test_a_city_reports_through_the_task_page_with_every_problem_at_once(app, login):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.self_report")
        guid = next(
            t.task_guid
            for t in db.session.scalars(
                select(InboxTask).where(
                    InboxTask.form_key == "round.self_report", InboxTask.status == TaskStatus.OPEN
                )
            )
            if t.org.code == "dalian"
        )
    client = login("dalian")
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'name="rows-116-completion"' in page and "地区生产总值增长率" in page
    html = client.get(f"/tasks/{guid}").get_data(as_text=True)
    import re

    fields = dict(re.findall(r'name="(rows-\d+-(?:code|indicator))" value="([^"]*)"', html))
    data = {"action": "complete", **fields}
    refused = client.post(f"/tasks/{guid}", data=data)
    assert refused.status_code == 422
    assert "117" in refused.get_data(as_text=True), "all 117 empty completions are reported at once"
    data.update({f"rows-{n}-completion": "100%" for n in range(117)})
    assert client.post(f"/tasks/{guid}", data=data).status_code == 302
    with app.app_context():
        assert InboxTask.by_guid(guid).status == TaskStatus.COMPLETED
