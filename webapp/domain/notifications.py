"""Notifications to users: a task arrives or is returned, a deadline nears, a reminder, results published.

Texts are stored as an English msgid plus parameters and rendered in the reader's language when
shown (and in the default language for e-mail), so a Chinese and an English user read the same row
each in their own language. Rows are inserted in bulk, one statement per event, never one per user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_date
from sqlalchemy import ColumnElement, Select, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from models.db import db, load, rowcount, utcnow
from models.evaluation import EvaluationRound, RoundKind
from models.i18n import gettext
from models.i18n import lazy_gettext as _l
from models.notification import Notification
from models.org import OrgKind, OrgUnit, Role, User, UserRole
from models.scheme import SchemeYear
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from webapp import mail
from webapp.domain import audit, errors


def N_(message: str) -> str:  # noqa: N802 - the gettext "mark for extraction only" convention
    return message


# The msgids stored in Notification.text; rendered with gettext when shown.
TASK_ARRIVED = N_("New task: %(title)s")
TASK_ARRIVED_DUE = N_("New task: %(title)s, due %(due)s")
TASK_RETURNED = N_("Returned to you: %(title)s")
TASK_RETURNED_REASON = N_("Returned to you: %(title)s. Reason: %(reason)s")
DEADLINE_NEAR = N_("Deadline approaching: %(title)s is due %(due)s")
REMINDER = N_("Reminder from %(sender)s: %(title)s is waiting for you")
REMINDER_DUE = N_("Reminder from %(sender)s: %(title)s is waiting for you, due %(due)s")
ROUND_PUBLISHED = N_("Results of the %(year)s %(round)s are published.")
ROUND_OPEN = N_("%(round)s is open: self-reports are due %(due)s.")
ANNUAL_PUBLISHED = N_("The %(year)s annual results and rankings are published.")
ROUND_CORRECTED = N_("The published results of the %(year)s %(round)s were corrected (version %(version)s).")
ROUND_CORRECTED_FRAUD = N_(
    "The published results of the %(year)s %(round)s were corrected (version %(version)s): "
    "fraud found at the year-end verification, %(findings)s."
)
DECLARATION_OVERDUE = N_("The declaration deadline has passed and your indicator declaration is still open.")
TASK_OVERDUE = N_("A deadline has passed and your task is still open.")

KIND_TITLES = {
    "task": _l("New task"),
    "returned": _l("Returned"),
    "deadline": _l("Deadline"),
    "reminder": _l("Reminder"),
    "results_published": _l("Results"),
    "results_corrected": _l("Results corrected"),
    "system_published": _l("Indicator system"),
    "declaration_open": _l("Declaration"),
    "round_open": _l("Round opened"),
}
DEADLINE_WARNING = timedelta(days=5)
PAGE_SIZE = 20
BELL_SIZE = 5


@dataclass
class Note:
    """One notification to write: the users, and what they are told."""

    users: list[User]
    kind: str
    text: str
    link: str = ""
    params: dict[str, Any] | None = None
    key: str | None = None
    mailed: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- rendering


def _display(name: str, value: Any) -> Any:
    if name == "due" and value:
        return format_date(datetime.fromisoformat(value), "medium")
    if name == "round" and value in {k.value for k in RoundKind}:
        return RoundKind(value).title
    return value


def render(notification: Notification) -> str:
    """The notification's text in the current language (stored text as is when it has no params)."""
    if notification.params is None:
        return notification.text
    values = {name: _display(name, value) for name, value in notification.params.items()}
    try:
        return gettext(notification.text, **values)
    except (KeyError, ValueError, TypeError):  # a msgid whose placeholders changed since it was stored
        return notification.text


def kind_title(kind: str) -> str:
    return str(KIND_TITLES.get(kind, kind))


# ---------------------------------------------------------------- writing


def _insert_keyed(rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """Insert once-only rows; a concurrent writer's duplicate is dropped by the unique constraint.

    Returns the (user_id, key) pairs actually inserted, so only those are e-mailed.
    """
    if not rows:
        return set()
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(Notification).on_conflict_do_nothing().returning(Notification.user_id, Notification.key)
    )
    return {(user_id, key) for user_id, key in db.session.execute(statement, rows)}


def _mail(notes: list[Note], inserted: set[tuple[int, str]]) -> None:
    """Queue an e-mail copy for every addressee with an address (sent after the commit, in the site's
    language and with its address: the mail sender knows those settings)."""
    if not mail.configured():
        return
    for note in notes:
        addressed = [u for u in note.users if u.email and (note.key is None or (u.id, note.key) in inserted)]
        emails = [u.email for u in addressed if u.email]
        if not addressed:
            continue

        def text(note: Note = note) -> str:
            return render(Notification(text=note.text, params=note.params))

        queued = mail.queue_copy(emails, text, note.link)
        note.mailed.extend(u.username for u, sent in zip(addressed, queued, strict=True) if sent)


def write(notes: Iterable[Note], now: datetime | None = None) -> int:
    """Insert every note's rows in one statement (plus one for once-only rows); returns the rows written."""
    now = now or utcnow()
    notes = [n for n in notes if n.users]
    plain: list[dict[str, Any]] = []
    keyed: list[dict[str, Any]] = []
    for note in notes:
        rows = [
            {
                "user_id": user.id,
                "kind": note.kind,
                "text": note.text,
                "params": note.params,
                "key": note.key,
                "link": note.link,
                "created_at": now,
            }
            for user in note.users
        ]
        (keyed if note.key else plain).extend(rows)
    if plain:
        db.session.execute(insert(Notification), plain)
    inserted = _insert_keyed(keyed)
    _mail(notes, inserted)
    return len(plain) + len(inserted)


def notify(
    users: list[User],
    kind: str,
    text: str,
    link: str = "",
    now: datetime | None = None,
    *,
    params: dict[str, Any] | None = None,
    key: str | None = None,
) -> int:
    """Tell the users (text: a msgid when params are given, else shown as is); returns how many."""
    return write([Note(list(users), kind, text, link, params, key)], now)


def users_of(org_code: str | None = None, role: Role | None = None) -> list[User]:
    query = select(User).where(User.active.is_(True))
    if org_code:
        query = query.join(User.org).where(OrgUnit.code == org_code)
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    return list(db.session.scalars(query.order_by(User.id)))


def recipients(tasks: list[InboxTask]) -> dict[int, list[User]]:
    """Who each task is for: its assignee if set, else the active users of its org holding its role."""
    assignee_ids = {t.assignee_id for t in tasks if t.assignee_id}
    orgs_by_role: dict[Role, set[int | None]] = {}
    for t in tasks:
        if not t.assignee_id:
            orgs_by_role.setdefault(t.role, set()).add(t.org_id)
    conditions: list[ColumnElement[bool]] = []
    if assignee_ids:
        conditions.append(User.id.in_(assignee_ids))
    for role, org_ids in orgs_by_role.items():
        by_role = User.id.in_(select(UserRole.user_id).where(UserRole.role == role))
        # an org-less task (the office's, the leadership's) is for the role's users anywhere
        conditions.append(by_role if None in org_ids else (by_role & User.org_id.in_(org_ids)))
    if not conditions:
        return {}
    users = db.session.scalars(
        select(User).where(User.active.is_(True), or_(*conditions)).order_by(User.id)
    ).all()
    by_id = {u.id: u for u in users}
    # (role, org id) → its users, and role → all its users (for org-less tasks): one pass over the users
    in_org: dict[tuple[Role, int | None], list[User]] = {}
    anywhere: dict[Role, list[User]] = {}
    for u in users:
        for role in set(u.roles):
            in_org.setdefault((role, u.org_id), []).append(u)
            anywhere.setdefault(role, []).append(u)
    found = {}
    for t in tasks:
        if t.assignee_id:
            found[t.id] = [by_id[t.assignee_id]] if t.assignee_id in by_id else []
        else:
            found[t.id] = list(
                anywhere.get(t.role, []) if t.org_id is None else in_org.get((t.role, t.org_id), [])
            )
    return found


def _task_params(task: InboxTask, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"title": task.title}
    if task.due_at is not None:
        params["due"] = task.due_at.isoformat()
    params.update(extra)
    return params


def _link(task: InboxTask) -> str:
    return f"/tasks/{task.task_guid}"


def notify_arrivals(tasks: list[InboxTask], now: datetime, cause: InboxTask | None = None) -> int:
    """New inbox rows: tell who they are for; when the step that made them was a return, say so and why."""
    if not tasks:
        return 0
    db.session.flush()  # the new rows need their ids
    submitted = (cause.submitted or {}) if cause is not None else {}
    returned = submitted.get("decision") == "return"
    reason = str(submitted.get("comment") or "").strip()
    who = recipients(tasks)
    notes = []
    for task in tasks:
        if returned:
            text = TASK_RETURNED_REASON if reason else TASK_RETURNED
            params = _task_params(task, reason=reason) if reason else _task_params(task)
            kind = "returned"
        else:
            text = TASK_ARRIVED_DUE if task.due_at else TASK_ARRIVED
            params, kind = _task_params(task), "task"
        notes.append(Note(who.get(task.id, []), kind, text, _link(task), params))
    return write(notes, now)


def send_deadline_warnings(now: datetime) -> int:
    """Warn about open tasks due within five days, once per task (safe to run twice, or in two workers)."""
    key = literal("deadline:") + InboxTask.task_guid
    tasks = db.session.scalars(
        select(InboxTask)
        .where(
            InboxTask.status == TaskStatus.OPEN,
            InboxTask.due_at > now,
            InboxTask.due_at <= now + DEADLINE_WARNING,
            ~exists().where(Notification.key == key),
        )
        .order_by(InboxTask.due_at, InboxTask.id)
    ).all()
    if not tasks:
        return 0
    who = recipients(list(tasks))
    notes = [
        Note(
            who.get(t.id, []), "deadline", DEADLINE_NEAR, _link(t), _task_params(t), f"deadline:{t.task_guid}"
        )
        for t in tasks
    ]
    write(notes, now)
    return sum(1 for n in notes if n.users)


def send_reminder(task: InboxTask, sender: User, now: datetime) -> int:
    """The office reminds whoever an open task is for (in-app, and by e-mail when SMTP is configured).

    Returns the number of users notified and records a `task.reminded` audit event; how often one
    may remind is the caller's policy (the monitor's quiet period).
    """
    errors.forbid_unless(sender.can_manage_processes())
    if task.status != TaskStatus.OPEN:
        raise errors.Conflict(str(_l("Only an open task can be reminded of.")))
    users = recipients([task]).get(task.id, [])
    text = REMINDER_DUE if task.due_at else REMINDER
    note = Note(users, "reminder", text, _link(task), _task_params(task, sender=sender.display_name))
    write([note], now)
    audit.record(
        "task.reminded",
        sender,
        instance_id=task.instance_id,
        task_guid=task.task_guid,
        detail={"notified": [u.username for u in users], "emailed": note.mailed},
        at=now,
    )
    db.session.flush()
    return len(users)


def notify_results_published(scheme_year_id: int, kind: RoundKind, now: datetime) -> int:
    """A round's (or, at year end, the year's) results are published: tell the cities and departments."""
    year = load(SchemeYear, scheme_year_id)
    users = db.session.scalars(
        select(User)
        .join(User.org)
        .where(
            User.active.is_(True),
            OrgUnit.kind.in_([OrgKind.CITY, OrgKind.COUNTERPART, OrgKind.DEPARTMENT]),
            User.id.in_(select(UserRole.user_id).where(UserRole.role.in_([Role.CITY, Role.DEPARTMENT]))),
        )
        .order_by(User.id)
    ).all()
    if kind == RoundKind.YEAR_END:
        text, params = ANNUAL_PUBLISHED, {"year": str(year.year)}
    else:
        text, params = ROUND_PUBLISHED, {"year": str(year.year), "round": kind.value}
    return notify(list(users), "results_published", text, f"/results/{year.year}", now, params=params)


def notify_round_corrected(
    round_: EvaluationRound, city_codes: list[str], version: int, findings: str | None, now: datetime
) -> int:
    """A published round was corrected: tell the users of each city whose figures or rank changed (and of
    its counterpart departments), linking to the city's corrected details."""
    year = load(SchemeYear, round_.scheme_year_id)
    params: dict[str, Any] = {"year": str(year.year), "round": round_.kind.value, "version": str(version)}
    text = ROUND_CORRECTED
    if findings:
        text, params = ROUND_CORRECTED_FRAUD, {**params, "findings": findings}
    # the city's own users and its counterpart departments' (a city's user's org has the city as root)
    by_city: dict[str, list[User]] = {}
    for user in users_of(role=Role.CITY):
        by_city.setdefault(user.org.root().code, []).append(user)
    notes = [
        Note(
            by_city[code],
            "results_corrected",
            text,
            f"/results/{year.year}/{round_.kind.value}/city/{code}",
            params,
        )
        for code in city_codes
        if code in by_city
    ]
    return write(notes, now)


# ---------------------------------------------------------------- reading and marking


def unread_count(user: User) -> int:
    return db.session.scalar(  # type: ignore[return-value]  # COUNT(*) is never NULL
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def _mine(user: User) -> Select[tuple[Notification]]:
    return select(Notification).where(Notification.user_id == user.id)


def latest(user: User, limit: int = BELL_SIZE) -> list[Notification]:
    return list(
        db.session.scalars(
            _mine(user).order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
        )
    )


def list_page(user: User, page: int) -> Any:
    """One page of the user's notifications, newest first (a Flask-SQLAlchemy Pagination)."""
    return db.paginate(
        _mine(user).order_by(Notification.created_at.desc(), Notification.id.desc()),
        page=page,
        per_page=PAGE_SIZE,
        error_out=False,
    )


def get_notification(notification_id: int, user: User) -> Notification:
    """The user's own notification; anyone else's (or none) is NotFound, so ids reveal nothing."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or not notification.can_view(user):
        raise errors.NotFound(str(_l("There is no such notification.")))
    return notification


def mark_read(notification_id: int, user: User, now: datetime) -> Notification:
    """Mark one of the user's notifications read (already read: unchanged)."""
    notification = get_notification(notification_id, user)
    if notification.read_at is None:
        notification.read_at = now
        db.session.flush()
    return notification


def mark_all_read(user: User, now: datetime) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


# ---------------------------------------------------------------- messages thrown by processes


def remind(instance: ProcessInstance, payload: dict[str, Any], now: datetime) -> None:
    """A deadline passed with the task still open: tell the org's users (and, through the inbox, the office)."""
    role = Role(payload["role"]) if payload.get("role") else None
    users = users_of(payload.get("org"), role)
    link = str(payload.get("link") or "/inbox/")
    if payload.get("text"):
        notify(users, "reminder", str(payload["text"]), link, now)
    elif payload.get("kind") == "declaration_overdue":
        notify(users, "reminder", DECLARATION_OVERDUE, link, now, params={})
    else:
        notify(users, "reminder", TASK_OVERDUE, link, now, params={})
