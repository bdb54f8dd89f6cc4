"""The administrator's modeler in the browser: 2013 prepared from 2012, the admin opens 2013's
evaluation round from the processes page, finds the modeler in Chinese, saves it untouched (every
extension element kept), changes a user task's form key through our properties group and saves it,
empties it and sees the problem on the element, and finds the changed element marked on the diff;
in English the modeler speaks English and leaving with an unsaved edit asks first; and every entry
of our group (lane role, collection and item, branch condition, call binding, phase, timer) writes
what the runtime reads.

The year needs no simulation: the demo data, the diagrams deployed and 2013 prepared are enough, so
the module serves its own app (conftest's `browser` and `signed_in_page`, not its simulated world)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from lxml import etree
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from models.db import db
from models.org import User
from models.scheme import Scheme, SchemeYear
from models.workflow import DefinitionDraft
from tests.browser.conftest import browser_app, database_name, screenshot, served, signed_in_page
from tests.conftest import deploy_workflows
from webapp.domain.process import cycle

PROCESS = "evaluation_round"
LATIN = re.compile(r"[A-Za-z]{2,}")


@dataclass
class Site:
    app: Flask
    base_url: str

    def draft_xml(self, year: int = 2013, process_id: str = PROCESS) -> str:
        with self.app.app_context():
            return db.session.scalar(
                select(DefinitionDraft.bpmn_xml).where(
                    DefinitionDraft.process_id == process_id, DefinitionDraft.scheme_year.has(year=year)
                )
            )


@pytest.fixture(scope="module")
def site(database_url: str, _schema, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    app = browser_app(database_url, tmp_path_factory)
    with app.app_context():
        deploy_workflows()
        scheme = Scheme.by_code(app.config["DEFAULT_SCHEME"])
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        cycle.prepare_next_year(admin, SchemeYear.find(scheme, 2012), datetime(2012, 1, 1, tzinfo=UTC))
        db.session.commit()
    with served(app) as base_url:
        yield Site(app=app, base_url=base_url)


@pytest.fixture
def admin_page(site: Site, browser: Browser) -> Iterator[Page]:
    page = signed_in_page(browser, site.base_url, database_name(site.app.config["DATABASE_URL"]), "admin")
    yield page
    page.context.close()


def canonical(xml: str) -> tuple:
    """The document as nested (tag, attributes, text, children), whitespace and attribute order aside."""

    def walk(node) -> tuple:
        children = tuple(walk(c) for c in node if isinstance(c.tag, str))
        return (node.tag, tuple(sorted(node.attrib.items())), (node.text or "").strip(), children)

    return walk(etree.fromstring(xml.encode("utf-8")))


def semantics(xml: str) -> list[tuple]:
    """Everything but the drawing (what the engine runs, and the messages and pools), for comparing."""
    root = etree.fromstring(xml.encode("utf-8"))
    return [
        canonical(etree.tostring(child).decode("utf-8")) for child in root if "BPMNDiagram" not in child.tag
    ]


def editor_ready(page: Page) -> None:
    expect(page.locator("[data-modeler]")).to_have_attribute("data-ready", "true")


def saved(page: Page) -> str:
    """Click save and wait for the server's answer: the draft's new saved-at stamp."""
    before = page.locator("[data-modeler]").get_attribute("data-saved-at") or ""
    page.get_by_test_id("save").click()
    page.wait_for_function(
        "before => (document.querySelector('[data-modeler]').dataset.savedAt || '') !== before", arg=before
    )
    expect(page.get_by_test_id("status")).to_have_attribute("data-kind", "saved")
    return page.locator("[data-modeler]").get_attribute("data-saved-at") or ""


def test_the_admin_revises_a_diagram_in_the_modeler_and_sees_the_change_on_the_diff(
    site: Site, admin_page: Page
):
    page = admin_page
    original = site.draft_xml()
    page.goto(f"{site.base_url}/admin/processes/2013")
    page.get_by_test_id(f"edit-{PROCESS}").first.click()
    page.wait_for_url(f"**/admin/processes/2013/{PROCESS}/edit")
    editor_ready(page)

    # the modeler in Chinese: palette tooltips, the properties panel's group titles, our group
    titles = page.locator(".djs-palette .entry").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('aria-label') || n.title).filter(Boolean)"
    )
    assert len(titles) >= 8 and not [t for t in titles if LATIN.search(t)], titles
    page.locator('[data-element-id="review"]').click()
    groups = page.locator(".bio-properties-panel-group-header-title").all_inner_texts()
    assert "考评流程" in groups and not [g for g in groups if LATIN.search(g)], groups
    expect(page.locator("#bio-properties-panel-jixiao-formKey")).to_have_value("round.review")
    screenshot(page, "modeler", full_page=False)

    # open → save untouched keeps every extension element and the multi-instance collections
    saved(page)
    assert semantics(site.draft_xml()) == semantics(original)

    # the form key through our group, saved
    page.select_option("#bio-properties-panel-jixiao-formKey", "round.approve")
    expect(page.get_by_test_id("status")).to_have_attribute("data-kind", "dirty")
    saved(page)
    stored = site.draft_xml()
    review = etree.fromstring(stored.encode()).find(".//{*}userTask[@id='review']")
    keys = [p.get("value") for p in review.iter("{*}property") if p.get("name") == "formKey"]
    assert keys == ["round.approve"]

    # no form key: the server's problem shows on the element and in the list, which selects it
    page.select_option("#bio-properties-panel-jixiao-formKey", "")
    page.get_by_test_id("check").click()
    expect(page.get_by_test_id("problem-review")).to_be_visible()
    item = page.locator('[data-testid="problems"] li[data-element="review"]')
    expect(item).to_contain_text("表单")
    page.locator('[data-element-id="self_report"]').click()
    item.click()
    expect(page.locator('.djs-element.selected[data-element-id="review"]')).to_have_count(1)
    saved(page)
    assert page.evaluate("window.jixiaoUntranslated()") == []
    assert page.js_errors == [] and page.console_errors == []  # type: ignore[attr-defined]

    # the diff marks the changed task, and lists it by name
    page.goto(f"{site.base_url}/admin/processes/2013/{PROCESS}/diff")
    expect(page.locator("[data-diff]")).to_have_attribute("data-ready", "true")
    expect(
        page.locator('[data-role="new"] .djs-element.jx-diff-changed[data-element-id="review"]')
    ).to_have_count(1)
    expect(page.locator('[data-testid="changes"] li[data-element="review"]')).to_contain_text("修改")
    screenshot(page, "modeler-diff", full_page=False)
    assert page.js_errors == [] and page.console_errors == []  # type: ignore[attr-defined]


def test_in_english_the_modeler_speaks_english_and_warns_before_losing_an_edit(site: Site, admin_page: Page):
    page = admin_page
    page.goto(f"{site.base_url}/lang/en?next=/admin/processes/2013/{PROCESS}/edit")
    editor_ready(page)
    titles = page.locator(".djs-palette .entry").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('aria-label') || n.title).filter(Boolean)"
    )
    assert "Create start event" in titles, titles
    page.locator('[data-element-id="review"]').click()
    assert "Jixiao" in page.locator(".bio-properties-panel-group-header-title").all_inner_texts()

    page.locator("#bio-properties-panel-name").fill("Review by the office")
    expect(page.get_by_test_id("status")).to_have_attribute("data-kind", "dirty")
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]


def pick(page: Page, element_id: str) -> None:
    """Select an element as a click on it would (the test's handle: window.jixiaoModeler)."""
    page.evaluate(
        "id => { const m = window.jixiaoModeler; m.get('selection').select(m.get('elementRegistry').get(id)); }",
        element_id,
    )
    expect(page.locator(".bio-properties-panel-header-label")).to_be_visible()


def applied(page: Page, element_id: str, check: str) -> None:
    """Wait until the element's business object `bo` satisfies `check` (text entries are debounced)."""
    page.wait_for_function(
        f"id => {{ const bo = window.jixiaoModeler.get('elementRegistry').get(id).businessObject; return {check}; }}",
        arg=element_id,
    )


def test_our_group_writes_what_the_runtime_reads(site: Site, admin_page: Page):
    page = admin_page
    page.goto(f"{site.base_url}/admin/processes/2013/{PROCESS}/edit")
    editor_ready(page)
    roles = page.evaluate(
        "JSON.parse(document.getElementById('modeler-config').textContent).vocabulary.roles"
    )

    pick(page, "lane_city")  # named by its role: it takes the new role's name
    page.select_option("#bio-properties-panel-jixiao-role", "expert")
    pick(page, "self_report")
    page.fill("#bio-properties-panel-jixiao-collection", "towns")
    applied(page, "self_report", "bo.loopCharacteristics.loopDataInputRef.id === 'towns'")
    page.fill("#bio-properties-panel-jixiao-item", "town")
    applied(page, "self_report", "bo.loopCharacteristics.inputDataItem.id === 'town'")
    pick(page, "f_accept")
    page.fill("#bio-properties-panel-jixiao-condition", 'decision == "accept"')
    applied(page, "f_accept", "bo.conditionExpression.body === 'decision == \"accept\"'")
    pick(page, "corrections")
    page.select_option("#bio-properties-panel-jixiao-binding", "deployment")
    pick(page, "pool_evaluation_round")
    page.select_option("#bio-properties-panel-jixiao-phase", "q3")
    saved(page)

    root = etree.fromstring(site.draft_xml().encode())

    def props(element) -> dict:
        return {
            p.get("name"): p.get("value") for p in element.iterfind("./{*}extensionElements//{*}property")
        }

    lane = root.find(".//{*}lane[@id='lane_city']")
    assert props(lane) == {"role": "expert"} and lane.get("name") == roles["expert"]
    loop = root.find(".//{*}userTask[@id='self_report']/{*}multiInstanceLoopCharacteristics")
    assert loop.findtext("{*}loopDataInputRef") == "towns"
    assert (loop.find("{*}inputDataItem").get("id"), loop.find("{*}inputDataItem").get("name")) == (
        "town",
        "town",
    )
    assert (
        root.find(".//{*}sequenceFlow[@id='f_accept']").findtext("{*}conditionExpression")
        == 'decision == "accept"'
    )
    assert props(root.find(".//{*}callActivity[@id='corrections']"))["binding"] == "deployment"
    assert props(root.find("{*}process"))["phase"] == "q3"

    page.goto(f"{site.base_url}/admin/processes/2013/annual_cycle/edit")
    editor_ready(page)
    pick(page, "timer_declaration")
    expect(page.locator("#bio-properties-panel-jixiao-timerKind")).to_have_value("timeDate")
    page.select_option("#bio-properties-panel-jixiao-timerKind", "timeDuration")
    page.fill("#bio-properties-panel-jixiao-timerValue", '"P5D"')
    applied(page, "timer_declaration", "bo.eventDefinitions[0].timeDuration.body === '\"P5D\"'")
    pick(page, "phase_declaration")
    expect(page.locator("#bio-properties-panel-jixiao-calledElement")).to_have_value("declaration")
    saved(page)
    timer = etree.fromstring(site.draft_xml(process_id="annual_cycle").encode()).find(
        ".//{*}intermediateCatchEvent[@id='timer_declaration']/{*}timerEventDefinition"
    )
    assert timer.find("{*}timeDate") is None and timer.findtext("{*}timeDuration") == '"P5D"'
    assert page.evaluate("window.jixiaoUntranslated()") == []
    assert page.js_errors == [] and page.console_errors == []  # type: ignore[attr-defined]
