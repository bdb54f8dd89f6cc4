"""Bearer tokens for the task API: issued after a password check, stored only as a hash (and a
prefix to tell them apart), revoked by their owner one by one or all at once; a password change,
a reset and a deactivation revoke them all (`sessions.end_all`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from models.db import db, utcnow
from models.i18n import lazy_gettext as _l
from models.org import ApiToken, User
from webapp.domain import audit, errors
from webapp.domain.accounts import operations as accounts
from webapp.domain.accounts import sessions

TOKEN_LIFETIME = timedelta(hours=12)
# the token's first characters, kept to tell tokens apart (the other 35 keep 200+ bits secret)
PREFIX_LENGTH = 8
# last_used_at is written at most this often, not on every call
USED_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    username: str, password: str, address: str, policy: accounts.ThrottlePolicy
) -> tuple[str, ApiToken] | None:
    """A new token for the user, or None when the password is wrong (Throttled while slowed down)."""
    user = accounts.authenticate(username, password, address, policy)
    if user is None:
        return None
    if user.must_change_password:
        raise errors.Forbidden(str(_l("Sign in to the web once and choose your own password first.")))
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=_hash(token),
        prefix=token[:PREFIX_LENGTH],
        expires_at=utcnow() + TOKEN_LIFETIME,
    )
    db.session.add(row)
    db.session.flush()
    return token, row


def token_for(token: str, now: datetime | None = None) -> ApiToken | None:
    """The valid, unexpired token row of an active user; its `last_used_at` moves on (written by the
    request's commit, at most every `USED_EVERY`)."""
    now = now or utcnow()
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.expires_at <= now or not row.user.active or row.user.must_change_password:
        return None
    if row.last_used_at is None or row.last_used_at <= now - USED_EVERY:
        row.last_used_at = now
    return row


def user_for_token(token: str) -> User | None:
    """The active user a valid, unexpired token belongs to."""
    row = token_for(token)
    return row.user if row is not None else None


def tokens_of(user: User, now: datetime | None = None) -> list[ApiToken]:
    """The user's unexpired tokens, the newest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.expires_at > now)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def find_token(actor: User, token_id: int) -> ApiToken:
    """One of the actor's own tokens (another user's is not found, as if it did not exist)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or not row.belongs_to(actor):
        raise errors.NotFound(str(_l("There is no such token.")))
    return row


def revoke_token(actor: User, row: ApiToken) -> None:
    """The actor revokes one of their tokens: it is refused from now on."""
    if not row.belongs_to(actor):
        raise errors.NotFound(str(_l("There is no such token.")))
    audit.record("api_token.revoked", actor, detail={"username": actor.username, "prefix": row.prefix})
    db.session.delete(row)
    db.session.flush()


def revoke_all_tokens(actor: User) -> int:
    """The actor revokes every token of theirs; returns how many there were (none: nothing to audit)."""
    revoked = sessions.revoke_tokens(actor)
    db.session.flush()
    if revoked:
        audit.record(
            "api_token.revoked_all", actor, detail={"username": actor.username, "tokens_revoked": revoked}
        )
    return revoked
