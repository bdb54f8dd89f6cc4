"""A city's self-report on a 390-px phone (one card per indicator, nothing wider than the screen), and a
consequential button that asks first from the moment the page can be clicked."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE_SCREEN, screenshot
from tests.browser.test_year_in_browser import open_task_guid


def test_a_citys_self_report_fits_a_390_px_phone(world, sign_in):
    guid = open_task_guid(world, "round.self_report", "anshan")
    page = sign_in("anshan", viewport=PHONE_SCREEN)
    page.goto(world.base_url + f"/tasks/{guid}")
    first = page.locator('input[name="rows-0-completion"]')
    expect(first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    # each row is a card labelled by its columns: the target and last round's value beside the input
    row = page.get_by_test_id("grid-row").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    label = row.locator("td[data-label]").nth(2).evaluate("td => getComputedStyle(td, '::before').content")
    assert label.strip('"') == "目标值"
    screenshot(page, "task-self-report-phone-cards", full_page=False)
    assert page.js_errors == []
    desktop = sign_in("anshan")
    desktop.goto(world.base_url + f"/tasks/{guid}")
    expect(desktop.locator('input[name="rows-0-completion"]')).to_be_visible()
    screenshot(desktop, "task-self-report-columns", full_page=False)


def test_a_consequential_button_asks_even_before_the_pages_other_scripts_have_loaded(world, sign_in):
    page = sign_in("office")
    held = []  # Bootstrap's script is held back: the page is drawn and clickable, its last scripts not run
    page.route("**/bootstrap.bundle.min.js", lambda route: held.append(route))
    page.goto(world.base_url + "/account", wait_until="commit")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_test_id("sign-out-everywhere").click()
    page.wait_for_timeout(300)
    assert held, "the page was still loading when the button was clicked"
    assert asked == ["退出所有会话（包括本次会话）吗？"], "the confirmation guards the button from the start"
    for route in held:
        route.continue_()
    page.wait_for_load_state("load")
    assert page.url == world.base_url + "/account", "refused: nothing was sent"
    expect(page.get_by_test_id("sign-out-everywhere")).to_be_visible()
