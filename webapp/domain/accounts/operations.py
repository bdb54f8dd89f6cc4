"""Signing in, the login slow-down, and password changes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, literal, or_, select
from zxcvbn import zxcvbn

from models.db import UTCDateTime, db, rowcount, utcnow
from models.i18n import lazy_gettext as _l
from models.org import LoginAttempt, User, UserSession, check_password_of_nobody
from webapp.domain import audit
from webapp.domain.accounts import sessions
from webapp.domain.errors import Invalid, Throttled

MIN_PASSWORD_LENGTH = 10
# zxcvbn's score, 0–4: below 3 the password is among its common passwords, words, names, dates,
# keyboard rows, repeats or sequences (fewer than 10^8 guesses). It reads the first 72 characters.
MIN_PASSWORD_SCORE = 3
ZXCVBN_MAX_LENGTH = 72


def _rejected(field: str, message: str) -> Invalid:
    """A refused password change, naming the form field at fault."""
    return Invalid(message, fields={field: [message]})


@dataclass(frozen=True)
class ThrottlePolicy:
    """The login slow-down. It never locks an account: a stranger's wrong passwords slow down only
    the addresses they came from, so the right password from an address that has not failed for an
    account is always checked (short of that address's own ceiling). Failures count within
    `window_seconds`; the settings are the LOGIN_* values in `webapp/config.py`.

    - One account from one address (the pair): after n ≥ `pair_free_failures` failures the next
      attempt waits `pair_base_delay_seconds × 2^(n − pair_free_failures)` after the last one (1, 2,
      4, … seconds), at most `max_delay_seconds`. The pair's failures before its last success do
      not count.
    - One address, across accounts: at `address_max_failures` it is refused until the window drops
      it below the ceiling (a script trying many accounts; a provincial NAT never gets there).
    - One account, from every address: at `account_busy_failures` the account is under attack, and
      an address that has failed for it waits at least `account_delay_seconds` after its last failure.
    """

    window_seconds: int = 15 * 60
    pair_free_failures: int = 3
    pair_base_delay_seconds: int = 1
    max_delay_seconds: int = 15 * 60
    address_max_failures: int = 100
    account_busy_failures: int = 20
    account_delay_seconds: int = 30

    def pair_delay(self, failures: int) -> int:
        """Seconds the pair waits after its last failure, having failed `failures` times."""
        if failures < self.pair_free_failures:
            return 0
        doublings = min(failures - self.pair_free_failures, 40)  # 2^40 s is past any cap
        return min(self.pair_base_delay_seconds * 2**doublings, self.max_delay_seconds)


@dataclass(frozen=True)
class RecentFailures:
    """What the slow-down reads: failures within the window."""

    pair: int  # of this account from this address, since the pair's last success
    pair_last: datetime | None  # the latest of those
    address: int  # from this address, any account
    account: int  # of this account, any address


def _recent_failures(username: str, address: str, since: datetime) -> RecentFailures:
    """One query over the window's rows of the account and the address (indexed by name, then time)."""
    pair = and_(LoginAttempt.username == username, LoginAttempt.address == address)
    last_success = (
        select(func.max(LoginAttempt.at))
        .where(pair, LoginAttempt.succeeded.is_(True), LoginAttempt.at >= since)
        .scalar_subquery()
    )
    # before the window when the pair has had no success in it
    counted_from = func.coalesce(last_success, literal(since - timedelta(seconds=1), UTCDateTime))
    since_success = and_(pair, LoginAttempt.at > counted_from)
    row = db.session.execute(
        select(
            func.count().filter(since_success),
            func.max(LoginAttempt.at).filter(since_success),
            func.count().filter(LoginAttempt.address == address),
            func.count().filter(LoginAttempt.username == username),
        ).where(
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= since,
            or_(LoginAttempt.username == username, LoginAttempt.address == address),
        )
    ).one()
    return RecentFailures(pair=row[0], pair_last=row[1], address=row[2], account=row[3])


def _address_free_at(address: str, since: datetime, failures: int, policy: ThrottlePolicy) -> datetime:
    """When the address's failures in the window drop below its ceiling: the window's end for the
    failure that must leave (the (failures − ceiling + 1)-th oldest)."""
    leaving = db.session.scalar(
        select(LoginAttempt.at)
        .where(
            LoginAttempt.address == address,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= since,
        )
        .order_by(LoginAttempt.at)
        .offset(failures - policy.address_max_failures)
        .limit(1)
    )
    return (leaving or since) + timedelta(seconds=policy.window_seconds)


def check_throttle(username: str, address: str, policy: ThrottlePolicy, now: datetime | None = None) -> None:
    """Raise Throttled (with the seconds to wait, and which rule: pair, address or account) while
    this account must wait from this address."""
    now = now or utcnow()
    since = now - timedelta(seconds=policy.window_seconds)
    recent = _recent_failures(username, address, since)
    waits: dict[str, datetime] = {}
    if recent.address >= policy.address_max_failures:
        waits["address"] = _address_free_at(address, since, recent.address, policy)
    if recent.pair_last is not None:
        delay = policy.pair_delay(recent.pair)
        if delay:
            waits["pair"] = recent.pair_last + timedelta(seconds=delay)
        if recent.account >= policy.account_busy_failures:
            waits["account"] = recent.pair_last + timedelta(seconds=policy.account_delay_seconds)
    if not waits:
        return
    rule, until = max(waits.items(), key=lambda item: item[1])
    remaining = (until - now).total_seconds()
    if remaining > 0:
        raise Throttled(math.ceil(remaining), rule=rule)


def authenticate(
    username: str, password: str, address: str, policy: ThrottlePolicy, now: datetime | None = None
) -> User | None:
    """Check a username and password, recording the attempt; None when they do not match.
    Throttled, before the password is checked or the attempt recorded, while the slow-down holds."""
    username = username.strip()
    # the attempt is counted under what its row can hold (a longer name is no user's anyway)
    name, address = username[:64], address[:64]
    now = now or utcnow()
    check_throttle(name, address, policy, now)
    user = User.by_username(username)
    # the password is checked whoever asks (no user, an inactive one): a wrong name takes no less time
    if user is None:
        check_password_of_nobody(password)
        ok = False
    else:
        ok = user.check_password(password) and user.active
    db.session.add(LoginAttempt(username=name, address=address, succeeded=ok, at=now))
    db.session.flush()
    return user if ok else None


def password_problem(user: User, new: str) -> str | None:
    """Why a password the user chose will not do (too short, or easy to guess), or None."""
    if len(new) < MIN_PASSWORD_LENGTH:
        return str(_l("The new password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if user.username.lower() in new.lower():
        return str(_l("The new password must not contain the username."))
    hints = [user.username, user.display_name or ""]
    if zxcvbn(new[:ZXCVBN_MAX_LENGTH], user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        return str(
            _l(
                "The new password is too easy to guess: it is a common password or a simple pattern "
                "(a repeated character, a sequence, a word with digits). Choose a longer, less "
                "predictable one."
            )
        )
    return None


def change_password(
    user: User, current: str, new: str, confirm: str, *, keep: UserSession | None = None
) -> None:
    """Replace the user's password after checking the current one; ends every session of theirs
    but `keep` (the one that changed it) and revokes every API token."""
    if not user.check_password(current):
        raise _rejected("current_password", str(_l("The current password is not correct.")))
    if new == current:
        raise _rejected("new_password", str(_l("The new password must differ from the current one.")))
    problem = password_problem(user, new)
    if problem:
        raise _rejected("new_password", problem)
    if new != confirm:
        raise _rejected("confirm_password", str(_l("The two new passwords do not match.")))
    user.set_password(new)
    ended = sessions.end_all(user, keep=keep)
    audit.record("user.password_changed", user, detail={"username": user.username, **ended.detail()})


def prune_login_attempts(older_than: timedelta = timedelta(days=90), now: datetime | None = None) -> int:
    """Delete attempt records past any use; returns how many went."""
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < (now or utcnow()) - older_than))
    return rowcount(result)


@dataclass(frozen=True)
class Pruned:
    """What `prune_records` deleted."""

    sessions: int
    tokens: int
    attempts: int

    def __bool__(self) -> bool:
        return bool(self.sessions or self.tokens or self.attempts)


def prune_records(idle: timedelta, now: datetime | None = None) -> Pruned:
    """Delete what no longer signs anyone in nor slows anyone down: ended sessions and expired
    tokens a month on (`sessions.prune_ended`), login attempts after 90 days. The worker calls it
    hourly, `flask users prune` on demand."""
    ended = sessions.prune_ended(idle, now)
    return Pruned(sessions=ended.sessions, tokens=ended.tokens, attempts=prune_login_attempts(now=now))
