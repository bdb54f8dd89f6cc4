"""Administering accounts, called directly: only administrators may, a role fits its organisation, the
handed-over password is temporary, deactivation ends sessions and tokens, the last administrator
stays, and a workbook import is taken whole or not at all."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from models.db import db
from models.org import ApiToken, Role, User
from models.workflow import AuditEvent
from tests.conftest import DEMO_PASSWORD
from tests.domain.lookup import count, org, user
from webapp.domain import errors
from webapp.domain.accounts import excel as users_excel
from webapp.domain.accounts import operations, sessions, tokens
from webapp.domain.accounts import users as accounts

POLICY = operations.ThrottlePolicy()
IDLE = timedelta(hours=8)


def actions() -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("user.%")).order_by(AuditEvent.id)
        )
    )


def test_an_administrator_creates_an_account_with_a_temporary_password(ctx, demo):
    fgw = org("fgw")
    new, password = accounts.create_user(
        user("admin"),
        username=" FGW-Zhang ",
        display_name="发展改革委 张三",
        org=fgw,
        roles=[Role.DEPARTMENT],
    )
    assert new.username == "fgw-zhang" and new.roles == [Role.DEPARTMENT] and new.must_change_password
    assert new.check_password(password) and len(password) == 12
    assert operations.authenticate("fgw-zhang", password, "10.0.0.1", POLICY) == new
    with pytest.raises(errors.Forbidden):
        tokens.issue_token("fgw-zhang", password, "10.0.0.1", POLICY)
    operations.change_password(new, password, "Zhang-own-pass-1", "Zhang-own-pass-1")
    assert not new.must_change_password and tokens.issue_token("fgw-zhang", "Zhang-own-pass-1", "x", POLICY)
    assert actions() == ["user.created", "user.password_changed"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": "fgw"}, "username"),
        ({"username": "张三"}, "username"),
        ({"display_name": " "}, "display_name"),
        ({"email": "not-an-address"}, "email"),
        ({"roles": []}, "roles"),
        ({"roles": [Role.CITY]}, "roles"),
        ({"org": None}, "org"),
    ],
)
def test_an_account_breaks_no_rule(ctx, demo, changes, field):
    values = {
        "username": "fgw-li",
        "display_name": "李四",
        "org": org("fgw"),
        "roles": [Role.DEPARTMENT],
        **changes,
    }
    before = count(User)
    with pytest.raises(errors.Invalid) as refused:
        accounts.create_user(user("admin"), **values)
    assert list(refused.value.fields) == [field] and count(User) == before


def test_only_administrators_manage_accounts(ctx, demo):
    with pytest.raises(errors.Forbidden):
        accounts.create_user(
            user("office"), username="x-y", display_name="X", org=org("office"), roles=[Role.OFFICE]
        )
    with pytest.raises(errors.Forbidden):
        accounts.reset_password(user("office"), user("fgw"))
    with pytest.raises(errors.Forbidden):
        accounts.set_active(user("leader"), user("fgw"), False)


def test_deactivation_ends_sessions_and_tokens_at_once_and_reactivation_restores_sign_in(ctx, demo):
    fgw = user("fgw")
    token, _row = tokens.issue_token("fgw", DEMO_PASSWORD, "x", POLICY)
    key, _row = sessions.start_session(fgw, address="x", user_agent=None)
    accounts.set_active(user("admin"), fgw, False)
    assert not fgw.active and count(ApiToken) == 0
    assert sessions.session_for_key(key, IDLE) is None
    assert tokens.user_for_token(token) is None
    assert operations.authenticate("fgw", DEMO_PASSWORD, "x", POLICY) is None
    accounts.set_active(user("admin"), fgw, False)  # a second click does nothing more
    accounts.set_active(user("admin"), fgw, True)
    assert operations.authenticate("fgw", DEMO_PASSWORD, "x", POLICY) == fgw
    assert actions() == ["user.deactivated", "user.activated"]


def test_roles_are_given_and_taken_and_the_last_administrator_stays(ctx, demo):
    chief, admin = user("office-chief"), user("admin")
    assert set(chief.roles) == {Role.OFFICE, Role.ADMIN}
    with pytest.raises(errors.Conflict):
        accounts.set_active(chief, chief, False)
    accounts.set_active(chief, admin, False)
    with pytest.raises(errors.Conflict) as refused:
        accounts.update_user(chief, chief, display_name="主任", org=org("office"), roles=[Role.OFFICE])
    assert "最后" in refused.value.message or "last" in refused.value.message
    accounts.set_active(chief, admin, True)
    accounts.update_user(admin, chief, display_name="主任", org=org("office"), roles=[Role.OFFICE])
    assert chief.roles == [Role.OFFICE] and chief.display_name == "主任"
    with pytest.raises(errors.Invalid) as refused:
        accounts.update_user(admin, chief, display_name="主任", org=org("office"), roles=[Role.CITY])
    assert list(refused.value.fields) == ["roles"], "an office cannot hold a city's role"
    moved = user("fgw")
    key, _row = sessions.start_session(moved, address="x", user_agent=None)
    accounts.update_user(admin, moved, display_name="调动", org=org("jyt"), roles=[Role.DEPARTMENT])
    assert moved.org.code == "jyt" and sessions.session_for_key(key, IDLE) is None, "a move starts afresh"


def test_a_reset_password_is_temporary_and_ends_the_old_one(ctx, demo):
    fgw = user("fgw")
    key, _row = sessions.start_session(fgw, address="x", user_agent=None)
    token, _token_row = tokens.issue_token("fgw", DEMO_PASSWORD, "x", POLICY)
    password = accounts.reset_password(user("admin"), fgw)
    assert fgw.must_change_password and fgw.check_password(password) and not fgw.check_password(DEMO_PASSWORD)
    assert sessions.session_for_key(key, IDLE) is None and tokens.user_for_token(token) is None


def workbook(rows: list[list], sheet: str = users_excel.SHEET) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(users_excel.HEADERS)
    for row in rows:
        ws.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_import_is_taken_whole_or_not_at_all(ctx, demo):
    before = count(User)
    broken = workbook(
        [
            ["fgw-wang", "王五", "fgw", "department", ""],
            ["fgw-wang", "王五二", "fgw", "省考评部门", ""],
            ["dl-zhao", "赵六", "nowhere", "city", ""],
            ["dl-qian", "", "dalian", "city, mayor", "bad-address"],
        ]
    )
    with pytest.raises(errors.WorkbookInvalid) as refused:
        users_excel.import_users(user("admin"), broken)
    found = {(e.row, e.column) for e in refused.value.rows}
    assert found == {(3, "用户名"), (4, "单位代码"), (5, "姓名"), (5, "角色"), (5, "电子邮箱")}
    assert count(User) == before, "nothing was created"

    created = users_excel.import_users(
        user("admin"),
        workbook(
            [
                ["fgw-wang", "王五", "fgw", "省考评部门", "wang@example.org"],
                ["dl-zhao", "赵六", "dalian", "city", None],
            ]
        ),
    )
    assert [(u.username, u.roles, u.must_change_password) for u, _ in created] == [
        ("fgw-wang", [Role.DEPARTMENT], True),
        ("dl-zhao", [Role.CITY], True),
    ]
    assert all(u.check_password(p) for u, p in created) and count(User) == before + 2


def test_the_import_template_names_its_columns_and_the_codes_to_use(ctx, demo):
    book = load_workbook(BytesIO(users_excel.template()))
    assert [c.value for c in book[users_excel.SHEET][1]] == users_excel.HEADERS
    codes = {row[0] for row in book[users_excel.REFERENCE_SHEET].iter_rows(min_row=2, values_only=True)}
    assert {"fgw", "dalian", "office"} <= codes
    with pytest.raises(errors.WorkbookInvalid):
        users_excel.import_users(user("admin"), workbook([], sheet="Sheet1"))
