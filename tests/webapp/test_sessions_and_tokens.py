"""Sessions and tokens end when they should: signing out ends the session on the server (a copy of
its cookie is refused), a password change, a reset or a deactivation ends every session and API
token, a client revokes its own token, and a user sees and revokes their sessions and tokens on
their account page — their own only."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update

from models.db import db, utcnow
from models.org import ApiToken, User, UserSession
from models.workflow import AuditEvent
from tests.conftest import DEMO_PASSWORD, bearer, csrf_token_from
from tests.webapp.chinese_pages import english_on_page
from tests.webapp.test_chinese_pages import one_word_msgids
from webapp.demo.load import load_demo

NEW_PASSWORD = "A-new-passphrase-42"


def copy_of(client: FlaskClient, app) -> FlaskClient:
    """Another browser holding a copy of the client's session cookie, as a thief would."""
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    return stolen


def signed_in(client: FlaskClient) -> bool:
    return client.get("/inbox/").status_code == 200


def works(api: FlaskClient, headers: dict[str, str]) -> bool:
    return api.get("/api/v1/me", headers=headers).status_code == 200


def audit(app, prefix: str) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.action.like(f"{prefix}%"))
            .order_by(AuditEvent.id)
        ).all()
        return [(action, detail) for action, detail in rows]


def token_ids(app, username: str) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(ApiToken.id).join(ApiToken.user).where(User.username == username).order_by(ApiToken.id)
            )
        )


# ---------------------------------------------------------------- signing out


def test_a_copy_of_the_cookie_taken_before_logout_is_refused_after_it(app, login):
    browser = login("dalian")
    thief = copy_of(browser, app)
    assert signed_in(thief), "before logout the copy works, as any session cookie would"
    assert browser.post("/logout").status_code == 302
    assert not signed_in(thief), "the session ended on the server, not only in the browser"
    assert thief.get("/inbox/").headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.scalar(select(UserSession.revoked_at)) is not None


def test_signing_out_ends_this_session_only(app, login):
    office, home = login("dalian"), login("dalian")
    office.post("/logout")
    assert not signed_in(office) and signed_in(home), "the user's other browser stays signed in"


def test_a_session_idle_past_the_lifetime_is_refused_by_the_server(app, login):
    browser = login("dalian")
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=8, minutes=1)))
        db.session.commit()
    assert not signed_in(browser)


# ---------------------------------------------------------------- passwords and deactivation


def _change_password(client: FlaskClient):
    return client.post(
        "/account/password",
        data={
            "current_password": DEMO_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )


def test_a_password_change_ends_the_other_sessions_and_revokes_every_token(app, login):
    here, elsewhere = login("jinzhou"), login("jinzhou")
    thief = copy_of(elsewhere, app)
    api = app.test_client()
    token = bearer(api, "jinzhou")
    assert works(api, token)
    assert _change_password(here).status_code == 302
    assert signed_in(here), "the session that changed the password stays signed in"
    assert not signed_in(elsewhere) and not signed_in(thief)
    refused = api.get("/api/v1/me", headers=token)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    assert token_ids(app, "jinzhou") == []
    [(action, detail)] = audit(app, "user.password_changed")
    assert detail == {"username": "jinzhou", "sessions_ended": 1, "tokens_revoked": 1}


def test_an_administrators_reset_ends_every_session_and_token(app, login):
    user, api = login("fgw"), app.test_client()
    token = bearer(api, "fgw")
    admin = login("admin")
    assert admin.post("/admin/users/fgw/password").status_code == 200
    assert not signed_in(user) and not works(api, token)
    [(_action, detail)] = audit(app, "user.password_reset")
    assert detail["sessions_ended"] == 1 and detail["tokens_revoked"] == 1


def test_deactivation_ends_every_session_and_token_and_reactivation_brings_neither_back(app, login):
    user, api = login("fgw"), app.test_client()
    thief = copy_of(user, app)
    token = bearer(api, "fgw")
    admin = login("admin")
    admin.post("/admin/users/fgw/active", data={"active": "0"})
    admin.post("/admin/users/fgw/active", data={"active": "1"})
    assert not signed_in(user) and not signed_in(thief) and not works(api, token)
    [(_action, detail)] = audit(app, "user.deactivated")
    assert detail == {"username": "fgw", "sessions_ended": 1, "tokens_revoked": 1}


# ---------------------------------------------------------------- the API


def test_a_client_revokes_its_own_token(app, demo):
    api = app.test_client()
    this, other = bearer(api, "office"), bearer(api, "office")
    revoked = api.delete("/api/v1/tokens/current", headers=this)
    assert revoked.status_code == 204 and revoked.get_data() == b""
    after = api.get("/api/v1/me", headers=this)
    assert after.status_code == 401 and after.get_json()["error"]["code"] == "unauthorized"
    again = api.delete("/api/v1/tokens/current", headers=this)
    assert again.status_code == 401 and again.is_json
    assert works(api, other), "only the token of the request is revoked"
    anonymous = api.delete("/api/v1/tokens/current")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthorized"
    [(action, detail)] = audit(app, "api_token.")
    assert action == "api_token.revoked" and detail["username"] == "office"
    assert this["Authorization"].removeprefix("Bearer ").startswith(detail["prefix"])


def test_the_openapi_document_describes_revoking_the_current_token(client):
    operation = client.get("/api/openapi.json").get_json()["paths"]["/v1/tokens/current"]["delete"]
    assert set(operation["responses"]) == {"204", "401"}
    assert "security" not in operation, "it needs the bearer token, as the document's default says"


def test_a_tokens_last_use_is_recorded(app, demo):
    api = app.test_client()
    token = bearer(api, "office")
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is None
    assert works(api, token)
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is not None


# ---------------------------------------------------------------- the account page


def test_the_account_page_lists_sessions_and_tokens_never_a_secret(app, login):
    browser, _other = login("anshan"), login("anshan")
    api = app.test_client()
    secret = bearer(api, "anshan")["Authorization"].removeprefix("Bearer ")
    api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    page = browser.get("/account").get_data(as_text=True)
    assert (
        page.count('data-testid="session-row"') == 2
        and page.count('data-testid="this-session">本次会话<') == 1
    )
    assert page.count('data-testid="token-row"') == 1
    assert f"<code>{secret[:8]}…</code>" in page and secret not in page
    assert "我的账号" in page and "API 令牌" in page and "尚未使用" not in page, "its last use is shown"
    with app.app_context():
        hashes = (
            db.session.scalars(select(UserSession.key_hash)).all()
            + db.session.scalars(select(ApiToken.token_hash)).all()
        )
    assert not any(h in page for h in hashes)
    assert browser.get_cookie("session").value not in page


def test_a_user_revokes_one_token_then_all_from_the_account_page(app, login):
    browser, api = login("anshan"), app.test_client()
    first, second, third = (bearer(api, "anshan") for _ in range(3))
    first_id = token_ids(app, "anshan")[0]
    assert browser.post(f"/account/tokens/{first_id}/revoke").status_code == 302
    assert not works(api, first) and works(api, second) and works(api, third)
    done = browser.post("/account/tokens/revoke-all", follow_redirects=True).get_data(as_text=True)
    assert not works(api, second) and not works(api, third)
    assert "没有 API 令牌" in done and signed_in(browser), "revoking tokens signs no session out"
    assert [a for a, _ in audit(app, "api_token.")] == ["api_token.revoked", "api_token.revoked_all"]
    assert audit(app, "api_token.revoked_all")[0][1]["tokens_revoked"] == 2


def test_a_user_signs_another_session_out_then_every_session(app, login):
    here, laptop, phone = login("anshan"), login("anshan"), login("anshan")
    page = here.get("/account").get_data(as_text=True)
    others = [int(i) for i in re.findall(r'action="/account/sessions/(\d+)/revoke"', page)]
    assert len(others) == 2, "this session has no sign-out button of its own: it is the menu's"
    assert here.post(f"/account/sessions/{others[0]}/revoke").status_code == 302
    assert [signed_in(laptop), signed_in(phone)].count(True) == 1 and signed_in(here)
    everywhere = here.post("/account/sessions/revoke-all")
    assert everywhere.status_code == 302 and everywhere.headers["Location"].startswith("/login")
    assert not signed_in(here) and not signed_in(laptop) and not signed_in(phone)
    assert [a for a, _ in audit(app, "session.")] == ["session.revoked", "session.revoked_all"]


def test_nobody_revokes_another_users_token_or_session(app, login):
    api = app.test_client()
    token = bearer(api, "dalian")
    victim = login("dalian")
    [token_id] = token_ids(app, "dalian")
    with app.app_context():
        [session_id] = db.session.scalars(
            select(UserSession.id).join(UserSession.user).where(User.username == "dalian")
        )
    for attacker in ("anshan", "admin"):
        other = login(attacker)
        assert other.post(f"/account/tokens/{token_id}/revoke").status_code == 404
        assert other.post(f"/account/sessions/{session_id}/revoke").status_code == 404
        other.post("/account/tokens/revoke-all")
    assert works(api, token) and signed_in(victim)
    assert audit(app, "api_token.") == [] and audit(app, "session.") == []


def test_revoking_needs_the_forms_csrf_token(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo(DEMO_PASSWORD, "test")
        db.session.commit()
    browser, api = app.test_client(), app.test_client()
    login_token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    browser.post("/login", data={"username": "office", "password": DEMO_PASSWORD, "csrf_token": login_token})
    token = bearer(api, "office")
    [token_id] = token_ids(app, "office")
    assert browser.post(f"/account/tokens/{token_id}/revoke").status_code == 400
    assert works(api, token)
    form_token = csrf_token_from(browser.get("/account").get_data(as_text=True))
    assert (
        browser.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": form_token}).status_code == 302
    )
    assert not works(api, token)


def test_the_account_page_reads_in_chinese_whatever_the_browser(app, login):
    browser = app.test_client()
    chrome = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    )
    browser.post(
        "/login", data={"username": "anshan", "password": DEMO_PASSWORD}, headers={"User-Agent": chrome}
    )
    bearer(app.test_client(), "anshan")
    page = browser.get("/account").get_data(as_text=True)
    assert "like Gecko" in page and 'data-testid="token-row"' in page
    assert english_on_page(page, one_word_msgids()) == []
