"""Users and roles in the browser and the API, as an administrator would manage them: a new department
user signs in with the temporary password, chooses their own and sees the department's tasks; a
deactivated user's session and token stop at once; a reset, an import, and refusals in Chinese."""

from __future__ import annotations

import re
from io import BytesIO

from openpyxl import Workbook
from sqlalchemy import select

from models.db import db
from models.org import Role, User
from models.workflow import AuditEvent
from tests.conftest import DEMO_PASSWORD, bearer, csrf_token_from
from tests.webapp.test_inbox_ui import _definition, _instance, _org, _task
from webapp.domain.accounts import excel as users_excel


def _password(page: str) -> str:
    match = re.search(r'data-testid="temporary-password">([^<]+)<', page)
    assert match, "the page shows the temporary password"
    return match.group(1)


def _account(**changes) -> dict:
    return {
        "username": "fgw-zhang",
        "display_name": "发展改革委 张三",
        "org": "fgw",
        "roles": ["department"],
        "email": "",
        **changes,
    }


def _audit(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("user.%")).order_by(AuditEvent.id)
            )
        )


def test_a_new_department_user_signs_in_chooses_a_password_and_sees_the_departments_tasks(app, login):
    admin = login("admin")
    assert 'data-testid="new-user"' in admin.get("/admin/users").get_data(as_text=True)
    assert login("office").get("/admin/users/new").status_code == 403

    refused = admin.post("/admin/users/new", data=_account(roles=["city"]))
    assert refused.status_code == 422
    assert "不能担任" in refused.get_data(as_text=True)
    with app.app_context():
        assert User.by_username("fgw-zhang") is None

    created = admin.post("/admin/users/new", data=_account())
    assert created.status_code == 200
    password = _password(created.get_data(as_text=True))

    with app.app_context():
        task = _task(
            _instance(_definition(), 2012),
            "发展改革委 指标申报",
            role=Role.DEPARTMENT,
            org_id=_org("fgw").id,
            form_key="declaration.declare",
            scope="",
        )
        db.session.commit()
        guid = task.task_guid

    zhang = app.test_client()
    assert zhang.post("/login", data={"username": "fgw-zhang", "password": password}).status_code == 302
    forced = zhang.get("/inbox/")
    assert forced.status_code == 302 and forced.headers["Location"].endswith("/account/password")
    changed = zhang.post(
        "/account/password",
        data={
            "current_password": password,
            "new_password": "Zhang-own-2013",
            "confirm_password": "Zhang-own-2013",
        },
    )
    assert changed.status_code == 302
    inbox = zhang.get("/inbox/").get_data(as_text=True)
    assert "发展改革委 指标申报" in inbox and guid in inbox
    assert _audit(app) == ["user.created", "user.password_changed"]


def test_a_deactivated_users_session_and_token_stop_at_once(app, login):
    fgw = login("fgw")
    token = fgw.post("/api/v1/tokens", json={"username": "fgw", "password": DEMO_PASSWORD}).get_json()[
        "token"
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    assert fgw.get("/api/v1/me", headers=bearer).status_code == 200
    admin = login("admin")
    page = admin.get("/admin/users/fgw").get_data(as_text=True)
    assert 'data-testid="deactivate"' in page
    assert admin.post("/admin/users/fgw/active", data={"active": "0"}).status_code == 302
    assert admin.post("/admin/users/fgw/active", data={"active": "0"}).status_code == 302, "twice is once"
    assert fgw.get("/inbox/").status_code == 302, "the open session is signed out"
    assert fgw.get("/api/v1/me", headers=bearer).status_code == 401
    assert (
        app.test_client().post("/login", data={"username": "fgw", "password": DEMO_PASSWORD}).status_code
        == 401
    )
    own = admin.post("/admin/users/admin/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in own.get_data(as_text=True)
    assert _audit(app) == ["user.deactivated"]


def test_roles_change_and_a_reset_password_is_shown_once(app, login):
    admin = login("admin")
    saved = admin.post(
        "/admin/users/office-chief",
        data={"display_name": "省绩效办 主任", "org": "office", "roles": ["office"], "email": ""},
    )
    assert saved.status_code == 302
    with app.app_context():
        assert User.by_username("office-chief").roles == [Role.OFFICE]
    reset = admin.post("/admin/users/jyt/password")
    assert reset.status_code == 200
    password = _password(reset.get_data(as_text=True))
    client = app.test_client()
    assert client.post("/login", data={"username": "jyt", "password": DEMO_PASSWORD}).status_code == 401
    assert client.post("/login", data={"username": "jyt", "password": password}).status_code == 302
    assert _audit(app) == ["user.changed", "user.password_reset"]


def _workbook(rows: list[list]) -> BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.title = users_excel.SHEET
    sheet.append(users_excel.HEADERS)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_an_import_shows_every_problem_or_every_new_users_password(app, login):
    admin = login("admin")
    template = admin.get("/admin/users/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    bad = admin.post(
        "/admin/users/import",
        data={"workbook": (_workbook([["dl-qian", "钱七", "dalian", "department", ""]]), "users.xlsx")},
        content_type="multipart/form-data",
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'data-testid="import-problems"' in page and "钱七" not in page
    good = admin.post(
        "/admin/users/import",
        data={"workbook": (_workbook([["dl-qian", "钱七", "dalian", "city", ""]]), "users.xlsx")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 200 and 'data-testid="imported"' in good.get_data(as_text=True)
    with app.app_context():
        assert User.by_username("dl-qian").must_change_password


def test_the_users_api_is_for_administrators(app, login):
    client = app.test_client()
    admin, office = bearer(client, "admin"), bearer(client, "office")
    assert client.get("/api/v1/users", headers=office).status_code == 403
    listed = client.get("/api/v1/users", headers=admin).get_json()["users"]
    assert {"username": "fgw", "org": "fgw", "roles": ["department"]}.items() <= next(
        u for u in listed if u["username"] == "fgw"
    ).items()
    refused = client.post("/api/v1/users", headers=admin, json=_account(roles=["mayor"]))
    assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == ["roles"]
    created = client.post("/api/v1/users", headers=admin, json=_account())
    assert created.status_code == 201 and created.get_json()["user"]["must_change_password"]
    assert created.get_json()["temporary_password"]
    changed = client.patch(
        "/api/v1/users/fgw-zhang",
        headers=admin,
        json={"roles": ["department"], "display_name": "张三", "active": False},
    )
    assert changed.status_code == 200 and changed.get_json()["user"]["active"] is False
    assert client.patch("/api/v1/users/nobody", headers=admin, json={"active": True}).status_code == 404
    assert client.post("/api/v1/users", headers=office, json=_account(username="x-y")).status_code == 403
    assert _audit(app) == ["user.created", "user.changed", "user.deactivated"]


def test_the_openapi_document_describes_the_users_api(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/v1/users"]) and "patch" in paths["/v1/users/{username}"]


def test_admin_pages_are_chinese(app, login):
    admin = login("admin")
    for url in ("/admin/users", "/admin/users/new", "/admin/users/fgw", "/admin/users/import"):
        page = admin.get(url).get_data(as_text=True)
        assert csrf_token_from(page) if url != "/admin/users" else True
        body = page.split("<main", 1)[-1]
        for english in ("New user", "Username", "Roles", "Deactivate", "Import users", "Reset the password"):
            assert english not in body, (url, english)
