"""Issue 12's "Done when", walked in the browser as a new administrator would, while 2012 runs (the
session's simulated year at its half-year self-reports): the admin prepares 2013 from 2012 on 2012's
processes page; opens 2013's evaluation round in the modeler and, with the canvas's own context pad,
replace menu and a drag, puts an office review of the scores (绩效办审核评分) between the departments'
scoring and the review; sees the missing form flagged on it, chooses one, saves, finds the new step
marked on the diff and deploys it with a comment. 2012's round goes on from its scores to its review
on the version it started with. The office starts 2013 and the simulation does everyone's work:
2013's half-year round starts on the new version; a department user the admin adds signs in, chooses
a password and finds the department's 2013 scoring in the inbox; after the scores the round reaches
the new step, which the office finds in its inbox and approves.

The tests run in file order on one world; each leaves it where the next expects it. 2013's phases
open on their dates, so the server's clock moves into 2013 with them."""

from __future__ import annotations

import random
import re

import pytest
from lxml import etree
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models.db import db
from models.org import OrgUnit, Role, User
from models.scheme import SchemeYear
from models.workflow import (
    DefinitionDraft,
    InboxTask,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
    year_tasks,
)
from tests.browser.conftest import YEAR, screenshot, signed_in_page
from tests.browser.test_modeler import editor_ready, saved
from webapp import simulation
from webapp.domain.process import cycle

PROCESS = "evaluation_round"
STEP = "绩效办审核评分"
FORM = "approval"  # a decision and a comment: the review right after it decides again, so no branch changes
NEXT = YEAR + 1
LATIN = re.compile(r"[A-Za-z]{2,}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")

# Where on the screen a connection's path is halfway along (a click there hits the connection).
HALFWAY = """g => {
  const path = g.querySelector('.djs-hit');
  const point = path.getPointAtLength(path.getTotalLength() / 2);
  const screen = new DOMPoint(point.x, point.y).matrixTransform(path.getScreenCTM());
  return [screen.x, screen.y];
}"""


@pytest.fixture(scope="module")
def seen() -> dict:
    """What one test finds and a later one checks (the new element's id, 2012's versions)."""
    return {}


def no_errors(page: Page) -> None:
    assert page.js_errors == [] and page.console_errors == []  # type: ignore[attr-defined]


def top_bar(page: Page, name: str):
    """A link of the top bar by its words (the inbox's carries its count)."""
    return page.locator("#topbar").get_by_role("link", name=re.compile(f"^{name}"))


def shape(page: Page, element_id: str):
    return page.locator(f'.djs-shape[data-element-id="{element_id}"]')


def middle(page: Page, element_id: str) -> tuple[float, float]:
    box = shape(page, element_id).bounding_box()
    assert box, element_id
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def pad(page: Page, action: str) -> None:
    """Click an entry of the context pad of the selected element."""
    page.locator(f'.djs-context-pad.open [data-action="{action}"]').click()


def selected(page: Page, element_id: str) -> None:
    expect(page.locator(f'.djs-element.selected[data-element-id="{element_id}"]')).to_have_count(1)


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 5, start[1] + 5, steps=2)  # past the drag threshold
    page.mouse.move(*end, steps=10)
    page.mouse.up()


def instance_versions(world, year: int) -> dict[int, int]:
    """Every instance of the year: id → the definition it runs."""

    def read():
        return dict(
            db.session.execute(
                select(ProcessInstance.id, ProcessInstance.definition_id).where(
                    ProcessInstance.scheme_year_id == scheme_year_id(year)
                )
            ).all()
        )

    return world.query(read)


def open_tasks(world, year: int, **where) -> list[InboxTask]:
    """The year's open inbox rows whose columns have these values (element_id="score")."""

    def read():
        return db.session.scalars(
            year_tasks(scheme_year_id(year))
            .where(InboxTask.status == TaskStatus.OPEN)
            .where(*(getattr(InboxTask, name) == value for name, value in where.items()))
            .order_by(InboxTask.id)
        ).all()

    return world.query(read)


def scheme_year_id(year: int) -> int:
    return db.session.scalar(select(SchemeYear.id).where(SchemeYear.year == year))


def test_the_admin_prepares_2013_from_2012_while_2012_runs(world, sign_in, seen):
    seen["2012"] = instance_versions(world, YEAR)
    assert open_tasks(world, YEAR, element_id="self_report"), "2012 is in its half-year round"

    # from the annual cycle to what 2012 runs, where next year is prepared
    page = sign_in("admin")
    top_bar(page, "年度考评").click()
    page.get_by_test_id(f"processes-{YEAR}").click()
    page.wait_for_url(f"**/admin/processes/{YEAR}")
    expect(page.get_by_test_id("versions")).to_contain_text("半年和第三季度考评")
    prepare = page.get_by_test_id("prepare-next")
    expect(prepare).to_have_text(f"以 {YEAR} 年度为基础准备 {NEXT} 年度")
    prepare.click()
    page.wait_for_url(f"**/admin/processes/{NEXT}")
    expect(page.locator(".alert-success")).to_contain_text(f"{NEXT}")
    expect(page.get_by_test_id(f"draft-{PROCESS}")).to_contain_text("未发现问题")
    no_errors(page)

    def drafted():
        return sorted(
            db.session.scalars(
                select(DefinitionDraft.process_id).where(DefinitionDraft.scheme_year.has(year=NEXT))
            )
        )

    assert PROCESS in world.query(drafted) and "annual_cycle" in world.query(drafted)
    assert instance_versions(world, YEAR) == seen["2012"], "2012 is untouched"


def test_the_admin_puts_an_office_review_after_the_scoring_and_deploys_it(world, sign_in, seen):
    page = sign_in("admin")
    page.goto(f"{world.base_url}/admin/processes/{NEXT}")
    page.get_by_test_id(f"edit-{PROCESS}").first.click()
    page.wait_for_url(f"**/admin/processes/{NEXT}/{PROCESS}/edit")
    editor_ready(page)

    # the flow from the scoring to the review goes (a click on it, the context pad's bin)
    f4 = page.locator('.djs-connection[data-element-id="f4"]')
    page.mouse.click(*f4.evaluate(HALFWAY))
    selected(page, "f4")
    pad(page, "delete")
    expect(f4).to_have_count(0)

    # a task appended to the scoring, named as it appears, made a user task with the wrench
    shape(page, "score").click()
    pad(page, "append.append-task")
    added = page.locator(".djs-shape.selected")
    expect(added).to_have_count(1)
    new_id = added.get_attribute("data-element-id") or ""
    page.keyboard.type(STEP)  # the new task's label is being edited
    page.mouse.click(*middle(page, "lane_leadership"))  # done typing: a click elsewhere
    shape(page, new_id).click()
    pad(page, "replace")
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    selected(page, new_id)  # the same element, now a user task

    # dragged up into the office's lane, above the scoring, and connected on to the review
    drag(page, middle(page, new_id), (middle(page, "score")[0], middle(page, "open_round")[1]))
    selected(page, new_id)
    pad(page, "connect")
    x, y = middle(page, "to_review")
    page.mouse.move(x - 10, y, steps=5)
    page.mouse.click(x, y)
    seen["element"] = new_id

    # the server's check flags the missing form on the new task; its problem selects it
    page.get_by_test_id("check").click()
    expect(page.get_by_test_id(f"problem-{new_id}")).to_be_visible()
    problem = page.locator(f'[data-testid="problems"] li[data-element="{new_id}"]')
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text(STEP)
    expect(problem).to_contain_text("表单")
    screenshot(page, "modeler-new-step", full_page=False)
    problem.click()
    selected(page, new_id)
    choose = page.locator("#bio-properties-panel-jixiao-formKey")
    labels = choose.locator("option").evaluate_all("options => options.map(o => o.textContent)")
    # each form is described beside its key (in Chinese when the catalogue is: tests/webapp/test_i18n.py)
    # (forms other test modules register, test.*, are in the same registry when the suite runs whole)
    assert [t for t in labels[1:] if " · " not in t and not t.startswith("test.")] == [], labels
    choose.select_option(FORM)
    saved(page)
    expect(page.get_by_test_id("no-problems")).to_be_visible()
    assert page.evaluate("window.jixiaoUntranslated()") == []
    no_errors(page)

    def draft_xml():
        return db.session.scalar(
            select(DefinitionDraft.bpmn_xml).where(
                DefinitionDraft.process_id == PROCESS, DefinitionDraft.scheme_year.has(year=NEXT)
            )
        )

    root = etree.fromstring(world.query(draft_xml).encode("utf-8"))
    task = root.find(f".//{{*}}userTask[@id='{new_id}']")
    assert task is not None and task.get("name") == STEP
    assert [p.get("value") for p in task.iter("{*}property") if p.get("name") == "formKey"] == [FORM]
    office_lane = [ref.text for ref in root.find(".//{*}lane[@id='lane_office']").iter("{*}flowNodeRef")]
    assert new_id in office_lane
    flows = {(f.get("sourceRef"), f.get("targetRef")) for f in root.iter("{*}sequenceFlow")}
    assert {("score", new_id), (new_id, "to_review")} <= flows and ("score", "to_review") not in flows

    # the diff marks the new step as added
    page.get_by_test_id("to-diff").click()
    expect(page.locator("[data-diff]")).to_have_attribute("data-ready", "true")
    expect(
        page.locator(f'[data-role="new"] .djs-element.jx-diff-added[data-element-id="{new_id}"]')
    ).to_have_count(1)
    expect(page.locator(f'[data-testid="changes"] li[data-element="{new_id}"]')).to_contain_text("新增")
    screenshot(page, "modeler-new-step-diff", full_page=False)
    no_errors(page)

    # deployed from the processes page: a comment is asked for, then given
    page.get_by_role("link", name=f"{NEXT} 年度流程").click()
    page.wait_for_url(re.compile(rf"/admin/processes/{NEXT}(#.*)?$"), wait_until="load")
    page.get_by_test_id(f"deploy-{PROCESS}").click()
    expect(page.locator(f"#comment-{PROCESS}")).to_have_class(re.compile("is-invalid"))
    refusal = page.get_by_test_id(f"draft-{PROCESS}").locator(".text-danger")
    expect(refusal).to_be_visible()
    assert CHINESE.search(refusal.inner_text()) and not LATIN.search(refusal.inner_text())
    page.console_errors.clear()  # type: ignore[attr-defined]  # the refusal's 422
    comment = "2013 年起部门评分后增加绩效办审核评分"
    page.fill(f"#comment-{PROCESS}", comment)
    page.get_by_test_id(f"deploy-{PROCESS}").click()
    expect(page.locator(".alert-success")).to_contain_text(f"{NEXT}")
    expect(page.get_by_test_id("versions")).to_contain_text(comment)
    no_errors(page)

    def deployed():
        return db.session.scalar(
            select(ProcessDefinition).where(
                ProcessDefinition.process_id == PROCESS, ProcessDefinition.scheme_year.has(year=NEXT)
            )
        )

    definition = world.query(deployed)
    assert definition is not None and definition.comment == comment
    seen["definition"] = definition.id
    assert instance_versions(world, YEAR) == seen["2012"], "2012's instances keep their versions"


def test_2012s_round_goes_on_from_its_scores_to_its_review_on_its_own_version(world, seen):
    assert world.advance(stop_at="round.review")  # its cities report, its departments score
    assert open_tasks(world, YEAR, element_id="review")
    now = instance_versions(world, YEAR)
    assert {i: now[i] for i in seen["2012"]} == seen["2012"], "no 2012 instance moved to another version"
    assert seen["definition"] not in set(now.values()), "what 2012 started since runs 2012's versions"

    def round_elements():
        return set(
            db.session.scalars(
                select(InboxTask.element_id)
                .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
                .where(
                    ProcessInstance.scheme_year_id == scheme_year_id(YEAR),
                    ProcessInstance.process_id == PROCESS,
                )
            )
        )

    assert {"score", "review"} <= world.query(round_elements) and seen["element"] not in world.query(
        round_elements
    )


def drive(world, run: simulation.Run, stop_at: str) -> None:
    """Let the simulation do 2013's work until a `stop_at` task is open; the server keeps its clock."""
    run.clock = max(run.clock, world.run.clock)
    with world.app.app_context():
        db.session.add(run.annual)
        assert simulation.advance(run, stop_at)
        db.session.commit()
    world.run.clock = max(world.run.clock, run.clock)


def test_2013s_half_year_round_starts_on_the_new_version(world, sign_in, seen):
    office = sign_in("office")
    top_bar(office, "年度考评").click()
    asked: list[str] = []
    office.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    office.get_by_test_id(f"cycle-{NEXT}").get_by_test_id("start-cycle").click()
    expect(office.get_by_test_id(f"cycle-{NEXT}").get_by_test_id("cycle-status")).to_be_visible()
    assert asked and str(NEXT) in asked[0], "starting a year asks first"
    no_errors(office)

    def begin():
        return simulation.Run(
            rng=random.Random(NEXT),
            clock=world.run.clock,
            scheme=world.run.scheme,
            year=NEXT,
            annual=cycle.annual_instance(SchemeYear.find(world.run.scheme, NEXT)),
        )

    seen["run"] = run = world.query(begin)
    drive(world, run, "round.score")  # 2013's declarations, its system, its cities' self-reports

    def half_year():
        return db.session.execute(
            select(ProcessInstance.definition_id, ProcessInstance.phase).where(
                ProcessInstance.scheme_year_id == scheme_year_id(NEXT),
                ProcessInstance.process_id == PROCESS,
                ProcessInstance.round == "half_year",
            )
        ).one()

    assert tuple(world.query(half_year)) == (seen["definition"], "half_year")


def test_a_new_department_user_signs_in_and_sees_the_departments_tasks(world, sign_in, browser):
    admin = sign_in("admin")
    top_bar(admin, "用户").click()
    admin.get_by_test_id("new-user").click()
    admin.fill("#username", "fgw.zhangwei")
    admin.fill("#display_name", "张伟")
    admin.select_option("#org", "fgw")
    admin.check('input[name="roles"][value="department"]')
    admin.get_by_role("button", name="保存", exact=True).click()
    temporary = admin.get_by_test_id("temporary-password").inner_text().strip()
    assert temporary
    no_errors(admin)

    def department_tasks():
        fgw = OrgUnit.by_code("fgw")
        user = db.session.scalar(select(User).where(User.username == "fgw.zhangwei"))
        assert user.org_id == fgw.id and user.has_role(Role.DEPARTMENT) and user.must_change_password
        return sorted(
            db.session.scalars(
                select(InboxTask.task_guid).where(
                    InboxTask.status == TaskStatus.OPEN,
                    InboxTask.org_id == fgw.id,
                    InboxTask.role == Role.DEPARTMENT,
                )
            )
        )

    expected = world.query(department_tasks)
    fgw_id = world.query(lambda: OrgUnit.by_code("fgw").id)
    (score,) = open_tasks(world, NEXT, element_id="score", org_id=fgw_id)
    assert score.task_guid in expected, "the department scores 2013's half-year round"

    # the user signs in with the password handed over, and must choose their own first
    page = signed_in_page(browser, world.base_url, world.database, "fgw.zhangwei", password=temporary)
    try:
        page.wait_for_url("**/account/password")  # the handed-over password first
        expect(page.locator(".alert-warning")).to_contain_text("密码")
        page.fill("#current_password", temporary)
        page.fill("#new_password", "Zhang-wei-own-2013")
        page.fill("#confirm_password", "Zhang-wei-own-2013")
        page.get_by_role("button", name="修改密码", exact=True).click()
        expect(page.locator(".alert-success")).to_be_visible()
        top_bar(page, "待办事项").click()
        rows = page.get_by_test_id("inbox-row")
        expect(rows).to_have_count(len(expected))
        assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.taskGuid)")) == expected
        expect(page.locator(f'[data-task-guid="{score.task_guid}"]')).to_contain_text("部门评分")
        screenshot(page, "inbox-new-department-user")
        no_errors(page)
    finally:
        page.context.close()


def test_after_the_scores_2013_reaches_the_new_step_and_the_office_approves_it(world, sign_in, seen):
    drive(world, seen["run"], FORM)  # every department's scores
    (step,) = open_tasks(world, NEXT, form_key=FORM)
    assert (step.element_id, step.title, step.role) == (seen["element"], STEP, Role.OFFICE)
    assert not open_tasks(world, NEXT, element_id="score"), "every department has scored"

    # the office finds it in its inbox and approves it; the round goes on to the review
    office = sign_in("office")
    top_bar(office, "待办事项").click()
    link = office.locator(f'a[href="/tasks/{step.task_guid}"]')
    expect(link).to_contain_text(STEP)
    screenshot(office, "inbox-office-new-step")
    link.first.click()
    office.wait_for_url(f"**/tasks/{step.task_guid}")
    labels = office.locator("#task-form label").all_inner_texts()
    assert labels and not [t for t in labels if LATIN.search(t)], labels
    office.select_option('select[name="decision"]', "approve")
    office.get_by_test_id("submit-button").click()
    office.wait_for_url(lambda url: f"/tasks/{step.task_guid}" not in url)
    assert [t.element_id for t in open_tasks(world, NEXT, instance_id=step.instance_id)] == ["review"]
    no_errors(office)
