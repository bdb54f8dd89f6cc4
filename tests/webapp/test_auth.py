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


def _login(client, username, address, password=DEMO_PASSWORD):
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


# A pair's first wait is a minute here, so no test can outrun it on a slow machine.
SLOW = {"LOGIN_PAIR_BASE_DELAY": 60}


def test_wrong_passwords_slow_the_account_down_only_from_that_address(app_factory, demo):
    client = app_factory(**SLOW).test_client()
    _fail(client, "dalian", 5)
    response = _login(client, "dalian", "10.0.0.1")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "该账号在此地址密码错误次数过多" in response.get_data(as_text=True)
    assert _login(client, "dalian", "10.0.0.2").status_code == 302, "another address is not slowed"


def test_wrong_passwords_from_five_addresses_do_not_lock_the_account_out(client, demo):
    for n in range(1, 6):
        _fail(client, "office", 1, address=f"10.8.0.{n}")
    assert _login(client, "office", "10.8.0.6").status_code == 302


def test_wrong_passwords_from_one_address_do_not_lock_out_the_others_behind_it(app_factory, demo):
    client = app_factory(**SLOW).test_client()
    for name in ("fushun", "benxi", "dandong", "jinzhou", "yingkou"):
        _fail(client, name, 1, address="10.9.9.9")
    _fail(client, "fushun", 4, address="10.9.9.9")
    assert _login(client, "fushun", "10.9.9.9").status_code == 429
    assert _login(client, "fuxin", "10.9.9.9").status_code == 302


def test_an_address_over_its_ceiling_is_refused_for_every_account(app_factory, demo):
    client = app_factory(LOGIN_ADDRESS_MAX_FAILURES=5).test_client()
    for n in range(5):
        _fail(client, f"nobody-{n}", 1, address="10.9.9.8")
    response = _login(client, "fuxin", "10.9.9.8")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 800
    assert "该地址密码错误次数过多" in response.get_data(as_text=True)
    assert _login(client, "fuxin", "10.9.9.7").status_code == 302


def test_two_wrong_passwords_do_not_slow_down_and_a_third_does(app_factory, demo):
    client = app_factory(**SLOW).test_client()
    _fail(client, "dalian", 2)
    assert _login(client, "dalian", "10.0.0.1").status_code == 302
    client.post("/logout")
    _fail(client, "dalian", 3)
    assert _login(client, "dalian", "10.0.0.1").status_code == 429


def test_the_slow_down_ends_once_the_delay_has_passed(app_factory, demo):
    app = app_factory(**SLOW)
    client = app.test_client()
    _fail(client, "dalian", 5)
    with app.app_context():
        db.session.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    assert _login(client, "dalian", "10.0.0.1").status_code == 302


def _attempts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count()).select_from(LoginAttempt))


def test_throttled_attempts_are_not_checked_or_counted(app_factory, demo):
    app = app_factory(**SLOW)
    client = app.test_client()
    _fail(client, "dalian", 5)
    assert _attempts(app) == 3, "the fourth and fifth waited"
    _fail(client, "dalian", 3)
    assert _attempts(app) == 3


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
        ((DEMO_PASSWORD, "aaaaaaaaaa", None), "新密码太容易被猜到"),
        ((DEMO_PASSWORD, "password123", None), "新密码太容易被猜到"),
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
