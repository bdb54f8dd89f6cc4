"""The inbox page: columns, overdue marking, filters by year, phase and status, sorting, paging that keeps
the filters, the completed list, refusals of unknown filter values; and that 20 years of history
leave the inbox's queries on their indexes."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text

from models.db import db, utcnow
from models.org import OrgUnit, Role, User
from models.scheme import Scheme, SchemeYear
from models.workflow import (
    InboxTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
    inbox_query,
)
from workflows import engine

ROLES_AND_USERS = [
    ("leadership", "leader"),
    ("office", "office"),
    ("department", "fgw"),
    ("city", "shenyang"),
    ("counterpart", "shenyang-jxb"),
    ("expert", "expert1"),
    ("third_party", "thirdparty"),
    ("admin", "admin"),
]


def english(client):
    client.get("/lang/en")
    return client


def _definition() -> ProcessDefinition:
    definition = ProcessDefinition(
        process_id="inbox_ui", version=1, name="inbox ui", bpmn_xml="<definitions/>", sha256="0" * 64
    )
    db.session.add(definition)
    db.session.flush()
    return definition


def _scheme_year(year: int) -> SchemeYear:
    scheme = db.session.scalar(select(Scheme))
    found = SchemeYear.find(scheme, year)
    if found is None:
        found = SchemeYear(scheme_id=scheme.id, year=year, title=f"{year}")
        db.session.add(found)
        db.session.flush()
    return found


def _instance(definition: ProcessDefinition, year: int) -> ProcessInstance:
    instance = ProcessInstance(
        definition_id=definition.id,
        process_id=definition.process_id,
        business_key=f"{year} 年度考评",
        scheme_year_id=_scheme_year(year).id,
        status=InstanceStatus.RUNNING,
        state="{}",
        serializer_version="1",
    )
    db.session.add(instance)
    db.session.flush()
    return instance


def _org(code: str) -> OrgUnit:
    return OrgUnit.by_code(code)


def _task(instance: ProcessInstance, title: str, **values) -> InboxTask:
    values.setdefault("role", Role.CITY)
    values.setdefault("org_id", _org("shenyang").id)
    values.setdefault("form_key", "round.self_report")
    values.setdefault("scope", "half_year")
    values.setdefault("status", TaskStatus.OPEN)
    values.setdefault("created_at", utcnow())
    # the phase the engine would have written from the BPMN of the task's process
    values.setdefault(
        "phase", "formation" if values["form_key"].startswith("formation.") else values["scope"]
    )
    task = InboxTask(
        task_guid=str(uuid.uuid4()),
        instance_id=instance.id,
        element_id="t",
        title=title,
        lane=values["role"].value,
        **values,
    )
    db.session.add(task)
    db.session.flush()
    return task


@pytest.fixture
def inbox(app, demo):
    """Shenyang's inbox across 2011 and 2012: overdue, due soon, a claimed one, a draft, completed ones,
    and another city's task that must not show."""
    now = utcnow()
    with app.app_context():
        definition = _definition()
        y2011, y2012 = _instance(definition, 2011), _instance(definition, 2012)
        shenyang = db.session.scalar(select(User).where(User.username == "shenyang"))
        guids = {
            "overdue": _task(y2012, "半年自评 overdue", due_at=now - timedelta(days=3)).task_guid,
            "soon": _task(
                y2012, "三季度自评 soon", scope="q3", due_at=now + timedelta(days=5), draft={"rows": []}
            ).task_guid,
            "comment": _task(
                y2012,
                "体系意见 comment",
                role=Role.CITY,
                form_key="formation.comment",
                scope="",
                due_at=now + timedelta(days=20),
                claimed_by_id=shenyang.id,
                claimed_at=now,
            ).task_guid,
            "old": _task(y2011, "年终自评 old", scope="year_end", due_at=now + timedelta(days=40)).task_guid,
            "dalian": _task(y2012, "大连 only", org_id=_org("dalian").id).task_guid,
            "done": _task(
                y2011,
                "已完成 done",
                status=TaskStatus.COMPLETED,
                completed_by_id=shenyang.id,
                completed_at=now - timedelta(days=100),
                due_at=now - timedelta(days=90),
            ).task_guid,
        }
        db.session.commit()
    return guids


def rows(html: str) -> list[str]:
    return re.findall(r'data-testid="inbox-row" data-task-guid="([^"]+)"', html)


def test_columns_status_and_overdue_marking(login, inbox):
    html = english(login("shenyang")).get("/inbox/").get_data(as_text=True)
    assert set(rows(html)) == {inbox["overdue"], inbox["soon"], inbox["comment"], inbox["old"]}
    assert inbox["dalian"] not in html, "another city's task is not in Shenyang's inbox"
    for header in ("Task", "Phase", "Year", "Organisation", "Due", "Status"):
        assert f">{header}<" in html or f">{header} <" in html, header
    overdue_row = re.search(rf'<tr [^>]*data-task-guid="{inbox["overdue"]}"[^>]*>.*?</tr>', html, re.S).group(
        0
    )
    assert 'data-overdue="true"' in overdue_row and "table-danger" in overdue_row
    # Not colour alone: an icon and words say it.
    assert 'data-testid="overdue-marker"' in overdue_row and "bi-exclamation-triangle-fill" in overdue_row
    assert "overdue by 3 days" in overdue_row or "overdue by 2 days" in overdue_row
    soon_row = re.search(rf'<tr [^>]*data-task-guid="{inbox["soon"]}"[^>]*>.*?</tr>', html, re.S).group(0)
    assert "overdue-marker" not in soon_row and "days left" in soon_row and "Draft saved" in soon_row
    assert "Third-quarter evaluation" in soon_row and ">2012<" in soon_row and "沈阳" in soon_row
    comment_row = re.search(rf'<tr [^>]*data-task-guid="{inbox["comment"]}"[^>]*>.*?</tr>', html, re.S).group(
        0
    )
    assert "Claimed by" in comment_row and "Forming the indicator system" in comment_row
    # Every cell names its column, so a phone can show the row as a card.
    assert html.count('data-label="Phase"') == 4
    assert 'data-testid="open-count">4<' in html


def test_overdue_is_marked_on_the_engines_clock_as_the_days_left_are(login, inbox):
    """A simulated year's clock (a demo, a test) a week back: the task due three days ago is not late yet."""
    client = english(login("shenyang"))
    with engine.use_clock(lambda: utcnow() - timedelta(days=7)):
        html = client.get("/inbox/").get_data(as_text=True)
    row = re.search(rf'<tr [^>]*data-task-guid="{inbox["overdue"]}"[^>]*>.*?</tr>', html, re.S).group(0)
    assert "table-danger" not in row and "overdue-marker" not in row and "days left" in row


def test_filters_by_year_phase_and_the_completed_list(login, inbox):
    client = english(login("shenyang"))
    assert set(rows(client.get("/inbox/?year=2011").get_data(as_text=True))) == {inbox["old"]}
    assert set(rows(client.get("/inbox/?phase=half_year").get_data(as_text=True))) == {inbox["overdue"]}
    assert set(rows(client.get("/inbox/?phase=formation").get_data(as_text=True))) == {inbox["comment"]}
    assert set(rows(client.get("/inbox/?year=2012&phase=year_end").get_data(as_text=True))) == set()
    completed = client.get("/inbox/?status=completed").get_data(as_text=True)
    assert rows(completed) == [inbox["done"]]
    assert "overdue-marker" not in completed, "a completed task is never overdue"
    assert rows(client.get("/inbox/?status=completed&year=2012").get_data(as_text=True)) == []
    page = client.get("/inbox/?phase=half_year").get_data(as_text=True)
    assert re.search(r'<option value="half_year" selected>', page)
    assert 'href="/inbox/?status=completed&amp;phase=half_year"' in page, "the tabs keep the filters"


def test_sorting_by_due_title_newest_and_organisation(login, inbox):
    client = english(login("shenyang"))
    by_due = rows(client.get("/inbox/").get_data(as_text=True))
    assert by_due == [inbox["overdue"], inbox["soon"], inbox["comment"], inbox["old"]]
    by_title = rows(client.get("/inbox/?sort=title").get_data(as_text=True))
    assert by_title == sorted(
        by_due,
        key=lambda g: {
            inbox["overdue"]: "半年自评 overdue",
            inbox["soon"]: "三季度自评 soon",
            inbox["comment"]: "体系意见 comment",
            inbox["old"]: "年终自评 old",
        }[g],
    )
    assert rows(client.get("/inbox/?sort=created").get_data(as_text=True))[0] == inbox["old"]
    assert len(rows(client.get("/inbox/?sort=org").get_data(as_text=True))) == 4
    html = client.get("/inbox/?sort=title&phase=q3").get_data(as_text=True)
    assert 'aria-sort="ascending"' in html and 'data-testid="sort-title"' in html
    assert 'href="/inbox/?status=open&amp;phase=q3&amp;sort=due"' in html, "a header link keeps the filters"


def test_pagination_keeps_the_filters(app, login, demo):
    with app.app_context():
        instance = _instance(_definition(), 2012)
        for n in range(55):
            _task(instance, f"task {n:02d}", due_at=utcnow() + timedelta(days=n + 1))
        _task(instance, "q3 task", scope="q3")
        db.session.commit()
    client = english(login("shenyang"))
    first = client.get("/inbox/?phase=half_year&year=2012&sort=title").get_data(as_text=True)
    assert len(rows(first)) == 50 and "55 tasks" in first and "Page 1 of 2" in first
    link = re.search(r'data-testid="page-next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "phase=half_year" in link and "year=2012" in link and "sort=title" in link and "page=2" in link
    second = client.get(link).get_data(as_text=True)
    assert len(rows(second)) == 5 and "task 54" in second and "q3 task" not in second
    assert 'data-testid="page-prev"' in second and 'data-testid="page-next"' not in second


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=done", "status"),
        ("year=20x1", "year"),
        ("phase=summer", "phase"),
        ("sort=random", "sort"),
        ("page=0", "page"),
    ],
)
def test_unknown_filter_values_are_refused_naming_the_field(login, demo, query, field):
    response = english(login("shenyang")).get(f"/inbox/?{query}")
    assert response.status_code == 400
    assert field in response.get_data(as_text=True)


@pytest.mark.parametrize("role, username", ROLES_AND_USERS)
def test_every_role_has_an_inbox_and_strangers_sign_in_first(app, login, role, username):
    assert login(username).get("/inbox/?status=completed&sort=org").status_code == 200
    assert app.test_client().get("/inbox/").status_code == 302


def _plan(query) -> str:
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        lines = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return "\n".join(str(row[-1]) for row in lines)
    return "\n".join(row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}")))


def test_twenty_years_of_history_keep_the_inbox_on_its_indexes(app, demo):
    """20 years × 400 completed tasks; the queries return the right rows and read them through indexes."""
    with app.app_context():
        definition = _definition()
        shenyang = db.session.scalar(select(User).where(User.username == "shenyang"))
        others = list(db.session.scalars(select(User).where(User.username.in_(["dalian", "fgw", "office"]))))
        instances = {year: _instance(definition, year) for year in range(2000, 2020)}
        now = utcnow()
        batch = []
        for year, instance in instances.items():
            back = timedelta(days=365 * (2019 - year))
            for n in range(400):
                user = shenyang if n % 40 == 0 else others[n % len(others)]
                batch.append(
                    {
                        "task_guid": f"h{year}-{n:04d}",
                        "instance_id": instance.id,
                        "element_id": "t",
                        "title": f"{year} task {n}",
                        "lane": "city",
                        "role": Role.CITY,
                        "org_id": user.org_id,
                        "form_key": "round.score" if n % 2 else "round.self_report",
                        "scope": ("half_year", "q3", "year_end")[n % 3],
                        "phase": ("half_year", "q3", "year_end")[n % 3],
                        "status": TaskStatus.COMPLETED,
                        "created_at": now - back - timedelta(days=30),
                        "completed_at": now - back - timedelta(minutes=n),
                        "completed_by_id": user.id,
                    }
                )
        db.session.execute(insert(InboxTask), batch)
        _task(instances[2019], "open now", due_at=now + timedelta(days=3))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE inbox_task"))

        completed = db.session.scalars(inbox_query(shenyang, status="completed").limit(51)).all()
        assert len(completed) == 51 and completed[0].task_guid == "h2019-0000"
        assert all(t.completed_by_id == shenyang.id for t in completed)
        count = db.session.scalar(
            inbox_query(shenyang, status="completed").order_by(None).with_only_columns(db.func.count())
        )
        assert count == 20 * 10
        in_2001 = db.session.scalars(inbox_query(shenyang, status="completed", year=2001)).all()
        assert len(in_2001) == 10 and {t.title.split()[0] for t in in_2001} == {"2001"}
        q3 = db.session.scalars(inbox_query(shenyang, status="completed", phase="q3", year=2019)).all()
        assert {t.scope for t in q3} == {"q3"} and len(q3) == len(
            [n for n in range(0, 400, 40) if n % 3 == 1]
        )
        [open_task] = db.session.scalars(inbox_query(shenyang)).all()
        assert open_task.title == "open now"

        open_plan = _plan(inbox_query(shenyang).limit(51))
        completed_plan = _plan(inbox_query(shenyang, status="completed").limit(51))
        count_plan = _plan(inbox_query(shenyang).order_by(None).with_only_columns(db.func.count()))
        for plan in (open_plan, count_plan):
            assert "ix_inbox_task_open_role_org" in plan or "ix_inbox_task_claimed_by_id" in plan, plan
        assert "ix_inbox_task_completed_by_at" in completed_plan, completed_plan
        if db.engine.dialect.name == "sqlite":
            assert (
                "SCAN inbox_task\n" not in open_plan + "\n"
                and "SCAN inbox_task\n" not in completed_plan + "\n"
            )
        else:
            assert "Seq Scan on inbox_task" not in open_plan + completed_plan
