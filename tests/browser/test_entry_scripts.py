"""Our entry scripts on small pages of their own (no server): the co-owner picker, the subtotal over
its maximum, and the confirmation before a consequential button."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

JS = Path(__file__).resolve().parents[2] / "webapp" / "static" / "js"


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def load(page: Page, html: str, script: str) -> None:
    page.set_content(f"<!doctype html><html><body>{html}</body></html>")
    page.add_script_tag(path=str(JS / script))


def test_the_co_owner_picker_filters_and_ticks_what_the_select_posts(page):
    options = "".join(f'<option value="d{n}">部门{n}</option>' for n in range(46))
    load(
        page,
        '<form><label for="co">协办部门</label><select multiple id="co" name="co" data-multi-select '
        f'data-filter-placeholder="筛选" data-chosen-label="已选 {{n}} 个">{options}</select></form>',
        "multiselect.js",
    )
    assert page.locator("#co").is_hidden(), "the select stays in the form, hidden"
    page.get_by_test_id("multi-select-filter").fill("部门4")
    visible = page.locator(".multi-select .form-check:visible")
    expect(visible).to_have_count(7)  # 部门4 and 部门40 … 部门45
    page.get_by_label("部门42").check()
    page.get_by_test_id("multi-select-filter").fill("")
    page.get_by_label("部门7", exact=True).check()
    assert page.eval_on_selector("#co", "s => [...s.selectedOptions].map(o => o.value)") == ["d7", "d42"]
    expect(page.get_by_test_id("multi-select-count")).to_have_text("已选 2 个")
    page.get_by_label("部门42").uncheck()
    assert page.eval_on_selector("#co", "s => [...s.selectedOptions].map(o => o.value)") == ["d7"]
    assert page.js_errors == []


def test_a_subtotal_over_its_maximum_is_marked_while_typing(page):
    load(
        page,
        '<form id="task-form"><fieldset data-grid="rows" data-over-message="超过满分 {max} 分">'
        '<table data-grid-table><tr data-grid-row><td><input id="s" data-grid-col="score" data-grid-score '
        'data-city="沈阳" data-dimension="D1" min="0" max="238"></td></tr></table>'
        '<span class="grid-total" data-max="238" data-testid="grid-total" data-total-of="dimension" '
        'data-dimension="D1">0</span>'
        '<span class="grid-total" data-max="238" data-testid="grid-total" data-total-of="city" '
        'data-city="沈阳">0</span></fieldset></form>',
        "task.js",
    )
    page.fill("#s", "100018.35")
    totals = page.locator(".grid-total")
    expect(totals.first).to_have_text("100018.35")
    for n in range(2):
        expect(totals.nth(n)).to_have_class("grid-total is-over")
        expect(totals.nth(n)).to_have_attribute("title", "超过满分 238 分")
    page.fill("#s", "200")
    expect(totals.first).to_have_class("grid-total")
    assert totals.first.get_attribute("title") is None
    assert page.js_errors == []


def test_a_consequential_button_submits_only_when_confirmed(page):
    load(
        page,
        '<form action="about:blank#sent" method="get"><button id="go" type="submit" '
        'data-confirm="向所有红牌单位发送催办？">催办全部红牌</button></form>',
        "confirm.js",
    )
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#go")
    page.wait_for_timeout(200)
    assert asked == ["向所有红牌单位发送催办？"] and "#sent" not in page.url, "refused: nothing sent"
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#go")
    assert "sent" in page.url


def test_the_totals_bar_never_covers_the_focused_row(page):
    rows = "".join(
        f'<tr data-grid-row><td><input id="s{n}" data-grid-col="score" data-grid-score data-city="沈阳" '
        f'data-dimension="D1"></td></tr>'
        for n in range(60)
    )
    load(
        page,
        f'<form id="task-form"><fieldset data-grid="rows"><table data-grid-table class="task-grid">{rows}</table>'
        '<div class="grid-totals" data-testid="grid-totals">合计 <span>0</span></div></fieldset></form>',
        "task.js",
    )
    page.add_style_tag(path=str(JS.parent / "css" / "app.css"))
    page.set_viewport_size({"width": 800, "height": 600})
    # a row just under the sticky bar: inside the window, yet hidden behind the totals
    page.evaluate(
        "() => { const r = document.getElementById('s40').closest('tr').getBoundingClientRect();"
        " window.scrollBy(0, r.bottom - window.innerHeight + 4); }"
    )
    covered = page.evaluate(
        "() => document.getElementById('s40').closest('tr').getBoundingClientRect().bottom >"
        " document.querySelector('.grid-totals').getBoundingClientRect().top"
    )
    assert covered, "the set-up puts the row under the bar"
    page.focus("#s40")
    page.wait_for_timeout(100)
    assert page.evaluate(
        "() => document.getElementById('s40').closest('tr').getBoundingClientRect().bottom <="
        " document.querySelector('.grid-totals').getBoundingClientRect().top"
    ), "focusing the row brings it clear of the bar"
