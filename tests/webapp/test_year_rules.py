"""The year's award rule (a city with fraud on a key point is not eligible for its award): set on the
cycle page or through the API by the office or an admin until the annual results are approved, audited,
and shown on the annual approval and in the year's results."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from models.db import db, utcnow
from models.evaluation import AnnualResult
from models.scheme import SchemeYear
from models.workflow import AuditEvent
from tests.conftest import bearer
from webapp.api.payloads import Names, annual_json
from webapp.domain.results import queries as results

BARS = "同一考评要点有弄虚作假的城市不参评该要点优胜奖"


def _year(app) -> SchemeYear:
    with app.app_context():
        return db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))


def _bars(app) -> bool:
    return _year(app).fraud_bars_award


def _approve_the_annual_results(app) -> None:
    with app.app_context():
        year = db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))
        db.session.add(AnnualResult(scheme_year_id=year.id, results={}, approved_at=utcnow()))
        db.session.commit()


def test_the_office_turns_the_rule_off_on_the_cycle_page_and_it_is_audited(app, login):
    office = login("office")
    page = office.get("/cycle/").get_data(as_text=True)
    assert 'data-testid="year-rules"' in page and BARS in page
    assert 'name="fraud_bars_award" value="1" id="fraud-bars-2012" checked' in page

    assert office.post("/cycle/2012/rules", data={}).status_code == 302
    assert _bars(app) is False
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "year.rules_set")).all()
        assert event.detail == {"year": 2012, "fraud_bars_award": False, "was": True}

    assert login("admin").post("/cycle/2012/rules", data={"fraud_bars_award": "1"}).status_code == 302
    assert _bars(app) is True


def test_only_the_office_and_admins_set_the_rule(app, login):
    assert login("leader").post("/cycle/2012/rules", data={}).status_code == 403
    assert login("shenyang").post("/cycle/2012/rules", data={}).status_code == 403
    assert "save-rules" not in login("leader").get("/cycle/").get_data(as_text=True)
    assert _bars(app) is True


def test_the_rule_stands_once_the_annual_results_are_approved(app, login):
    _approve_the_annual_results(app)
    office = login("office")
    assert office.post("/cycle/2012/rules", data={}).status_code == 409
    assert _bars(app) is True
    page = office.get("/cycle/").get_data(as_text=True)
    assert "save-rules" not in page
    assert f"{BARS}: 是" in page


def test_the_api_reads_and_sets_the_rule_until_the_approval(app, client, demo):
    office = bearer(client, "office")
    cycle = client.get("/api/v1/years/2012/cycle", headers=office).get_json()
    assert cycle["rules"] == {"fraud_bars_award": True, "locked": False}

    bad = client.put("/api/v1/years/2012/rules", headers=office, json={"fraud_bars_award": "no"})
    assert bad.status_code == 422 and list(bad.get_json()["error"]["fields"]) == ["fraud_bars_award"]
    refused = client.put(
        "/api/v1/years/2012/rules", headers=bearer(client, "leader"), json={"fraud_bars_award": False}
    )
    assert refused.status_code == 403

    done = client.put("/api/v1/years/2012/rules", headers=office, json={"fraud_bars_award": False})
    assert done.status_code == 200 and done.get_json()["rules"] == {
        "fraud_bars_award": False,
        "locked": False,
    }
    assert _bars(app) is False

    _approve_the_annual_results(app)
    late = client.put("/api/v1/years/2012/rules", headers=office, json={"fraud_bars_award": True})
    assert late.status_code == 409
    assert client.get("/api/v1/years/2012/cycle", headers=office).get_json()["rules"]["locked"] is True


def test_the_annual_results_and_their_approval_page_state_the_rule(app, demo):
    with app.test_request_context("/"):
        year = db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))
        year.fraud_bars_award = False
        annual = results.compute_annual(year, [], 3)
        assert annual["fraud_bars_award"] is False
        assert annual_json(annual, False, Names(year))["fraud_bars_award"] is False
        html = render_template(
            "tasks/context/annual.html", context={"annual": annual, "awards": [], "proposal": ""}
        )
        assert f"{BARS}: 否" in html
        db.session.rollback()
