"""A year in the browser: a city drafts and submits its self-report, a department's out-of-range score
is refused and a valid one accepted, the office watches the monitor's counts change and reminds a
late department, the office reviews every score with its flags (a bare submit decides nothing) and
the leadership approves on the ranking, and after a simulated year the results page draws its charts.
The tests run in file order on one simulated year; each leaves the year where the next expects it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from models.db import db
from models.evaluation import EvaluationRound, RoundKind, Score
from models.notification import Notification
from models.org import OrgUnit, User
from models.workflow import InboxTask, TaskStatus
from tests.browser.conftest import PHONE_SCREEN, screenshot
from webapp.domain.process import tasks as task_service
from workflows.forms.values import raw_values

# Pixels of a canvas that are not transparent: ECharts has drawn something.
PAINTED_PIXELS = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { painted++; } }
  return painted;
}"""


def painted(page: Page, canvas, seconds: float = 10) -> int:
    """Painted pixels of a canvas, waiting up to `seconds` for the chart's animation to draw them."""
    count = 0
    for _ in range(int(seconds / 0.25)):
        count = canvas.evaluate(PAINTED_PIXELS)
        if count > 100:
            break
        page.wait_for_timeout(250)
    return count


def open_task_guid(world, form_key: str, org_code: str) -> str:
    def find():
        return db.session.scalar(
            select(InboxTask.task_guid)
            .join(OrgUnit, OrgUnit.id == InboxTask.org_id)
            .where(
                InboxTask.form_key == form_key, InboxTask.status == TaskStatus.OPEN, OrgUnit.code == org_code
            )
        )

    guid = world.query(find)
    assert guid, f"no open {form_key} task for {org_code}"
    return guid


def task_status(world, guid: str) -> TaskStatus:
    return world.query(lambda: InboxTask.by_guid(guid).status)


def open_from_inbox(page: Page, world, guid: str) -> None:
    page.goto(world.base_url + "/inbox/")
    expect(page.get_by_test_id("open-count")).to_be_visible()
    page.locator(f'a[href="/tasks/{guid}"]').first.click()
    page.wait_for_url(f"**/tasks/{guid}")


def test_a_city_saves_a_draft_comes_back_to_it_and_submits(world, sign_in):
    guid = open_task_guid(world, "round.self_report", "shenyang")
    page = sign_in("shenyang")
    screenshot(page, "inbox-city")
    open_from_inbox(page, world, guid)
    expect(page.get_by_test_id("instructions")).to_be_visible()
    expect(page.get_by_test_id("task-diagram")).to_have_attribute("data-loaded", "true")
    first = page.locator('input[name="rows-0-completion"]')
    first.fill("已完成全年目标的 58%")
    expect(page.get_by_test_id("dirty-indicator")).to_be_visible()
    page.get_by_test_id("save-draft-button").click()
    expect(page.get_by_test_id("draft-state")).to_be_visible()
    screenshot(page, "task-self-report")

    # leaving and coming back keeps the draft
    page.goto(world.base_url + "/")
    open_from_inbox(page, world, guid)
    expect(page.locator('input[name="rows-0-completion"]')).to_have_value("已完成全年目标的 58%")

    # typing without saving warns before leaving
    page.locator('input[name="rows-1-completion"]').fill("按序时进度推进")
    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    with pytest.raises(PlaywrightError, match="ERR_ABORTED"):  # staying on the page aborts the navigation
        page.goto(world.base_url + "/inbox/")
    assert dialogs == ["beforeunload"]
    page.remove_listener("dialog", dismiss)
    assert page.url.endswith(f"/tasks/{guid}")

    # fill in the rest and submit
    page.locator('input[name$="-completion"]').evaluate_all(
        "inputs => inputs.forEach(i => { if (!i.value) { i.value = '完成'; i.dispatchEvent(new Event('input', {bubbles: true})); } })"
    )
    page.get_by_test_id("submit-button").click()
    page.wait_for_url(lambda url: f"/tasks/{guid}" not in url or "status" in url)
    assert task_status(world, guid) == TaskStatus.COMPLETED
    assert page.js_errors == []

    phone = sign_in("shenyang", viewport=PHONE_SCREEN)
    phone.goto(world.base_url + "/inbox/?status=completed")
    screenshot(phone, "inbox-city-phone")
    phone.goto(world.base_url + f"/tasks/{guid}")
    screenshot(phone, "task-self-report-phone", full_page=False)


def test_a_department_score_out_of_range_is_refused_then_a_valid_one_accepted(world, sign_in):
    assert world.advance(stop_at="round.score")
    guid = open_task_guid(world, "round.score", "fgw")
    page = sign_in("fgw")
    open_from_inbox(page, world, guid)
    scores = page.locator('input[name$="-score"]')
    assert scores.count() >= 14
    # full marks everywhere (the max each input carries), then one score above its weight
    scores.evaluate_all(
        "inputs => inputs.forEach(i => { i.value = i.max; i.dispatchEvent(new Event('input', {bubbles: true})); })"
    )
    first = page.locator('input[name="rows-0-score"]')
    weight = float(first.get_attribute("max"))
    first.fill(f"{weight + 5:.2f}")
    expect(page.get_by_test_id("grid-total").first).to_be_visible()
    page.get_by_test_id("submit-button").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    error = page.get_by_test_id("field-error").first
    expect(error).to_be_visible()
    assert task_status(world, guid) == TaskStatus.OPEN
    screenshot(page, "task-score-refused")

    # a valid score below full marks needs a reason
    page.locator('input[name="rows-0-score"]').fill(f"{weight - 1:.2f}")
    page.locator('[name="rows-0-reason"]').fill("部分目标未完成。")
    page.get_by_test_id("submit-button").dblclick()  # two clicks submit once: no "no longer waiting" page
    page.wait_for_url(lambda url: f"/tasks/{guid}" not in url)
    assert task_status(world, guid) == TaskStatus.COMPLETED
    assert page.js_errors == []


def test_the_office_watches_the_counts_change_and_sends_a_reminder(world, sign_in):
    # a week after the scores were due (Saturday 28 July): the late departments are red
    world.run.clock = max(world.run.clock, world.run.clock.replace(month=8, day=1, hour=10))
    page = sign_in("office")
    page.goto(world.base_url + "/monitor/2012")
    diagram = page.get_by_test_id("diagram")
    expect(diagram).to_have_attribute("data-loaded", "evaluation_round")
    overlay = page.get_by_test_id("overlay-score")
    before = int(overlay.get_attribute("data-open"))
    assert before >= 1
    assert int(overlay.get_attribute("data-overdue")) == before
    screenshot(page, "monitor")

    # another department submits its scores meanwhile
    jtt = open_task_guid(world, "round.score", "jtt")

    def submit_jtt():
        user = db.session.scalar(select(User).where(User.username == "jtt"))
        task = InboxTask.by_guid(jtt)
        data = raw_values(task_service.build_form(task, user))
        for row in data["rows"]:
            row["score"], row["reason"] = "0.5", "未完成。"
        task_service.complete_task(jtt, user, data)
        db.session.commit()

    world.query(submit_jtt)
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("overlay-score")).to_have_attribute("data-open", str(before - 1))

    # one click reminds the late department; the row shows when
    late = open_task_guid(world, "round.score", "jyt")
    row = page.locator(f'tr[data-task="{late}"]')
    expect(row).to_have_attribute("data-level", "red")
    row.get_by_test_id("remind").click()
    expect(page.locator(".alert-success")).to_be_visible()

    def reminders():
        return db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(User, User.id == Notification.user_id)
            .join(OrgUnit, OrgUnit.id == User.org_id)
            .where(OrgUnit.code == "jyt", Notification.kind == "reminder")
        )

    assert world.query(reminders) >= 1
    department = sign_in("jyt")
    expect(department.get_by_test_id("unread-count")).to_be_visible()

    # from the year into a phase: the annual diagram, a click on the half-year call, its round
    page.get_by_test_id("diagram-select").select_option("annual_cycle")
    expect(diagram).to_have_attribute("data-loaded", "annual_cycle")
    page.locator('#diagram g.djs-element[data-element-id="phase_half_year"]').click()
    expect(diagram).to_have_attribute("data-loaded", "evaluation_round")
    expect(page.locator('[data-instances-for="evaluation_round"]')).to_be_visible()
    expect(page.locator('[data-instances-for="annual_cycle"]')).to_be_hidden()
    # and from the tree (its 46 declarations folded away) into a department's own declaration
    page.locator(".instance-tree details > summary").first.click()
    page.locator('.instance-tree [data-show-process="department_declaration"]').first.click()
    expect(diagram).to_have_attribute("data-loaded", "department_declaration")
    screenshot(page, "monitor-tree")
    assert page.js_errors == []


def test_the_office_reviews_every_score_with_its_flags_and_the_leadership_approves_on_the_ranking(
    world, sign_in
):
    assert world.advance("round.review")

    def plant_a_zero():  # a large deduction the review must flag
        task = db.session.scalars(
            select(InboxTask).where(InboxTask.form_key == "round.review", InboxTask.status == TaskStatus.OPEN)
        ).one()
        round_ = EvaluationRound.find(task.instance.scheme_year_id, RoundKind(task.scope))
        score = db.session.scalars(
            select(Score)
            .join(OrgUnit, OrgUnit.id == Score.city_id)
            .where(Score.round_id == round_.id, OrgUnit.code == "dalian")
            .order_by(Score.indicator_id)
        ).first()
        score.score, score.reason = Decimal(0), "台账缺失，无法核实。"
        db.session.commit()
        return task.task_guid

    guid = world.query(plant_a_zero)
    page = sign_in("office")
    page.goto(f"{world.base_url}/tasks/{guid}")
    matrix = page.get_by_test_id("review-matrix")
    expect(matrix.locator('[data-testid="cell-flag"][data-flag="large_deduction"]').first).to_be_visible()
    expect(matrix).to_contain_text("台账缺失，无法核实。")
    ranking = page.get_by_test_id("ranking")
    expect(ranking.get_by_test_id("ranking-row")).to_have_count(14)
    page.get_by_test_id("review-context").scroll_into_view_if_needed()
    screenshot(page, "review-overview", full_page=False)
    # drilling into a city leaves its column alone in the matrix
    ranking.get_by_role("link", name="大连市").click()
    expect(matrix.locator('td[data-col="dalian"]').first).to_be_visible()
    expect(matrix.locator('td[data-col="shenyang"]').first).to_be_hidden()
    screenshot(page, "review-matrix", full_page=False)
    # a bare submit decides nothing: the decision is asked for
    page.get_by_test_id("submit-button").click()
    expect(page.locator('[data-testid="field-error"][data-field="decision"]')).to_be_visible()
    page.select_option('select[name="decision"]', "approve")
    page.get_by_test_id("submit-button").click()
    page.wait_for_url(lambda url: f"/tasks/{guid}" not in url)
    assert task_status(world, guid) == TaskStatus.COMPLETED
    assert page.js_errors == []

    assert world.advance("round.approve")
    approve = world.query(
        lambda: db.session.scalar(
            select(InboxTask.task_guid).where(
                InboxTask.form_key == "round.approve", InboxTask.status == TaskStatus.OPEN
            )
        )
    )
    leader = sign_in("leader")
    leader.goto(f"{world.base_url}/tasks/{approve}")
    approval = leader.get_by_test_id("approval-context")
    expect(approval.get_by_test_id("ranking-row")).to_have_count(14)
    expect(approval.get_by_test_id("ranking")).to_contain_text("大连市")
    flagged = approval.get_by_test_id("flagged-scores")
    expect(flagged.locator('[data-flag="large_deduction"]').first).to_be_visible()
    expect(flagged).to_contain_text("台账缺失，无法核实。")
    screenshot(leader, "round-approval")
    assert leader.js_errors == []


def test_after_the_year_the_results_page_draws_its_charts(world, sign_in):
    summary = world.finish_year()  # a whole simulated year: results published
    assert len(summary["cities"]) == 14
    page = sign_in("leader")
    screenshot(page, "home-leadership")
    page.goto(world.base_url + "/results/2012/dashboards")
    for chart in ("chart-ranking", "chart-radar", "chart-trend", "chart-heatmap"):
        canvas = page.get_by_test_id(chart).locator("canvas").first
        expect(canvas).to_be_attached()
        page.get_by_test_id(chart).scroll_into_view_if_needed()
        assert painted(page, canvas) > 100, f"{chart} drew nothing"
    screenshot(page, "results-dashboards")
    page.goto(world.base_url + "/results/2012")
    screenshot(page, "results-year")
    assert page.js_errors == []
