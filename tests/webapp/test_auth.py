"""Signing in and out, the login slow-down, CSRF, cookies and password changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from models.db import db, utcnow
from models.org import LoginAttempt, User
from tests.conftest import DEMO_PASSWORD, csrf_token_from
from webapp.demo.load import load_demo


def test_login_lands_on_the_role_home_page(client, demo):
    response = client.post("/login", data={"username": "shenyang", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "沈阳市" in page
    assert 'data-testid="role-badge">市政府<' in page


def test_wrong_password_is_refused_with_a_message(client, demo):
    response = client.post("/login", data={"username": "shenyang", "password": "wrong-password"})
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, demo):
    response = client.post("/login", data={"username": "nobody", "password": "whatever-password"})
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_missing_fields_are_named(client, demo):
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 400
    assert response.get_data(as_text=True).count("invalid-feedback") == 2


def test_logout_ends_the_session(login):
    client = login("office")
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_follows_only_local_next_urls(client, demo):
    data = {"username": "office", "password": DEMO_PASSWORD}
    assert client.post("/login?next=/indicators/", data=data).headers["Location"] == "/indicators/"
    client.post("/logout")
    assert client.post("/login?next=https://evil.example/", data=data).headers["Location"] == "/"
    client.post("/logout")
    assert client.post("/login?next=//evil.example/", data=data).headers["Location"] == "/"


def _fail(client, username, times, address="10.0.0.1"):
    for _ in range(times):
        client.post(
            "/login",
            data={"username": username, "password": "not-the-password"},
            environ_base={"REMOTE_ADDR": address},
        )


def test_five_wrong_passwords_slow_the_account_down(client, demo):
    _fail(client, "dalian", 5)
    response = client.post(
        "/login",
        data={"username": "dalian", "password": DEMO_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "密码错误次数过多" in response.get_data(as_text=True)
    # Another account from another address is unaffected.
    other = client.post(
        "/login",
        data={"username": "anshan", "password": DEMO_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.3"},
    )
    assert other.status_code == 302


def test_five_wrong_passwords_from_one_address_slow_that_address_down(client, demo):
    for name in ("fushun", "benxi", "dandong", "jinzhou", "yingkou"):
        _fail(client, name, 1, address="10.9.9.9")
    response = client.post(
        "/login",
        data={"username": "fuxin", "password": DEMO_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 429


def test_four_wrong_passwords_do_not_slow_down(client, demo):
    _fail(client, "dalian", 4)
    response = client.post(
        "/login",
        data={"username": "dalian", "password": DEMO_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.status_code == 302


def test_the_slow_down_ends_once_the_delay_has_passed(app, client, demo):
    _fail(client, "dalian", 5)
    with app.app_context():
        db.session.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    response = client.post(
        "/login",
        data={"username": "dalian", "password": DEMO_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.status_code == 302


def _attempts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count()).select_from(LoginAttempt))


def test_throttled_attempts_are_not_checked_or_counted(app, client, demo):
    _fail(client, "dalian", 5)
    before = _attempts(app)
    _fail(client, "dalian", 3)
    assert _attempts(app) == before == 5


def test_session_cookie_is_httponly_and_samesite_lax(client, demo):
    response = client.post("/login", data={"username": "office", "password": DEMO_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_forms_without_a_csrf_token_are_refused(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo(DEMO_PASSWORD, "test")
        db.session.commit()
    client = app.test_client()
    refused = client.post("/login", data={"username": "office", "password": DEMO_PASSWORD})
    assert refused.status_code == 400
    assert "表单已过期" in refused.get_data(as_text=True)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    accepted = client.post(
        "/login", data={"username": "office", "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert accepted.status_code == 302


def _change(client, current, new, confirm=None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def test_password_change_takes_effect_and_signs_out_other_sessions(app, login):
    first = login("jinzhou")
    second = login("jinzhou")
    response = _change(first, DEMO_PASSWORD, "A-new-passphrase-42")
    assert response.status_code == 302
    assert first.get("/").status_code == 200, "the session that changed the password stays signed in"
    assert second.get("/").status_code == 302, "other sessions are signed out"
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "jinzhou", "password": DEMO_PASSWORD}).status_code == 401
    assert (
        fresh.post("/login", data={"username": "jinzhou", "password": "A-new-passphrase-42"}).status_code
        == 302
    )


def test_password_change_rules_name_the_field(app, login):
    client = login("panjin")
    cases = [
        (("wrong-current", "A-new-passphrase-42", None), "当前密码不正确"),
        ((DEMO_PASSWORD, "short", None), "新密码至少需要 10 个字符"),
        ((DEMO_PASSWORD, DEMO_PASSWORD, None), "新密码不能与当前密码相同"),
        ((DEMO_PASSWORD, "my-panjin-password", None), "新密码不能包含用户名"),
        ((DEMO_PASSWORD, "A-new-passphrase-42", "Another-one-42"), "两次输入的新密码不一致"),
    ]
    for args, message in cases:
        response = _change(client, *args)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "panjin"))
        assert user.check_password(DEMO_PASSWORD), "a refused change changes nothing"


def test_password_change_needs_a_signed_in_user(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_passwords_are_stored_hashed(ctx, demo):
    user = db.session.scalar(select(User).where(User.username == "office"))
    assert DEMO_PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
