"""Every route × every role: who may open what. A new route must be added to ROUTES."""

from __future__ import annotations

import re

import pytest

# One demo user per role, and the org they belong to.
USERS = {
    "leadership": "leader",
    "office": "office",
    "department": "fgw",
    "city": "shenyang",
    "counterpart": "shenyang-jxb",
    "expert": "expert1",
    "third_party": "thirdparty",
    "admin": "admin",
}
OVERSIGHT = {"leadership", "office", "admin"}
EVERYONE = set(USERS)

# GET routes with concrete arguments → who gets a 2xx/3xx page; everyone else gets 403.
DRAFT_READERS = OVERSIGHT | {"expert"}
ROUTES = {
    "/": EVERYONE,
    "/indicators/": EVERYONE,
    # the 2012 demo system is a draft: only the office, the leadership, experts and admins see it
    "/indicators/2012": DRAFT_READERS,
    "/indicators/2012/export.xlsx": DRAFT_READERS,
    "/indicators/2012/compare": DRAFT_READERS,
    "/indicators/2012/indicator/new": {"office"},
    "/indicators/2012/indicator/I001": {"office"},
    "/cycle/": OVERSIGHT,
    "/cycle/2012/declarations": OVERSIGHT,
    "/results/": EVERYONE,
    "/results/2012": EVERYONE,
    "/results/2012/department": {"department"},
    "/orgs/": OVERSIGHT,
    "/orgs/shenyang": OVERSIGHT | {"city", "counterpart"},
    "/orgs/shenyang-jxb": OVERSIGHT | {"city", "counterpart"},
    "/orgs/dalian": OVERSIGHT,
    "/orgs/fgw": OVERSIGHT | {"department"},
    "/admin/users": {"admin"},
    "/admin/users/new": {"admin"},
    "/admin/users/fgw": {"admin"},
    "/admin/users/import": {"admin"},
    "/admin/users/template.xlsx": {"admin"},
    "/admin/processes/2012": {"admin"},
    "/account/password": EVERYONE,
    "/account": EVERYONE,
    "/inbox/": EVERYONE,
    "/notifications/": EVERYONE,
    "/results/2012/dashboards": EVERYONE,
    # the monitor of a year that has not started says so; its workings are in test_monitor.py
    "/monitor/": OVERSIGHT,
    "/monitor/2012": OVERSIGHT,
    "/monitor/2012/counts.json": OVERSIGHT,
}
# the help guides are public so that the sign-in page can link to them (test_help.py)
PUBLIC = {"/login", "/lang/<code>", "/static/<path:filename>", "/help/", "/help/<role>"}
POST_ONLY = {
    "/logout",
    "/role/<code>",
    "/cycle/start",
    "/notifications/read-all",
    # one's own sessions and tokens: checked in test_sessions_and_tokens.py
    "/account/sessions/revoke-all",
    "/account/tokens/revoke-all",
}


def test_every_route_is_covered_by_the_access_table(app):
    rules = {rule.rule for rule in app.url_map.iter_rules() if not rule.rule.startswith("/api/")}
    concrete = {r for r in rules if "<" not in r} - PUBLIC - POST_ONLY
    assert concrete <= set(ROUTES), f"routes without an access expectation: {sorted(concrete - set(ROUTES))}"
    templated = {r for r in rules if "<" in r} - PUBLIC - POST_ONLY
    # Task pages are checked against their task's org and role in test_tasks_web.py, the POST-only
    # editor and cycle actions in test_cycle_web.py.
    examples = {
        "/indicators/<int:year>",
        "/indicators/<int:year>/export.xlsx",
        "/indicators/<int:year>/compare",
        "/indicators/<int:year>/indicator/new",
        "/indicators/<int:year>/indicator/<code>",
        "/cycle/<int:year>/declarations",
        "/results/<int:year>",
        "/results/<int:year>/department",
        # result pages of a city: checked with published results in test_results.py
        "/results/<int:year>/<kind>/city/<code>",
        "/results/<int:year>/<kind>/city/<code>.<fmt>",
        "/results/<int:year>/province.<fmt>",
        # evidence downloads are checked per file in test_evidence.py
        "/evidence/<int:evidence_id>",
        # a declaration's files: checked per file and role in test_declaration_files.py
        "/evidence/declaration/<int:file_id>",
        # score templates are checked per task in test_score_excel.py
        "/tasks/<guid>/template.xlsx",
        "/orgs/<code>",
        "/tasks/<guid>",
        "/results/<int:year>/dashboards",
        # the dashboards' workbook answers 404 until results exist: checked in test_dashboards.py
        "/results/<int:year>/dashboards.xlsx",
        "/monitor/<int:year>",
        "/monitor/<int:year>/counts.json",
        # diagrams of a running year and of a task: checked in test_monitor.py
        "/monitor/<int:year>/diagram/<process_id>.bpmn",
        "/tasks/<guid>/diagram.bpmn",
        "/admin/users/<username>",
        "/admin/processes/<int:year>",
    }
    posts = {
        # preparing next year and revising its processes: checked in test_processes_page.py
        "/cycle/<int:year>/prepare-next",
        "/admin/processes/<int:year>/upload",
        "/admin/processes/<int:year>/<process_id>/deploy",
        "/admin/processes/<int:year>/<process_id>.bpmn",
        "/admin/processes/<int:year>/export.zip",
        "/admin/processes/<int:year>/import",
        # the modeler, its saves and checks, and the diff: checked in test_modeler_page.py
        "/admin/processes/<int:year>/<process_id>/edit",
        "/admin/processes/<int:year>/<process_id>/draft",
        "/admin/processes/<int:year>/<process_id>/check",
        "/admin/processes/<int:year>/<process_id>/diff",
        # the administrator's actions on a user: checked in test_admin_users.py
        "/admin/users/<username>/active",
        "/admin/users/<username>/password",
        "/indicators/<int:year>/import",
        "/indicators/<int:year>/compose",
        "/indicators/<int:year>/indicator/<code>/delete",
        "/cycle/<int:instance_id>/phase/<phase>",
        "/cycle/<int:year>/revision",
        "/cycle/<int:year>/rules",  # the year's award rule: checked in test_year_rules.py
        "/evidence/upload/<guid>",
        "/tasks/<guid>/template",
        "/evidence/<int:evidence_id>/delete",
        "/evidence/declaration/upload/<guid>",
        "/evidence/declaration/<int:file_id>/delete",
        "/monitor/<int:year>/remind/<guid>",
        "/monitor/<int:year>/remind",
        "/monitor/<int:year>/retry/<int:instance_id>",
        "/monitor/<int:year>/migrate/<int:instance_id>",  # admins only: test_monitor_migration.py
        "/notifications/<int:notification_id>/read",
        # revoking one of one's own sessions or tokens: checked in test_sessions_and_tokens.py
        "/account/sessions/<int:session_id>/revoke",
        "/account/tokens/<int:token_id>/revoke",
    }
    assert templated == examples | posts, "add examples of new routes to ROUTES"


@pytest.mark.parametrize("role", sorted(USERS))
def test_each_role_opens_only_its_pages(login, role):
    client = login(USERS[role])
    for url, allowed in ROUTES.items():
        status = client.get(url).status_code
        if role in allowed:
            assert status in (200, 302), f"{role} should open {url}, got {status}"
        else:
            assert status == 403, f"{role} must not open {url}, got {status}"


def test_signed_out_visitors_are_sent_to_login(client, demo):
    for url in ROUTES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url


def test_a_city_cannot_see_another_citys_page_and_is_told_why(login):
    response = login("dalian").get("/orgs/shenyang")
    assert response.status_code == 403
    assert "您没有权限访问此页面" in response.get_data(as_text=True)


def test_unknown_pages_are_404_not_500(login):
    client = login("office")
    assert client.get("/orgs/no-such-unit").status_code == 404
    assert client.get("/indicators/1999").status_code == 404


def test_switching_role_needs_the_role(login):
    chief = login("office-chief")
    assert chief.post("/role/admin").status_code == 302
    assert chief.get("/admin/users").status_code == 200
    home = chief.get("/").get_data(as_text=True)
    assert 'data-testid="role-badge">系统管理员<' in home
    city = login("shenyang")
    assert city.post("/role/office").status_code == 403
    assert city.post("/role/nonsense").status_code == 404


def test_every_api_route_is_in_the_openapi_document(app):
    from webapp.api.openapi import openapi_document

    documented = {
        "/api" + re.sub(r"\{(\w+)\}", r"<\1>", path.replace("{id}", "<guid>").replace("{year}", "<int:year>"))
        for path in openapi_document()["paths"]
    } | {"/api/openapi.json"}
    api_rules = {
        re.sub(r"<int:(\w+_id)>", r"<\1>", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }
    assert api_rules == documented
