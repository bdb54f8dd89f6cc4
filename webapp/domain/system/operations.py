"""The indicator system's verbs: the declaration call, a department's declaration and its review,
composing and editing the draft, comments and their handling, approving (freezing) a system and
(the revision process is started by `process.cycle.start_revision`). Each takes the domain objects and the acting user, checks that the user may,
validates what it is given, writes the tables and flushes; a task's form calls them through
`adapters`, the indicator pages, the CLI and tests call them directly.

Rows are plain mappings, as a form or an API posts them: a declared row {key_point (number),
name, proposed_weight, unit, method, target, basis_document, data_source}, a comment row {code,
comment}, a handling row {comment_id, handling, reason}. Refusals name the row's field the way
forms do (`indicators-2-name`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from models.db import db
from models.formation import (
    CommentSource,
    Declaration,
    DeclarationCall,
    DeclarationStatus,
    DeclaredIndicator,
    Handling,
    SystemComment,
    SystemRevision,
)
from models.i18n import lazy_gettext as _l
from models.org import OrgUnit, Role, User
from models.scheme import Indicator, IndicatorCoOwner, SchemeYear, YearStatus
from webapp.domain import audit, errors, notifications
from webapp.domain.localtime import local_end
from webapp.domain.system import queries

Row = Mapping[str, Any]
SOURCE_OF_ROLE = {
    Role.EXPERT: CommentSource.EXPERT,
    Role.DEPARTMENT: CommentSource.DEPARTMENT,
    Role.CITY: CommentSource.CITY,
}


def _office_only(actor: User) -> None:
    errors.forbid_unless(actor.has_role(Role.OFFICE), _l("Only the office can do this."))


def _editable(scheme_year: SchemeYear, actor: User) -> None:
    if not scheme_year.can_edit_system(actor):
        raise errors.Forbidden(str(_l("Only the office can edit a system that is not frozen.")))


# ---------------------------------------------------------------- declaration


def publish_declaration_call(
    scheme_year: SchemeYear, standard: Row, deadline: date, actor: User, now: datetime
) -> DeclarationCall:
    """The office's call for indicators: the standard they must meet ({basis, quantifiability,
    decomposition, rewards_penalties}) and the deadline; every department is told."""
    _office_only(actor)
    problems: dict[str, list[str]] = {}
    for name in ("basis", "quantifiability", "decomposition", "rewards_penalties"):
        if not str(standard.get(name) or "").strip():
            problems[name] = [str(_l("This field is required."))]
    dated = queries.future_date_problems(deadline, now)
    if dated:
        problems["deadline"] = dated
    errors.reject(problems)
    due = local_end(deadline)
    call = DeclarationCall.for_year(scheme_year.id) or DeclarationCall(scheme_year_id=scheme_year.id)
    call.basis, call.quantifiability = standard["basis"], standard["quantifiability"]
    call.decomposition, call.rewards_penalties = standard["decomposition"], standard["rewards_penalties"]
    call.deadline, call.published_at, call.published_by_id = due, now, actor.id
    db.session.add(call)
    notifications.notify(
        notifications.users_of(role=Role.DEPARTMENT),
        "declaration_open",
        str(
            _l(
                "The %(year)d indicator declaration is open until %(deadline)s.",
                year=scheme_year.year,
                deadline=due.date().isoformat(),
            )
        ),
        "/inbox/",
        now,
    )
    db.session.flush()
    return call


def declare_indicators(
    scheme_year: SchemeYear, department: OrgUnit, rows: Sequence[Row], actor: User, now: datetime
) -> Declaration:
    """A department declares (again) the indicators it proposes; blank rows are left out."""
    errors.forbid_unless(
        actor.has_role(Role.DEPARTMENT) and actor.org_id == department.id,
        _l("Only the department's own users can declare its indicators."),
    )
    points = {p.number: p for p in queries.key_points(scheme_year)}
    errors.reject(queries.declaration_problems(points, rows))
    declaration = Declaration.find(scheme_year.id, department.id) or Declaration(
        scheme_year_id=scheme_year.id, department_id=department.id, submissions=0
    )
    declaration.status = DeclarationStatus.SUBMITTED
    declaration.submissions = (declaration.submissions or 0) + 1
    declaration.submitted_at, declaration.submitted_by_id = now, actor.id
    declaration.items = [
        DeclaredIndicator(
            seq=n,
            key_point_number=int(row["key_point"]),
            name=str(row["name"]).strip(),
            proposed_weight=Decimal(str(row["proposed_weight"])),
            unit=row.get("unit") or "",
            method=row.get("method") or "",
            target=row.get("target") or "",
            basis_document=row.get("basis_document") or "",
            data_source=row.get("data_source") or "",
        )
        for n, row in enumerate((r for r in rows if not queries.is_blank_row(r)), start=1)
    ]
    db.session.add(declaration)
    db.session.flush()
    return declaration


def review_declaration(
    scheme_year: SchemeYear, department: OrgUnit, accepted: bool, comment: str, actor: User, now: datetime
) -> Declaration:
    """The office accepts a department's declaration or returns it with its comment."""
    _office_only(actor)
    declaration = Declaration.find(scheme_year.id, department.id)
    if declaration is None:
        raise errors.NotFound(str(_l("%(org)s has not declared yet.", org=department.short_name)))
    declaration.status = DeclarationStatus.ACCEPTED if accepted else DeclarationStatus.RETURNED
    declaration.reviewed_at, declaration.reviewed_by_id = now, actor.id
    declaration.review_comment = comment or ""
    db.session.flush()
    return declaration


# ---------------------------------------------------------------- composing and editing the draft


def compose_from_declarations(scheme_year: SchemeYear, actor: User) -> int:
    """Replace the year's indicators by the accepted declared ones; an indicator keeps its code (and
    co-owners) when the same department declares it again under the same key point and name.
    Returns the number of indicators."""
    _editable(scheme_year, actor)
    declarations = db.session.scalars(
        select(Declaration).where(
            Declaration.scheme_year_id == scheme_year.id, Declaration.status == DeclarationStatus.ACCEPTED
        )
    ).all()
    if not declarations:
        raise errors.Conflict(str(_l("No declaration has been accepted yet.")))
    existing = {(i.owner_id, i.key_point.number, i.name): i for i in scheme_year.indicators()}
    points = {p.number: p for p in queries.key_points(scheme_year)}
    used_codes = {i.code for i in existing.values()}
    next_number = max((int(c[1:]) for c in used_codes if c[1:].isdigit()), default=0) + 1
    keep: set[int] = set()
    seq = 0

    def place(pair: tuple[Declaration, DeclaredIndicator]) -> tuple[int, int, int, int]:
        """Under its key point, an indicator declared again keeps its place; new ones follow, by department."""
        declaration, item = pair
        match = existing.get((declaration.department_id, item.key_point_number, item.name))
        kept = match.seq if match is not None else 1 << 30
        return (item.key_point_number, kept, declaration.department.sort_order, item.seq)

    items = sorted(
        ((d, item) for d in declarations for item in d.items if item.key_point_number in points), key=place
    )
    for declaration, item in items:
        seq += 1
        match = existing.get((declaration.department_id, item.key_point_number, item.name))
        if match is None:
            match = Indicator(
                scheme_year=scheme_year, code=f"I{next_number:03d}", owner_id=declaration.department_id
            )
            next_number += 1
            db.session.add(match)
        match.key_point_id, match.seq, match.name = points[item.key_point_number].id, seq, item.name
        match.weight, match.unit = item.proposed_weight, item.unit
        match.scoring_rule = item.method or match.scoring_rule or ""
        keep.add(id(match))
    for indicator in existing.values():
        if id(indicator) not in keep:
            db.session.delete(indicator)
    audit.record("system.composed", actor, detail={"year": scheme_year.year, "indicators": seq})
    db.session.flush()
    return seq


def update_indicator(scheme_year: SchemeYear, actor: User, code: str | None, values: Row) -> Indicator:
    """Create (code None) or change one indicator of an editable year."""
    _editable(scheme_year, actor)
    points = {p.number: p for p in queries.key_points(scheme_year)}
    departments = {d.code: d for d in queries.departments()}
    number = str(values.get("key_point") or "")
    point = points.get(int(number)) if number.isdigit() else None
    if point is None or values.get("owner") not in departments:
        field = "key_point" if point is None else "owner"
        raise errors.Invalid(
            str(_l("Some fields need attention.")), fields={field: [str(_l("Choose from the list."))]}
        )
    if code is None:
        codes = [i.code for i in scheme_year.indicators()]
        next_number = max((int(c[1:]) for c in codes if c[1:].isdigit()), default=0) + 1
        indicator = Indicator(scheme_year=scheme_year, code=f"I{next_number:03d}", seq=len(codes) + 1)
        db.session.add(indicator)
    else:
        indicator = queries.indicator(scheme_year, code)
    indicator.key_point = point
    indicator.name, indicator.weight = str(values["name"]).strip(), Decimal(str(values["weight"]))
    indicator.owner_id = departments[values["owner"]].id
    indicator.unit, indicator.scoring_rule = values.get("unit") or "", values.get("scoring_rule") or ""
    co = [c for c in values.get("co_owners") or [] if c != values["owner"] and c in departments]
    indicator.co_owner_rows = [row for row in indicator.co_owner_rows if row.org.code in co]
    have = {row.org.code for row in indicator.co_owner_rows}
    indicator.co_owner_rows.extend(IndicatorCoOwner(org_id=departments[c].id) for c in co if c not in have)
    audit.record("system.indicator_saved", actor, detail={"year": scheme_year.year, "code": indicator.code})
    db.session.flush()
    return indicator


def delete_indicator(scheme_year: SchemeYear, actor: User, code: str) -> None:
    _editable(scheme_year, actor)
    db.session.delete(queries.indicator(scheme_year, code))
    audit.record("system.indicator_deleted", actor, detail={"year": scheme_year.year, "code": code})
    db.session.flush()


# ---------------------------------------------------------------- comments and their handling


def comment_on_system(
    scheme_year: SchemeYear,
    general: str,
    rows: Sequence[Row],
    actor: User,
    as_role: Role,
    now: datetime,
    task_guid: str | None = None,
) -> int:
    """An expert's, a department's or a city's comments on the draft: a general one and one per
    indicator (empty ones are left out). Returns how many were written."""
    errors.forbid_unless(
        as_role in SOURCE_OF_ROLE and actor.has_role(as_role),
        _l("Only experts, departments and cities comment."),
    )
    names = dict(
        db.session.execute(
            select(Indicator.code, Indicator.name).where(Indicator.scheme_year_id == scheme_year.id)
        )
        .tuples()
        .all()
    )
    entries = [("", general or "")] + [(str(r.get("code") or ""), r.get("comment") or "") for r in rows]
    unknown = sorted({code for code, text in entries if code and code not in names and text.strip()})
    if unknown:
        raise errors.Invalid(
            str(_l("Some fields need attention.")),
            fields={"rows": [str(_l("There is no indicator %(code)s.", code=", ".join(unknown)))]},
        )
    written = [
        {
            "scheme_year_id": scheme_year.id,
            "indicator_code": code,
            "indicator_name": names.get(code, ""),
            "source": SOURCE_OF_ROLE[as_role],
            "author_id": actor.id,
            "author_org_id": actor.org_id,
            "text": text.strip(),
            "created_at": now,
            "task_guid": task_guid,
        }
        for code, text in entries
        if text.strip()
    ]
    if written:  # in one statement, however many were written
        db.session.execute(insert(SystemComment), written)
    db.session.flush()
    return len(written)


def handle_comments(scheme_year: SchemeYear, rows: Sequence[Row], actor: User, now: datetime) -> None:
    """The office says of every comment whether it was adopted, and why not."""
    _office_only(actor)
    comments = {str(c.id): c for c in queries.year_comments(scheme_year.id)}
    errors.reject(queries.handling_problems(comments, rows))
    for row in rows:
        comment = comments[str(row["comment_id"])]
        comment.handling, comment.handling_reason = (
            Handling(row["handling"]),
            (row.get("reason") or "").strip(),
        )
        comment.handled_by_id, comment.handled_at = actor.id, now
    db.session.flush()


# ---------------------------------------------------------------- approval


def approve_system(scheme_year: SchemeYear, reason: str, actor: User, now: datetime) -> SystemRevision:
    """The leadership approves the system: it is kept as a numbered revision, frozen, and every
    participant is told. A system that breaks the plan's rules is not approved."""
    errors.forbid_unless(actor.has_role(Role.LEADERSHIP), _l("Only the leadership approves the system."))
    problems = queries.system_problems(scheme_year)
    if problems:
        raise errors.Conflict(" ".join(problems[""]))
    latest = SystemRevision.latest(scheme_year.id)
    revision = SystemRevision(
        scheme_year_id=scheme_year.id,
        number=(latest.number + 1) if latest else 1,
        reason=reason,
        snapshot=queries.export_tree(scheme_year),
        approved_by_id=actor.id,
        approved_at=now,
    )
    db.session.add(revision)
    scheme_year.status = YearStatus.APPROVED
    text = (
        _l("The %(year)d indicator system has been approved and published.", year=scheme_year.year)
        if revision.number == 1
        else _l(
            "Revision %(n)d of the %(year)d indicator system is in force.",
            n=revision.number,
            year=scheme_year.year,
        )
    )
    everyone = list(db.session.scalars(select(User).where(User.active.is_(True))))
    notifications.notify(everyone, "system_published", str(text), f"/indicators/{scheme_year.year}", now)
    audit.record(
        "system.frozen", actor, detail={"year": scheme_year.year, "revision": revision.number}, at=now
    )
    db.session.flush()
    return revision
