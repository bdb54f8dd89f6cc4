"""The accounts' verbs called directly, as the sign-in page, the token endpoint and the CLI call them:
a password is checked and every attempt recorded, repeated failures slow the account down from
that address (tests/domain/test_login_throttle.py has the whole policy), a password change names
the field at fault, and a token maps back to its user."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import org
from models.db import db, utcnow
from models.org import ApiToken, LoginAttempt, UserSession
from tests.conftest import DEMO_PASSWORD
from tests.domain.lookup import count, user
from webapp.domain import errors
from webapp.domain.accounts import operations as accounts
from webapp.domain.accounts import sessions, tokens

IDLE = timedelta(hours=8)
POLICY = accounts.ThrottlePolicy(pair_free_failures=3, window_seconds=600, pair_base_delay_seconds=30)


def open_sessions(who) -> int:
    return len(sessions.open_sessions(who, IDLE))


def test_a_password_is_checked_every_attempt_recorded_and_failures_slow_the_account(ctx, demo):
    assert accounts.authenticate(" office ", DEMO_PASSWORD, "10.0.0.1", POLICY) == user("office")
    for _ in range(3):
        assert accounts.authenticate("office", "wrong-password", "10.0.0.2", POLICY) is None
    assert count(LoginAttempt) == 4
    with pytest.raises(errors.Throttled) as slowed:
        accounts.authenticate("office", DEMO_PASSWORD, "10.0.0.2", POLICY)
    assert 0 < slowed.value.retry_after <= 30 and slowed.value.status == 429
    assert count(LoginAttempt) == 4, "a refused attempt is not even tried"
    assert accounts.authenticate("office", DEMO_PASSWORD, "10.0.0.3", POLICY) == user("office")
    assert accounts.authenticate("leader", DEMO_PASSWORD, "10.0.0.2", POLICY) == user("leader")


def test_a_password_change_names_the_field_at_fault_and_ends_other_sessions(ctx, demo):
    office = user("office")
    here, _row = sessions.start_session(office, address="10.0.0.1", user_agent="here")
    elsewhere, _row = sessions.start_session(office, address="10.0.0.2", user_agent="elsewhere")
    token, _token_row = tokens.issue_token("office", DEMO_PASSWORD, "10.0.0.1", POLICY)
    for current, new, confirm, field in (
        ("not-it", "Another-pass-2013", "Another-pass-2013", "current_password"),
        (DEMO_PASSWORD, "short", "short", "new_password"),
        (DEMO_PASSWORD, DEMO_PASSWORD, DEMO_PASSWORD, "new_password"),
        (DEMO_PASSWORD, "my-office-pass-1", "my-office-pass-1", "new_password"),
        (DEMO_PASSWORD, "Another-pass-2013", "Another-pass-2014", "confirm_password"),
    ):
        with pytest.raises(errors.Invalid) as refused:
            accounts.change_password(office, current, new, confirm)
        assert list(refused.value.fields) == [field]
    assert office.check_password(DEMO_PASSWORD) and open_sessions(office) == 2, "a refusal ends nothing"
    keep = sessions.session_for_key(here, IDLE)
    accounts.change_password(office, DEMO_PASSWORD, "Another-pass-2013", "Another-pass-2013", keep=keep)
    assert office.check_password("Another-pass-2013")
    assert sessions.session_for_key(here, IDLE) is keep, "the session that changed it stays"
    assert sessions.session_for_key(elsewhere, IDLE) is None and tokens.user_for_token(token) is None


def test_a_token_belongs_to_its_user_until_it_expires(ctx, demo):
    assert tokens.issue_token("expert1", "wrong-password", "10.0.0.5", POLICY) is None
    token, row = tokens.issue_token("expert1", DEMO_PASSWORD, "10.0.0.5", POLICY)
    assert tokens.user_for_token(token) == user("expert1") and token not in row.token_hash
    assert tokens.user_for_token(token + "x") is None
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert tokens.user_for_token(token) is None


def test_old_attempts_are_pruned(ctx, demo):
    accounts.authenticate("office", "wrong-password", "10.0.0.6", POLICY)
    old = LoginAttempt(
        username="office", address="10.0.0.6", succeeded=False, at=utcnow() - timedelta(days=91)
    )
    db.session.add(old)
    db.session.flush()
    assert accounts.prune_login_attempts() == 1 and count(LoginAttempt) == 1


def test_ended_sessions_and_expired_tokens_are_pruned_a_month_on_and_nothing_that_still_signs_in(ctx, demo):
    office, now = user("office"), utcnow()
    month = sessions.KEEP_ENDED

    def session_row(seen, revoked=None) -> UserSession:
        row = UserSession(
            user_id=office.id,
            key_hash=f"{seen}{revoked}",
            created_at=seen,
            last_seen_at=seen,
            revoked_at=revoked,
        )
        db.session.add(row)
        return row

    def token_row(expires) -> ApiToken:
        row = ApiToken(
            user_id=office.id, token_hash=f"{expires}", created_at=expires - IDLE, expires_at=expires
        )
        db.session.add(row)
        return row

    kept = [
        session_row(now),  # signs in
        session_row(now - timedelta(days=2), revoked=now - timedelta(days=1)),  # ended yesterday
        session_row(now - month),  # idle past IDLE, but not a month past it
        token_row(now + timedelta(hours=1)),  # valid
        token_row(now - timedelta(days=1)),  # expired yesterday
    ]
    gone = [
        session_row(now - month - timedelta(days=2), revoked=now - month - timedelta(seconds=1)),
        session_row(now - month - IDLE - timedelta(seconds=1)),
        token_row(now - month - timedelta(seconds=1)),
    ]
    db.session.add(
        LoginAttempt(username="office", address="10.0.0.7", succeeded=False, at=now - timedelta(days=91))
    )
    db.session.flush()
    before_sessions, before_tokens = count(UserSession), count(ApiToken)

    pruned = accounts.prune_records(IDLE, now)

    assert (pruned.sessions, pruned.tokens, pruned.attempts) == (2, 1, 1)
    assert count(UserSession) == before_sessions - 2 and count(ApiToken) == before_tokens - 1
    db.session.expire_all()
    assert all(db.session.get(type(row), row.id) is not None for row in kept)
    assert all(db.session.get(type(row), row.id) is None for row in gone)
    assert not accounts.prune_records(IDLE, now)  # a second run finds nothing


def test_a_wrong_username_or_an_inactive_user_costs_a_password_check_like_a_wrong_password(
    ctx, demo, monkeypatch
):
    checked: list[str] = []
    real = org.check_password_hash
    monkeypatch.setattr(org, "check_password_hash", lambda h, pw: checked.append(pw) or real(h, pw))
    assert accounts.authenticate("nobody-at-all", "guess-1", "10.0.0.8", POLICY) is None
    expert = user("expert1")
    expert.active = False
    db.session.flush()
    assert accounts.authenticate("expert1", DEMO_PASSWORD, "10.0.0.8", POLICY) is None
    assert accounts.authenticate("office", "guess-3", "10.0.0.8", POLICY) is None
    assert checked == ["guess-1", DEMO_PASSWORD, "guess-3"], "every attempt checks one hash"
