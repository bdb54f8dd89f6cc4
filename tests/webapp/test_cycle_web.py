"""The office starts the cycle and opens phases from the web; who sees a draft system; the editor;
the comparison with the previous year; Excel export and import from the pages."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import select

from models.db import db
from models.scheme import Indicator, Scheme, SchemeYear, YearStatus
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from tests.webapp.test_formation_cycle import LATER_PHASES
from webapp.domain.process import cycle as cycle_service
from workflows import BPMN_DIR, engine, forms


def deploy_cycle(app):
    with app.app_context():
        for path in [*sorted(BPMN_DIR.glob("*.bpmn")), *sorted(LATER_PHASES.glob("*.bpmn"))]:
            engine.deploy(path.read_bytes(), source_name=path.name, known_forms=forms.known_keys())
        db.session.commit()


def standard_form(deadline: str) -> dict[str, str]:
    """What the office submits to publish the declaration standard, due on `deadline` (ISO date)."""
    return {
        "action": "complete",
        "basis": "依据",
        "quantifiability": "量化",
        "decomposition": "分解",
        "rewards_penalties": "奖惩",
        "deadline": deadline,
    }


def year_2012(app):
    with app.app_context():
        return db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))


def test_office_starts_the_cycle_and_opens_the_declaration_early(app, login):
    deploy_cycle(app)
    office = login("office")
    page = office.get("/cycle/").get_data(as_text=True)
    assert 'data-testid="start-cycle"' in page
    with engine.use_clock(
        lambda: __import__("datetime").datetime(2012, 1, 2, tzinfo=__import__("datetime").UTC)
    ):
        assert office.post("/cycle/start", data={"year": "2012"}).status_code == 302
        again = office.post("/cycle/start", data={"year": "2012"})
        assert again.status_code == 409
        page = office.get("/cycle/").get_data(as_text=True)
        assert 'data-testid="open-declaration"' in page
        with app.app_context():
            instance = db.session.scalar(
                select(ProcessInstance).where(ProcessInstance.process_id == "annual_cycle")
            )
            instance_id = instance.id
        assert office.post(f"/cycle/{instance_id}/phase/declaration").status_code == 302
        assert office.post(f"/cycle/{instance_id}/phase/declaration").status_code == 409
        assert office.post(f"/cycle/{instance_id}/phase/nonsense").status_code == 404
    with app.app_context():
        [task] = db.session.scalars(select(InboxTask).where(InboxTask.status == TaskStatus.OPEN)).all()
        assert task.element_id == "publish_standard"
    assert "发布申报标准" in office.get("/inbox/").get_data(as_text=True)


def test_only_the_office_manages_the_cycle(app, login):
    deploy_cycle(app)
    assert login("fgw").get("/cycle/").status_code == 403
    assert login("shenyang").post("/cycle/start", data={"year": "2012"}).status_code == 403
    assert login("leader").get("/cycle/").status_code == 200
    assert login("leader").post("/cycle/start", data={"year": "2012"}).status_code == 403


def test_a_draft_system_is_for_the_office_and_its_advisers_until_approved(app, login):
    assert login("shenyang").get("/indicators/2012").status_code == 403
    assert login("fgw").get("/indicators/2012/export.xlsx").status_code == 403
    for name in ("office", "leader", "expert1", "admin"):
        assert login(name).get("/indicators/2012").status_code == 200
    with app.app_context():
        year = db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))
        year.status = YearStatus.APPROVED
        db.session.commit()
    assert login("shenyang").get("/indicators/2012").status_code == 200
    response = login("fgw").get("/indicators/2012/export.xlsx")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[0] == "指标体系"


def test_the_office_edits_a_draft_indicator_and_cannot_once_frozen(app, login):
    office = login("office")
    page = office.get("/indicators/2012").get_data(as_text=True)
    assert 'data-testid="editor"' in page
    form = office.get("/indicators/2012/indicator/I001").get_data(as_text=True)
    assert "I001" in form
    bad = office.post(
        "/indicators/2012/indicator/I001", data={"key_point": "1", "name": "", "weight": "-3", "owner": "fgw"}
    )
    assert bad.status_code == 422
    ok = office.post(
        "/indicators/2012/indicator/I001",
        data={
            "key_point": "1",
            "name": "沿海经济带重点项目投资完成率",
            "weight": "15",
            "owner": "fgw",
            "co_owners": ["jxw"],
            "unit": "%",
            "scoring_rule": "完成得满分。",
        },
    )
    assert ok.status_code == 302
    page = office.get("/indicators/2012").get_data(as_text=True)
    assert "1001" in page and 'data-testid="system-problems"' in page, (
        "the total is now off by one and the page says so"
    )
    with app.app_context():
        indicator = db.session.scalar(select(Indicator).where(Indicator.code == "I001"))
        assert indicator.weight == 15 and [o.code for o in indicator.co_owners] == ["jxw"]
        year = db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))
        year.status = YearStatus.APPROVED
        db.session.commit()
    assert office.get("/indicators/2012/indicator/I001").status_code == 403
    assert office.post("/indicators/2012/indicator/I001/delete").status_code == 403
    assert login("shenyang").get("/indicators/2012/indicator/I001").status_code == 403


def test_a_broken_workbook_is_refused_row_by_row_from_the_page(app, login):
    office = login("office")
    data = office.get("/indicators/2012/export.xlsx").data
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["指标体系"]
    headers = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=headers.index("分值") + 1, value="abc")
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = office.post(
        "/indicators/2012/import",
        data={"workbook": (io.BytesIO(buffer.getvalue()), "broken.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert 'data-testid="import-errors"' in response.get_data(as_text=True)
    good = office.post(
        "/indicators/2012/import",
        data={"workbook": (io.BytesIO(data), "good.xlsx")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 302


def test_comparison_with_the_previous_year(app, login):
    with app.app_context():
        scheme = Scheme.by_code("ln-cities")
        y2013 = cycle_service.clone_scheme_year(SchemeYear.find(scheme, 2012), 2013)
        changed = db.session.scalar(
            select(Indicator).where(Indicator.scheme_year_id == y2013.id, Indicator.code == "I002")
        )
        changed.weight += 2
        removed = db.session.scalar(
            select(Indicator).where(Indicator.scheme_year_id == y2013.id, Indicator.code == "I003")
        )
        db.session.delete(removed)
        db.session.commit()
    page = login("office").get("/indicators/2013/compare?with=2012").get_data(as_text=True)
    assert "2013" in page
    reweighted = page.split('data-testid="reweighted"')[1].split("</div></div>")[0]
    assert "I002" in reweighted and "13 → 15" in reweighted
    assert "I003" in page.split('data-testid="removed"')[1].split("</div></div>")[0]
    assert login("office").get("/indicators/2012/compare").status_code == 200


def test_declaring_and_reviewing_through_the_task_pages(app, login):
    from datetime import UTC, datetime

    from models.org import User
    from webapp.domain.process import tasks as task_service
    from workflows.forms.values import flatten, raw_values

    deploy_cycle(app)
    office, fgw = login("office"), login("fgw")
    with engine.use_clock(datetime(2012, 1, 2, tzinfo=UTC)):
        office.post("/cycle/start", data={"year": "2012"})
        with app.app_context():
            instance_id = db.session.scalar(
                select(ProcessInstance.id).where(ProcessInstance.process_id == "annual_cycle")
            )
        office.post(f"/cycle/{instance_id}/phase/declaration")

    def open_task(element, org=None):
        with app.app_context():
            query = select(InboxTask).where(
                InboxTask.element_id == element, InboxTask.status == TaskStatus.OPEN
            )
            rows = db.session.scalars(query).all()
            return next(t.task_guid for t in rows if org is None or (t.org and t.org.code == org))

    standard = open_task("publish_standard")
    page = office.get(f"/tasks/{standard}").get_data(as_text=True)
    assert 'name="deadline"' in page and "申报截止日期" in page
    assert office.post(f"/tasks/{standard}", data=standard_form("2999-01-31")).status_code == 302

    declare = open_task("declare", "fgw")
    page = fgw.get(f"/tasks/{declare}").get_data(as_text=True)
    assert 'name="indicators-0-name"' in page and "沿海经济带开发建设重点项目投资完成率" in page
    with app.app_context():
        task = InboxTask.by_guid(declare)
        user = db.session.scalar(select(User).where(User.username == "fgw"))
        form_data = flatten(raw_values(task_service.build_form(task, user)))
    assert fgw.post(f"/tasks/{declare}", data={"action": "draft", **form_data}).status_code == 302
    assert fgw.post(f"/tasks/{declare}", data={"action": "complete", **form_data}).status_code == 302

    review = open_task("review")
    page = office.get(f"/tasks/{review}").get_data(as_text=True)
    assert 'data-testid="declaration-context"' in page and "沿海经济带开发建设重点项目投资完成率" in page
    refused = office.post(f"/tasks/{review}", data={"action": "complete", "decision": "return"})
    assert refused.status_code == 422
    assert (
        office.post(
            f"/tasks/{review}", data={"action": "complete", "decision": "return", "comment": "请补充目标。"}
        ).status_code
        == 302
    )
    assert open_task("declare", "fgw") != declare, "the department got its declaration back"
    assert "申报考评指标" in fgw.get("/inbox/").get_data(as_text=True)
