"""Signing in, the login slow-down, and password changes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select

from models.db import db, rowcount, utcnow
from models.i18n import lazy_gettext as _l
from models.org import LoginAttempt, User
from webapp.domain.errors import Invalid, Throttled

MIN_PASSWORD_LENGTH = 10


def _rejected(field: str, message: str) -> Invalid:
    """A refused password change, naming the form field at fault."""
    return Invalid(message, fields={field: [message]})


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window_seconds: int = 15 * 60
    base_delay_seconds: int = 30

    def delay_for(self, failures: int) -> int:
        """Seconds to wait after the last failure: doubling from the base, at most the window."""
        if failures < self.max_failures:
            return 0
        return min(self.base_delay_seconds * 2 ** (failures - self.max_failures), self.window_seconds)


def _recent_failures(username: str, address: str, since: datetime) -> tuple[int, datetime | None]:
    """The larger failure count of the account and the address in the window, and the latest failure."""
    rows = db.session.execute(
        select(
            func.count().filter(LoginAttempt.username == username),
            func.count().filter(LoginAttempt.address == address),
            func.max(LoginAttempt.at),
        ).where(
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= since,
            or_(LoginAttempt.username == username, LoginAttempt.address == address),
        )
    ).one()
    return max(rows[0], rows[1]), rows[2]


def check_throttle(username: str, address: str, policy: ThrottlePolicy, now: datetime | None = None) -> None:
    """Raise Throttled while the account or the address must wait."""
    now = now or utcnow()
    failures, last = _recent_failures(username, address, now - timedelta(seconds=policy.window_seconds))
    delay = policy.delay_for(failures)
    if delay and last is not None:
        remaining = (last + timedelta(seconds=delay) - now).total_seconds()
        if remaining > 0:
            raise Throttled(math.ceil(remaining))


def authenticate(username: str, password: str, address: str, policy: ThrottlePolicy) -> User | None:
    """Check a username and password, recording the attempt; None when they do not match."""
    username = username.strip()
    check_throttle(username, address, policy)
    user = User.by_username(username)
    ok = user is not None and user.active and user.check_password(password)
    db.session.add(LoginAttempt(username=username[:64], address=address[:64], succeeded=ok))
    db.session.flush()
    return user if ok else None


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """Replace the user's password after checking the current one; ends their other sessions."""
    if not user.check_password(current):
        raise _rejected("current_password", str(_l("The current password is not correct.")))
    if len(new) < MIN_PASSWORD_LENGTH:
        raise _rejected(
            "new_password",
            str(_l("The new password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)),
        )
    if new == current:
        raise _rejected("new_password", str(_l("The new password must differ from the current one.")))
    if user.username.lower() in new.lower():
        raise _rejected("new_password", str(_l("The new password must not contain the username.")))
    if new != confirm:
        raise _rejected("confirm_password", str(_l("The two new passwords do not match.")))
    user.set_password(new)
    db.session.flush()


def prune_login_attempts(older_than: timedelta = timedelta(days=90)) -> int:
    """Delete attempt records past any use; returns how many went."""
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - older_than))
    return rowcount(result)
