"""Chinese as the browser shows it, in a simulated year: a department's score grid with an empty
cell, a score above its weight and a score below full marks without a reason reports all three
beside their cells after one submit; and no English sentence is on any Chinese page a role sees once
the scripts have run: the diagrams bpmn-js draws on the task and monitor pages, the charts ECharts
draws on the dashboards (their axes, legends and series, read from the charts' options), the
modeler's palette and properties panel, the confirmation dialog `confirm.js` opens, the multi-select
`multiselect.js` builds and the messages `task.js` writes beside the grid's cells.

What counts as English is `tests/webapp/chinese_pages.py`'s (the crawl of `test_chinese_pages.py`
reads the server's HTML; this reads the page after its scripts). The tests run in file order on one
simulated year, from the cities' self-reports to its end."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from sqlalchemy import select

from models.db import db
from models.org import User
from models.scheme import Indicator, Scheme, SchemeYear
from models.workflow import InboxTask, TaskStatus
from tests.browser.conftest import screenshot
from tests.browser.test_year_in_browser import open_task_guid, painted
from tests.webapp.chinese_pages import english_in, english_on_page
from tests.webapp.test_chinese_pages import one_word_msgids
from webapp.domain.process import cycle

# What a person reads of the page as drawn: its rendered text nodes (SVG's too: the diagrams' labels),
# the read attributes of what is rendered, and the texts of every chart.
RENDERED_TEXTS = """() => {
  const out = [];
  const shown = el => el.getClientRects().length > 0;
  // rendered text, less what chinese_pages.py reads as code (a browser's user agent in <code>)
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !parent || parent.closest('script, style, template, noscript, code, kbd, pre, samp')) continue;
    if (parent.checkVisibility({ checkVisibilityCSS: true })) out.push([parent.closest('svg') ? '<svg>' : 'text', text]);
  }
  document.querySelectorAll('[title], [placeholder], [aria-label], [alt]').forEach(el => {
    if (!shown(el)) return;
    ['title', 'placeholder', 'aria-label', 'alt'].forEach(name => {
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push(['<' + el.tagName.toLowerCase() + ' ' + name + '>', value.trim()]);
    });
  });
  // ECharts draws on canvas: its words are the option's names, texts and category data
  const WORDS = new Set(['name', 'text', 'subtext', 'data', 'indicator']);
  function collect(value, inWords) {
    if (typeof value === 'string') { if (inWords && value.trim()) out.push(['<chart>', value.trim()]); return; }
    if (Array.isArray(value)) { value.forEach(v => collect(v, inWords)); return; }
    if (value && typeof value === 'object') {
      Object.keys(value).forEach(key => collect(value[key], WORDS.has(key)));
    }
  }
  if (window.echarts) {
    document.querySelectorAll('[data-chart]').forEach(el => {
      const chart = window.echarts.getInstanceByDom(el);
      if (chart) collect(chart.getOption(), false);
    });
  }
  return out;
}"""


def only_open_task(world, form_key: str) -> str:
    """The one open task of a form key (the office's review, the leadership's approval)."""
    return world.query(
        lambda: db.session.scalars(
            select(InboxTask.task_guid).where(
                InboxTask.form_key == form_key, InboxTask.status == TaskStatus.OPEN
            )
        ).one()
    )


def english_shown(page: Page) -> list[str]:
    """The English a person reads on the page as drawn, and in its DOM after the scripts (data-*
    texts, JSON blocks, attributes of what is folded away)."""
    words = one_word_msgids()
    rendered = [
        f"{where} {phrase!r} in {text[:120]!r}"
        for where, text in page.evaluate(RENDERED_TEXTS)
        for phrase in english_in(text, words, label=where.startswith("<") and " " in where)
    ]
    return rendered + english_on_page(page.content(), words)


def assert_chinese(page: Page, name: str) -> None:
    found = sorted(set(english_shown(page)))
    assert not found, f"English on {name} ({page.url}):\n" + "\n".join(found)


def test_a_score_grid_with_three_kinds_of_error_reports_all_three_at_once(world, sign_in):
    assert world.advance(stop_at="round.score")
    guid = open_task_guid(world, "round.score", "fgw")
    page = sign_in("fgw")
    page.goto(f"{world.base_url}/tasks/{guid}")
    expect(page.get_by_test_id("task-diagram")).to_have_attribute("data-loaded", "true")
    scores = page.locator('input[name$="-score"]')
    assert scores.count() >= 3
    # full marks everywhere, then: row 0 empty, row 1 above its weight, row 2 below full marks bare
    scores.evaluate_all(
        "inputs => inputs.forEach(i => { i.value = i.max; i.dispatchEvent(new Event('input', {bubbles: true})); })"
    )
    page.locator('input[name="rows-0-score"]').fill("")
    over = page.locator('input[name="rows-1-score"]')
    over.fill(f"{float(over.get_attribute('max')) + 5:.2f}")
    below = page.locator('input[name="rows-2-score"]')
    below.fill(f"{float(below.get_attribute('max')) - 1:.2f}")
    page.locator('[name="rows-2-reason"]').fill("")
    # task.js's range hint beside the cell, and the subtotal's warning over the maximum, in Chinese
    expect(over.locator("xpath=ancestor::td[1]").locator("[data-grid-hint]")).to_be_visible()
    assert_chinese(page, "the score grid with task.js's hints")

    page.get_by_test_id("submit-button").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    empty = page.locator('[data-testid="field-error"][data-field="rows-0-score"]')
    out_of_range = page.locator('[data-testid="field-error"][data-field="rows-1-score"]')
    no_reason = page.locator('[data-testid="field-error"][data-field="rows-2-reason"]')
    for error in (empty, out_of_range, no_reason):
        expect(error).to_be_visible()
    expect(empty).to_contain_text("必填")
    expect(out_of_range).to_contain_text("之间")
    expect(no_reason).to_contain_text("满分")
    # beside their cells: each message sits in the grid's row of its cell
    for n, error in enumerate((empty, out_of_range, no_reason)):
        row = error.locator("xpath=ancestor::*[@data-grid-row][1]")
        expect(row.locator(f'input[name="rows-{n}-score"]')).to_have_count(1)
    assert world.query(lambda: InboxTask.by_guid(guid).status) == TaskStatus.OPEN, "nothing submitted"
    screenshot(page, "task-score-three-errors")
    assert_chinese(page, "the score grid with its errors")
    assert page.js_errors == []


def test_no_english_sentence_on_any_chinese_page_as_the_browser_shows_it(world, sign_in):
    found: dict[str, list[str]] = {}

    def read(page: Page, name: str, drawn: tuple[str, str] | None = None) -> None:
        """Note the English on the page; `drawn`: (where, text) the script drew, to be sure it is read."""
        if drawn:
            texts = page.evaluate(RENDERED_TEXTS)
            assert any(where == drawn[0] and drawn[1] in text for where, text in texts), (
                name,
                drawn,
                texts[-40:],
            )
        english = sorted(set(english_shown(page)))
        if english:
            found[f"{name} ({page.url})"] = english

    # the scores: another department's grid, its hints shown; the office's monitor and its confirmation
    department = sign_in("jtt")
    department.goto(f"{world.base_url}/tasks/{open_task_guid(world, 'round.score', 'jtt')}")
    expect(department.get_by_test_id("task-diagram")).to_have_attribute("data-loaded", "true")
    department.locator('input[name="rows-0-score"]').fill("9999")
    read(department, "the department's score grid")
    department.goto(f"{world.base_url}/account")
    read(department, "the department's account page")

    # a week after the scores were due: the late departments are on a red card
    world.run.clock = max(world.run.clock, world.run.clock.replace(month=8, day=1, hour=10))
    office = sign_in("office")
    office.goto(f"{world.base_url}/monitor/2012")
    expect(office.get_by_test_id("diagram")).to_have_attribute("data-loaded", "evaluation_round")
    read(office, "the monitor", ("<svg>", "绩效办"))
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    office.on("dialog", dismiss)
    office.get_by_test_id("remind-red").click()
    office.remove_listener("dialog", dismiss)
    assert len(dialogs) == 1, "remind everyone on a red card asks first"
    if english_in(dialogs[0], one_word_msgids()):
        found["the monitor's confirmation"] = dialogs

    # the office's review matrix, the leadership's approval
    assert world.advance("round.review")
    office.goto(f"{world.base_url}/tasks/{only_open_task(world, 'round.review')}")
    expect(office.get_by_test_id("review-matrix")).to_be_visible()
    expect(office.get_by_test_id("task-diagram")).to_have_attribute("data-loaded", "true")
    read(office, "the office's review matrix")
    assert world.advance("round.approve")
    leader = sign_in("leader")
    leader.goto(f"{world.base_url}/tasks/{only_open_task(world, 'round.approve')}")
    expect(leader.get_by_test_id("approval-context")).to_be_visible()
    expect(leader.get_by_test_id("task-diagram")).to_have_attribute("data-loaded", "true")
    read(leader, "the leadership's approval")

    # the half-year published, the third quarter's self-report open: the city's task page, the results
    assert world.advance("round.self_report")
    city = sign_in("shenyang")
    city.goto(f"{world.base_url}/tasks/{open_task_guid(world, 'round.self_report', 'shenyang')}")
    expect(city.get_by_test_id("task-diagram")).to_have_attribute("data-loaded", "true")
    read(city, "the city's self-report", ("<svg>", "市"))
    city.goto(f"{world.base_url}/results/2012")
    read(city, "the city's results")
    leader.goto(f"{world.base_url}/results/2012/dashboards")
    for chart in ("chart-ranking", "chart-radar", "chart-heatmap"):
        leader.get_by_test_id(chart).scroll_into_view_if_needed()
        assert painted(leader, leader.get_by_test_id(chart).locator("canvas").first) > 100, (
            f"{chart} drew nothing"
        )
    read(leader, "the dashboards", ("<chart>", "沈阳市"))

    # next year prepared: the admin's modeler, its palette and properties panel; the office's
    # indicator form with its multi-select of co-owner departments
    def prepare() -> None:
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        scheme = Scheme.by_code(world.app.config["DEFAULT_SCHEME"])
        cycle.prepare_next_year(admin, SchemeYear.find(scheme, 2012), datetime(2012, 10, 1, tzinfo=UTC))
        db.session.commit()

    world.query(prepare)
    admin = sign_in("admin")
    admin.goto(f"{world.base_url}/admin/processes/2013/evaluation_round/edit")
    expect(admin.locator("[data-modeler]")).to_have_attribute("data-ready", "true")
    admin.locator('[data-element-id="review"]').click()
    expect(admin.locator("#bio-properties-panel-jixiao-formKey")).to_have_value("round.review")
    read(admin, "the modeler")
    code = world.query(
        lambda: db.session.scalar(
            select(Indicator.code).join(SchemeYear).where(SchemeYear.year == 2013).order_by(Indicator.code)
        )
    )
    office.goto(f"{world.base_url}/indicators/2013/indicator/{code}")
    office.get_by_test_id("multi-select-filter").fill("厅")
    read(office, "the indicator form")

    assert not found, "\n".join(f"{name}:\n  " + "\n  ".join(english) for name, english in found.items())
    for page in (department, office, leader, city, admin):
        assert page.js_errors == [], page.js_errors
