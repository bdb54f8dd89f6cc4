"""Published stays published, in the browser: after a simulated year whose year-end verification found
fraud, the half-year published before it shows as a correction, and both versions can be read."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_a_fraud_finding_after_the_half_years_publication_shows_as_a_correction_with_both_versions(
    world, sign_in
):
    summary = world.finish_year()
    [fraud] = summary["fraud_findings"]
    page = sign_in(fraud["city"])
    page.goto(world.base_url + "/results/2012")
    notice = page.get_by_test_id("round-half_year").get_by_test_id("correction")
    expect(notice).to_have_attribute("data-version", "2")
    expect(notice).to_contain_text("更正于")
    expect(notice).to_contain_text(fraud["indicator"])
    screenshot(page, "results-corrected")

    notice.get_by_test_id("version-1").click()
    page.wait_for_url("**/results/2012?round=half_year&version=1")
    card = page.get_by_test_id("round-half_year")
    expect(card.get_by_test_id("correction")).to_have_attribute("data-version", "1")
    card.locator(f'a[href="/results/2012/half_year/city/{fraud["city"]}?version=1"]').click()
    first = page.get_by_test_id("city-summary").inner_text()
    expect(page.get_by_test_id("correction")).to_have_attribute("data-version", "1")

    page.get_by_test_id("correction").get_by_test_id("version-2").click()
    page.wait_for_url(f"**/results/2012/half_year/city/{fraud['city']}?version=2")
    corrected = page.get_by_test_id("city-summary").inner_text()
    assert first != corrected, "the first and the corrected figures differ"
    screenshot(page, "results-city-corrected")
    assert page.js_errors == [] and page.console_errors == []
