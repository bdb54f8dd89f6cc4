"""Bearer tokens for the task API: issued after a password check, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from models.db import db, utcnow
from models.i18n import lazy_gettext as _l
from models.org import ApiToken, User
from webapp.domain import errors
from webapp.domain.accounts import operations as accounts

TOKEN_LIFETIME = timedelta(hours=12)


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
    row = ApiToken(user_id=user.id, token_hash=_hash(token), expires_at=utcnow() + TOKEN_LIFETIME)
    db.session.add(row)
    db.session.flush()
    return token, row


def user_for_token(token: str) -> User | None:
    """The active user a valid, unexpired token belongs to."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.expires_at <= utcnow() or not row.user.active or row.user.must_change_password:
        return None
    return row.user
