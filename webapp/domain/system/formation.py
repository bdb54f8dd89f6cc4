"""Declaration and forming the system: the handlers behind their forms, composing the draft from the
accepted declarations, comments and their handling, freezing, revisions, and who may see a system."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from wtforms import Form, SelectChoice

from models.db import db
from models.formation import (
    CommentSource,
    Declaration,
    DeclarationCall,
    DeclarationStatus,
    DeclaredIndicator,
    Handling,
    Phase,
    SystemComment,
    SystemRevision,
    YearPhase,
)
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, Role, User, UserRole
from models.rules.indicator_system import IndicatorRow, check_system
from models.scheme import Indicator, IndicatorCoOwner, KeyPoint, SchemeYear, YearStatus
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from webapp.domain import audit, errors
from webapp.domain.process import notifications
from webapp.domain.process import tasks as task_service
from webapp.domain.process.cycle import local_end
from webapp.domain.system import queries as indicator_service
from workflows import forms
from workflows.forms import FormDefinition, TaskContext
from workflows.forms.declaration import DeclarationForm, StandardForm, key_point_choices
from workflows.forms.formation import CommentForm, DraftForm, HandleForm, RevisionForm
from workflows.forms.generic import ApprovalForm

BLANK_ROWS = 3
REVISION_PROCESS = "system_revision"


def _year(ctx: TaskContext) -> SchemeYear:
    return db.session.get(SchemeYear, ctx.instance.scheme_year_id)


def _departments() -> dict[str, OrgUnit]:
    return {o.code: o for o in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT))}


def system_rows(scheme_year: SchemeYear) -> list[IndicatorRow]:
    return [
        IndicatorRow(
            code=i.code,
            name=i.name,
            weight=i.weight,
            key_point=i.key_point.number,
            owner=i.owner.code,
            co_owners=tuple(o.code for o in i.co_owners),
        )
        for i in scheme_year.indicators()
    ]


def check_year(scheme_year: SchemeYear):
    points = set(db.session.scalars(select(KeyPoint.number).where(KeyPoint.scheme_year_id == scheme_year.id)))
    return check_system(system_rows(scheme_year), points, set(_departments()), scheme_year.total_weight)


def _system_errors(scheme_year: SchemeYear) -> dict[str, list[str]]:
    result = check_year(scheme_year)
    return {} if result.ok else {"": [p.message for p in result.problems]}


def _past_date_errors(value: date | None, now: datetime) -> list[str]:
    if value is not None and local_end(value) <= now:
        return [str(_l("The date must be in the future."))]
    return []


# ---------------------------------------------------------------- declaration phase


def _standard_prefill(ctx: TaskContext) -> dict[str, Any]:
    year = _year(ctx)
    call = DeclarationCall.for_year(year.id)
    if call is not None:
        return {
            "basis": call.basis,
            "quantifiability": call.quantifiability,
            "decomposition": call.decomposition,
            "rewards_penalties": call.rewards_penalties,
            "deadline": call.deadline.astimezone(local_end(date.today()).tzinfo).date(),
        }
    phase = db.session.scalar(
        select(YearPhase).where(YearPhase.scheme_year_id == year.id, YearPhase.phase == Phase.DECLARATION)
    )
    return {"deadline": phase.deadline.astimezone(local_end(date.today()).tzinfo).date() if phase else None}


def _standard_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    errors = _past_date_errors(form.deadline.data, ctx.now)
    return {"deadline": errors} if errors else {}


def _publish_standard(ctx: TaskContext, values: dict[str, Any]) -> dict[str, Any]:
    year = _year(ctx)
    deadline = local_end(date.fromisoformat(values["deadline"]))
    call = DeclarationCall.for_year(year.id) or DeclarationCall(scheme_year_id=year.id)
    call.basis, call.quantifiability = values["basis"], values["quantifiability"]
    call.decomposition, call.rewards_penalties = values["decomposition"], values["rewards_penalties"]
    call.deadline, call.published_at, call.published_by_id = deadline, ctx.now, ctx.user.id
    db.session.add(call)
    notifications.notify(
        notifications.users_of(role=Role.DEPARTMENT),
        "declaration_open",
        str(
            _l(
                "The %(year)d indicator declaration is open until %(deadline)s.",
                year=year.year,
                deadline=deadline.date().isoformat(),
            )
        ),
        "/inbox/",
        ctx.now,
    )
    return {"declaration_deadline": deadline.isoformat()}


def _key_points(year: SchemeYear) -> list[KeyPoint]:
    return list(
        db.session.scalars(
            select(KeyPoint).where(KeyPoint.scheme_year_id == year.id).order_by(KeyPoint.number)
        )
    )


def _declare_setup(form: Form, ctx: TaskContext) -> None:
    choices = key_point_choices(_key_points(_year(ctx)))
    for entry in form.indicators.entries:
        entry.form.key_point.choices = choices


def _declare_prefill(ctx: TaskContext) -> dict[str, Any]:
    year = _year(ctx)
    existing = Declaration.find(year.id, ctx.task.org_id)
    if existing is not None and existing.items:
        rows = [
            {
                "key_point": str(item.key_point_number),
                "name": item.name,
                "proposed_weight": item.proposed_weight,
                "unit": item.unit,
                "method": item.method,
                "target": item.target,
                "basis_document": item.basis_document,
                "data_source": item.data_source,
            }
            for item in existing.items
        ]
    else:  # start from what the department owns in the year's draft (last year's system, cloned)
        rows = [
            {
                "key_point": str(i.key_point.number),
                "name": i.name,
                "proposed_weight": i.weight,
                "unit": i.unit,
                "method": i.scoring_rule,
            }
            for i in year.indicators()
            if i.owner_id == ctx.task.org_id
        ]
    return {"indicators": rows + [{}] * BLANK_ROWS}


def _declare(ctx: TaskContext, values: dict[str, Any]) -> None:
    year = _year(ctx)
    points = {p.number: p for p in _key_points(year)}
    declaration = Declaration.find(year.id, ctx.task.org_id) or Declaration(
        scheme_year_id=year.id, department_id=ctx.task.org_id, submissions=0
    )
    declaration.status = DeclarationStatus.SUBMITTED
    declaration.submissions = (declaration.submissions or 0) + 1
    declaration.submitted_at, declaration.submitted_by_id = ctx.now, ctx.user.id
    declaration.items = [
        DeclaredIndicator(
            seq=n,
            key_point_number=points[int(row["key_point"])].number,
            name=row["name"].strip(),
            proposed_weight=Decimal(row["proposed_weight"]),
            unit=row.get("unit") or "",
            method=row.get("method") or "",
            target=row.get("target") or "",
            basis_document=row.get("basis_document") or "",
            data_source=row.get("data_source") or "",
        )
        for n, row in enumerate((r for r in values["indicators"] if (r.get("name") or "").strip()), start=1)
    ]
    db.session.add(declaration)
    db.session.flush()
    return None


def _review_context(ctx: TaskContext) -> dict[str, Any]:
    year = _year(ctx)
    return {
        "declaration": Declaration.find(year.id, ctx.task.subject_org_id),
        "call": DeclarationCall.for_year(year.id),
    }


def _review(ctx: TaskContext, values: dict[str, Any]) -> None:
    declaration = Declaration.find(_year(ctx).id, ctx.task.subject_org_id)
    accepted = values["decision"] == "approve"
    declaration.status = DeclarationStatus.ACCEPTED if accepted else DeclarationStatus.RETURNED
    declaration.reviewed_at, declaration.reviewed_by_id = ctx.now, ctx.user.id
    declaration.review_comment = values.get("comment") or ""
    # A return is told with the declaration task it sends back (notifications.notify_arrivals).
    db.session.flush()


# ---------------------------------------------------------------- composing and editing the draft


def compose_from_declarations(scheme_year: SchemeYear, user: User) -> int:
    """Replace the year's indicators by the accepted declared ones; an indicator keeps its code (and
    co-owners) when the same department declares it again under the same key point and name."""
    if not scheme_year.can_edit_system(user):
        raise errors.Forbidden(str(_l("Only the office can edit a system that is not frozen.")))
    declarations = db.session.scalars(
        select(Declaration).where(
            Declaration.scheme_year_id == scheme_year.id, Declaration.status == DeclarationStatus.ACCEPTED
        )
    ).all()
    if not declarations:
        raise errors.Conflict(str(_l("No declaration has been accepted yet.")))
    existing = {(i.owner_id, i.key_point.number, i.name): i for i in scheme_year.indicators()}
    points = {p.number: p for p in _key_points(scheme_year)}
    used_codes = {i.code for i in existing.values()}
    next_number = max((int(c[1:]) for c in used_codes if c[1:].isdigit()), default=0) + 1
    keep: set[int] = set()
    seq = 0
    items = sorted(
        ((d, item) for d in declarations for item in d.items if item.key_point_number in points),
        key=lambda pair: (pair[1].key_point_number, pair[0].department.sort_order, pair[1].seq),
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
    audit.record("system.composed", user, detail={"year": scheme_year.year, "indicators": seq})
    db.session.flush()
    return seq


def update_indicator(
    scheme_year: SchemeYear, user: User, code: str | None, values: dict[str, Any]
) -> Indicator:
    """Create (code None) or change one indicator of an editable year."""
    if not scheme_year.can_edit_system(user):
        raise errors.Forbidden(str(_l("Only the office can edit a system that is not frozen.")))
    point = db.session.scalar(
        select(KeyPoint).where(
            KeyPoint.scheme_year_id == scheme_year.id, KeyPoint.number == int(values["key_point"])
        )
    )
    departments = _departments()
    if point is None or values.get("owner") not in departments:
        raise errors.Invalid(
            {"key_point" if point is None else "owner": [str(_l("Choose from the list."))]}
        )
    if code is None:
        codes = [i.code for i in scheme_year.indicators()]
        number = max((int(c[1:]) for c in codes if c[1:].isdigit()), default=0) + 1
        indicator = Indicator(scheme_year=scheme_year, code=f"I{number:03d}", seq=len(codes) + 1)
        db.session.add(indicator)
    else:
        indicator = db.session.scalar(
            select(Indicator).where(Indicator.scheme_year_id == scheme_year.id, Indicator.code == code)
        )
        if indicator is None:
            raise errors.NotFound(str(_l("There is no indicator %(code)s.", code=code)))
    indicator.key_point = point
    indicator.name, indicator.weight = values["name"].strip(), Decimal(str(values["weight"]))
    indicator.owner_id = departments[values["owner"]].id
    indicator.unit, indicator.scoring_rule = values.get("unit") or "", values.get("scoring_rule") or ""
    co = [c for c in values.get("co_owners") or [] if c != values["owner"]]
    indicator.co_owner_rows = [row for row in indicator.co_owner_rows if row.org.code in co]
    have = {row.org.code for row in indicator.co_owner_rows}
    indicator.co_owner_rows.extend(IndicatorCoOwner(org_id=departments[c].id) for c in co if c not in have)
    audit.record("system.indicator_saved", user, detail={"year": scheme_year.year, "code": indicator.code})
    db.session.flush()
    return indicator


def delete_indicator(scheme_year: SchemeYear, user: User, code: str) -> None:
    if not scheme_year.can_edit_system(user):
        raise errors.Forbidden(str(_l("Only the office can edit a system that is not frozen.")))
    indicator = db.session.scalar(
        select(Indicator).where(Indicator.scheme_year_id == scheme_year.id, Indicator.code == code)
    )
    if indicator is None:
        raise errors.NotFound(str(_l("There is no indicator %(code)s.", code=code)))
    db.session.delete(indicator)
    audit.record("system.indicator_deleted", user, detail={"year": scheme_year.year, "code": code})
    db.session.flush()


# ---------------------------------------------------------------- forming the system


def _draft_setup(form: Form, ctx: TaskContext) -> None:
    experts = db.session.scalars(
        select(User)
        .where(User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.EXPERT)))
        .order_by(User.username)
    ).all()
    form.experts.choices = [SelectChoice(u.username, u.display_name) for u in experts]


def _draft_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    errors = _system_errors(_year(ctx))
    dated = _past_date_errors(form.solicitation_deadline.data, ctx.now)
    if dated:
        errors["solicitation_deadline"] = dated
    unknown = set(form.experts.data or []) - {c.value for c in form.experts.choices}
    if unknown:
        errors["experts"] = [str(_l("Choose experts from the list."))]
    return errors


def system_summary(ctx: TaskContext) -> dict[str, Any]:
    year = _year(ctx)
    dims = indicator_service.load_dimensions(year)
    comments = db.session.scalars(select(SystemComment).where(SystemComment.scheme_year_id == year.id)).all()
    accepted = db.session.scalar(
        select(func.count())
        .select_from(Declaration)
        .where(Declaration.scheme_year_id == year.id, Declaration.status == DeclarationStatus.ACCEPTED)
    )
    return {
        "scheme_year": year,
        "sums": indicator_service.subtotals(dims),
        "problems": check_year(year).problems,
        "accepted_declarations": accepted,
        "comments_by_handling": {h: sum(1 for c in comments if c.handling == h) for h in Handling},
    }


def _send_for_review(ctx: TaskContext, values: dict[str, Any]) -> dict[str, Any]:
    deadline = local_end(date.fromisoformat(values["solicitation_deadline"]))
    return {"experts": list(values["experts"]), "solicitation_deadline": deadline.isoformat()}


def _comment_prefill(ctx: TaskContext) -> dict[str, Any]:
    rows = [
        {"code": i.code, "indicator": f"{i.name}（{indicator_service.points_text(i.weight)}）", "comment": ""}
        for i in _year(ctx).indicators()
    ]
    return {"rows": rows}


SOURCE_OF_ROLE = {
    Role.EXPERT: CommentSource.EXPERT,
    Role.DEPARTMENT: CommentSource.DEPARTMENT,
    Role.CITY: CommentSource.CITY,
}


def _comment(ctx: TaskContext, values: dict[str, Any]) -> None:
    year = _year(ctx)
    names = dict(
        db.session.execute(
            select(Indicator.code, Indicator.name).where(Indicator.scheme_year_id == year.id)
        ).all()
    )
    entries = [("", values.get("general") or "")] + [
        (r["code"], r.get("comment") or "") for r in values["rows"]
    ]
    rows = [
        {
            "scheme_year_id": year.id,
            "indicator_code": code,
            "indicator_name": names.get(code, ""),
            "source": SOURCE_OF_ROLE[ctx.task.role],
            "author_id": ctx.user.id,
            "author_org_id": ctx.user.org_id,
            "text": text.strip(),
            "created_at": ctx.now,
            "task_guid": ctx.task.task_guid,
        }
        for code, text in entries
        if text.strip() and (code == "" or code in names)
    ]
    if rows:  # in one statement, however many were written
        db.session.execute(insert(SystemComment), rows)
    db.session.flush()


def year_comments(scheme_year_id: int) -> list[SystemComment]:
    return list(
        db.session.scalars(
            select(SystemComment)
            .where(SystemComment.scheme_year_id == scheme_year_id)
            .order_by(SystemComment.id)
        )
    )


def _handle_prefill(ctx: TaskContext) -> dict[str, Any]:
    rows = []
    for c in year_comments(ctx.instance.scheme_year_id):
        about = f"{c.indicator_code} {c.indicator_name}" if c.indicator_code else str(_l("General"))
        rows.append(
            {
                "comment_id": str(c.id),
                "comment": f"[{c.author_org.short_name} · {c.source.title}] {about}：{c.text}",
                "handling": "" if c.handling == Handling.PENDING else c.handling.value,
                "reason": c.handling_reason,
            }
        )
    return {"rows": rows}


def _handle_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    errors = _system_errors(_year(ctx))
    known = {str(c.id) for c in year_comments(ctx.instance.scheme_year_id)}
    listed = {entry.form.comment_id.data for entry in form.rows.entries}
    if listed != known:
        errors.setdefault("", []).append(str(_l("The list of comments changed; reload the page.")))
    return errors


def _handle(ctx: TaskContext, values: dict[str, Any]) -> None:
    comments = {str(c.id): c for c in year_comments(ctx.instance.scheme_year_id)}
    for row in values["rows"]:
        comment = comments[row["comment_id"]]
        comment.handling, comment.handling_reason = (
            Handling(row["handling"]),
            (row.get("reason") or "").strip(),
        )
        comment.handled_by_id, comment.handled_at = ctx.user.id, ctx.now
    db.session.flush()


def freeze(scheme_year: SchemeYear, user: User, reason: str, now: datetime) -> SystemRevision:
    """Approve: keep the system as a numbered revision, freeze it and tell every participant."""
    latest = SystemRevision.latest(scheme_year.id)
    revision = SystemRevision(
        scheme_year_id=scheme_year.id,
        number=(latest.number + 1) if latest else 1,
        reason=reason,
        snapshot=indicator_service.export_tree(scheme_year),
        approved_by_id=user.id,
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
        "system.frozen", user, detail={"year": scheme_year.year, "revision": revision.number}, at=now
    )
    db.session.flush()
    return revision


def _approve_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    return _system_errors(_year(ctx)) if form.decision.data == "approve" else {}


def _approve_system(ctx: TaskContext, values: dict[str, Any]) -> None:
    if values["decision"] == "approve":
        freeze(_year(ctx), ctx.user, "", ctx.now)


def _revision_reason(instance: ProcessInstance) -> str:
    row = db.session.scalar(
        select(InboxTask)
        .where(
            InboxTask.instance_id == instance.id,
            InboxTask.element_id == "revise",
            InboxTask.status == TaskStatus.COMPLETED,
        )
        .order_by(InboxTask.completed_at.desc())
        .limit(1)
    )
    return (row.submitted or {}).get("reason", "") if row else ""


def _approve_revision(ctx: TaskContext, values: dict[str, Any]) -> None:
    if values["decision"] == "approve":
        freeze(_year(ctx), ctx.user, _revision_reason(ctx.instance), ctx.now)


def start_revision(scheme_year: SchemeYear, user: User) -> ProcessInstance:
    """Open a formal revision of an approved system; the leadership must approve it again."""
    errors.forbid_unless(user.can_manage_processes())
    if scheme_year.status != YearStatus.APPROVED:
        raise errors.Conflict(
            str(_l("Only an approved system can be revised, and only one revision at a time."))
        )
    scheme_year.status = YearStatus.REVISING
    latest = SystemRevision.latest(scheme_year.id)
    return task_service.start_process(
        REVISION_PROCESS,
        user,
        business_key=f"{scheme_year.year} 指标体系修订 {(latest.number if latest else 0) + 1}",
        data={"year": scheme_year.year, "scheme_year_id": scheme_year.id},
        scheme_year_id=scheme_year.id,
    )


# ---------------------------------------------------------------- the forms of both phases

FORMS = [
    FormDefinition(
        "declaration.standard",
        StandardForm,
        handler=_publish_standard,
        prefill=_standard_prefill,
        check=_standard_check,
    ),
    FormDefinition(
        "declaration.declare",
        DeclarationForm,
        handler=_declare,
        prefill=_declare_prefill,
        setup=_declare_setup,
    ),
    FormDefinition(
        "declaration.review",
        ApprovalForm,
        routing=("decision",),
        handler=_review,
        context=_review_context,
        template="tasks/context/declaration.html",
    ),
    FormDefinition(
        "formation.draft",
        DraftForm,
        handler=_send_for_review,
        setup=_draft_setup,
        check=_draft_check,
        context=system_summary,
        template="tasks/context/system.html",
    ),
    FormDefinition("formation.comment", CommentForm, handler=_comment, prefill=_comment_prefill),
    FormDefinition(
        "formation.handle",
        HandleForm,
        handler=_handle,
        prefill=_handle_prefill,
        check=_handle_check,
        context=system_summary,
        template="tasks/context/system.html",
    ),
    FormDefinition(
        "formation.approve",
        ApprovalForm,
        routing=("decision",),
        handler=_approve_system,
        check=_approve_check,
        context=system_summary,
        template="tasks/context/system.html",
    ),
    FormDefinition(
        "revision.edit",
        RevisionForm,
        check=lambda form, ctx: _system_errors(_year(ctx)),
        context=system_summary,
        template="tasks/context/system.html",
    ),
    FormDefinition(
        "revision.approve",
        ApprovalForm,
        routing=("decision",),
        handler=_approve_revision,
        check=_approve_check,
        context=system_summary,
        template="tasks/context/system.html",
    ),
]
for definition in FORMS:
    forms.register(definition)


def declaration_overview(scheme_year: SchemeYear, now: datetime) -> list[dict[str, Any]]:
    """Per department: its declaration's state, and whether it is late (the office's deadline view)."""
    call = DeclarationCall.for_year(scheme_year.id)
    declarations = {
        d.department_id: d
        for d in db.session.scalars(select(Declaration).where(Declaration.scheme_year_id == scheme_year.id))
    }
    open_tasks = {
        t.org_id: t
        for t in db.session.scalars(
            select(InboxTask)
            .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
            .where(
                ProcessInstance.scheme_year_id == scheme_year.id,
                InboxTask.element_id == "declare",
                InboxTask.status == TaskStatus.OPEN,
            )
        )
    }
    reminded = set(
        db.session.scalars(
            select(InboxTask.org_id)
            .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
            .where(ProcessInstance.scheme_year_id == scheme_year.id, InboxTask.element_id == "declare")
        )
    )
    rows = []
    for dept in sorted(_departments().values(), key=lambda o: o.sort_order):
        d = declarations.get(dept.id)
        task = open_tasks.get(dept.id)
        deadline = call.deadline if call else None
        first_submission_late = bool(d and deadline and d.submitted_at and d.submitted_at > deadline)
        overdue = bool(task and deadline and now > deadline)
        rows.append(
            {
                "department": dept,
                "declaration": d,
                "task": task,
                "late": overdue or first_submission_late,
                "overdue": overdue,
                "invited": dept.id in reminded,
            }
        )
    return rows
