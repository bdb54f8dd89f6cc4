"""Signed-in sessions, one `UserSession` row per browser, and ending a user's credentials.

A session starts at sign-in; its cookie carries a random key whose hash names the row. Signing out
ends that session alone and "sign out everywhere" all of them; a password change (but for the
session that made it), an administrator's reset and a deactivation end every session and every API
token of the user at once. A copy of a cookie or a token taken before is refused from then on.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import contains_eager

from models.db import db, rowcount, utcnow
from models.i18n import lazy_gettext as _l
from models.org import ApiToken, User, UserSession
from webapp.domain import audit, errors

# last_seen_at is written at most this often, not on every request
SEEN_EVERY = timedelta(minutes=5)
# sessions and tokens that no longer sign anyone in are kept this long, then pruned (`prune_ended`)
KEEP_ENDED = timedelta(days=30)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def start_session(
    user: User, *, address: str | None, user_agent: str | None, now: datetime | None = None
) -> tuple[str, UserSession]:
    """A new session for the user: its key (for the session cookie only) and its row."""
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        key_hash=_hash(key),
        created_at=now,
        last_seen_at=now,
        address=(address or "")[:64] or None,
        user_agent=(user_agent or "")[:200] or None,
    )
    db.session.add(row)
    db.session.flush()
    return key, row


def session_for_key(key: str, idle: timedelta, now: datetime | None = None) -> UserSession | None:
    """The open session a cookie's key names, of an active user and seen within `idle`; its
    `last_seen_at` moves on (written by the request's commit, at most every `SEEN_EVERY`)."""
    now = now or utcnow()
    row = db.session.scalar(
        select(UserSession)
        .join(UserSession.user)
        .options(contains_eager(UserSession.user))
        .where(UserSession.key_hash == _hash(key), UserSession.revoked_at.is_(None))
    )
    if row is None or not row.user.active or row.last_seen_at <= now - idle:
        return None
    if row.last_seen_at <= now - SEEN_EVERY:
        row.last_seen_at = now
    return row


def end_session(row: UserSession, now: datetime | None = None) -> None:
    """Sign out: this session's cookie is refused from now on, even a copy of it."""
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        db.session.flush()


def open_sessions(user: User, idle: timedelta, now: datetime | None = None) -> list[UserSession]:
    """The user's sessions that still sign them in, the latest seen first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at > now - idle,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def find_session(actor: User, session_id: int) -> UserSession:
    """One of the actor's own sessions (another user's is not found, as if it did not exist)."""
    row = db.session.get(UserSession, session_id)
    if row is None or not row.belongs_to(actor) or row.revoked_at is not None:
        raise errors.NotFound(str(_l("There is no such session.")))
    return row


def revoke_session(actor: User, row: UserSession, now: datetime | None = None) -> None:
    """The actor signs one of their sessions out (another browser, a lost computer)."""
    if not row.belongs_to(actor):
        raise errors.NotFound(str(_l("There is no such session.")))
    end_session(row, now)
    audit.record("session.revoked", actor, detail={"username": actor.username, "session": row.id})


def _end_sessions(user: User, keep: UserSession | None, now: datetime) -> int:
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    return rowcount(db.session.execute(query.values(revoked_at=now)))


def revoke_tokens(user: User) -> int:
    """Revoke every API token of the user; returns how many went."""
    return rowcount(db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)))


@dataclass(frozen=True)
class Ended:
    """What ending a user's credentials ended (for the audit record)."""

    sessions: int
    tokens: int

    def detail(self) -> dict[str, int]:
        return {"sessions_ended": self.sessions, "tokens_revoked": self.tokens}


def end_all(user: User, *, keep: UserSession | None = None, now: datetime | None = None) -> Ended:
    """End every session of the user (but `keep`, the one that asked) and revoke every API token:
    after a password change, an administrator's reset, or a deactivation."""
    now = now or utcnow()
    ended = Ended(sessions=_end_sessions(user, keep, now), tokens=revoke_tokens(user))
    db.session.flush()
    return ended


def end_sessions(user: User, now: datetime | None = None) -> int:
    """End every session of the user, API tokens untouched (a user moved to another organisation)."""
    ended = _end_sessions(user, None, now or utcnow())
    db.session.flush()
    return ended


def sign_out_everywhere(actor: User, now: datetime | None = None) -> int:
    """The actor ends all their sessions, this one too (their API tokens have their own button)."""
    ended = end_sessions(actor, now)
    audit.record("session.revoked_all", actor, detail={"username": actor.username, "sessions_ended": ended})
    return ended


def prune_ended(idle: timedelta, now: datetime | None = None) -> Ended:
    """Delete the sessions that ended (signed out, or idle past `idle`) and the API tokens that
    expired more than `KEEP_ENDED` ago; returns how many went. Neither signs anyone in any more;
    what ended them stays in the audit."""
    before = (now or utcnow()) - KEEP_ENDED
    ended = rowcount(
        db.session.execute(
            delete(UserSession).where(
                (UserSession.revoked_at < before) | (UserSession.last_seen_at < before - idle)
            )
        )
    )
    expired = rowcount(db.session.execute(delete(ApiToken).where(ApiToken.expires_at < before)))
    return Ended(sessions=ended, tokens=expired)
