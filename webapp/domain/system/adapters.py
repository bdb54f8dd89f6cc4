"""The declaration and formation phases' user tasks: each form key's prefill, choices, checks and page
context, and its handler, a thin adapter from the task's values to one of the verbs in `operations`
(registered at start-up by `webapp.domain.register`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from models.db import db, load
from models.formation import Declaration, DeclarationCall
from models.i18n import lazy_gettext as _l
from models.org import OrgUnit, Role, User, UserRole
from models.scheme import SchemeYear
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from webapp.domain.localtime import local_end
from webapp.domain.system import files, operations, queries
from workflows.forms import Choice, FormDefinition, TaskContext, TaskForm
from workflows.forms.declaration import DeclarationForm, StandardForm, key_point_choices
from workflows.forms.formation import CommentForm, DraftForm, HandleForm, RevisionForm
from workflows.forms.generic import ApprovalForm

TaskValues = dict[str, Any]  # a task's cleaned form values
BLANK_ROWS = 3  # empty rows a declaration offers for new indicators
STANDARD = ("basis", "quantifiability", "decomposition", "rewards_penalties")


def _year(ctx: TaskContext) -> SchemeYear:
    """The year the task's process runs (every phase's process has one)."""
    return ctx.remember("year", lambda: load(SchemeYear, ctx.instance.scheme_year_id))


def _org(ctx: TaskContext) -> OrgUnit:
    return ctx.remember("org", lambda: load(OrgUnit, ctx.task.org_id))


def _summary(ctx: TaskContext) -> dict[str, Any]:
    return queries.system_summary(_year(ctx))


def _system_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    return queries.system_problems(_year(ctx))


# ---------------------------------------------------------------- declaration phase


def _standard_prefill(ctx: TaskContext) -> dict[str, Any]:
    return queries.declaration_call_defaults(_year(ctx), ctx.now)


def _standard_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    problems = queries.future_date_problems(form.deadline.data, ctx.now)
    return {"deadline": problems} if problems else {}


def _publish_standard(ctx: TaskContext, values: TaskValues) -> dict[str, Any]:
    call = operations.publish_declaration_call(
        _year(ctx),
        {name: values[name] for name in STANDARD},
        date.fromisoformat(values["deadline"]),
        ctx.user,
        ctx.now,
    )
    return {"declaration_deadline": call.deadline.isoformat()}


def _declare_setup(form: TaskForm, ctx: TaskContext) -> None:
    choices = key_point_choices(queries.key_points(_year(ctx)))
    for entry in form.indicators.entries:
        entry.form.key_point.choices = choices


def _declare_prefill(ctx: TaskContext) -> dict[str, Any]:
    return {"indicators": queries.declared_rows(_year(ctx), _org(ctx)) + [{}] * BLANK_ROWS}


def _declare(ctx: TaskContext, values: TaskValues) -> None:
    operations.declare_indicators(_year(ctx), _org(ctx), values["indicators"], ctx.user, ctx.now)


def _declare_context(ctx: TaskContext) -> dict[str, Any]:
    """The files the department attached to its declaration, with the upload while the task is open."""
    return {
        "files": files.for_declaration(_year(ctx).id, ctx.task.org_id) if ctx.task.org_id else [],
        "can_upload": files.can_change(ctx.task, ctx.user),
    }


def _review_context(ctx: TaskContext) -> dict[str, Any]:
    """The declaration under review with the note and the files the department sent with it."""
    year, department = _year(ctx), ctx.task.subject_org_id
    return {
        "declaration": Declaration.find(year.id, department) if department else None,
        "note": queries.declaration_note(year.id, department) if department else "",
        "files": files.for_declaration(year.id, department) if department else [],
        "call": DeclarationCall.for_year(year.id),
    }


def _review(ctx: TaskContext, values: TaskValues) -> None:
    # a return is told with the declaration task it sends back (notifications.notify_arrivals)
    department = load(OrgUnit, ctx.task.subject_org_id)
    accepted = values["decision"] == "approve"
    operations.review_declaration(
        _year(ctx), department, accepted, values.get("comment") or "", ctx.user, ctx.now
    )


# ---------------------------------------------------------------- forming the system


def _draft_setup(form: TaskForm, ctx: TaskContext) -> None:
    experts = db.session.scalars(
        select(User)
        .where(User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.EXPERT)))
        .order_by(User.username)
    ).all()
    form.experts.choices = [Choice(u.username, u.display_name) for u in experts]


def _draft_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    problems = queries.system_problems(_year(ctx))
    dated = queries.future_date_problems(form.solicitation_deadline.data, ctx.now)
    if dated:
        problems["solicitation_deadline"] = dated
    unknown = set(form.experts.data or []) - {c.value for c in form.experts.choices}
    if unknown:
        problems["experts"] = [str(_l("Choose experts from the list."))]
    return problems


def _send_for_review(ctx: TaskContext, values: TaskValues) -> dict[str, Any]:
    """Routing data only: which experts comment (the process gives each a task) and until when."""
    deadline = local_end(date.fromisoformat(values["solicitation_deadline"]))
    return {"experts": list(values["experts"]), "solicitation_deadline": deadline.isoformat()}


def _comment_prefill(ctx: TaskContext) -> dict[str, Any]:
    return {"rows": queries.comment_rows(_year(ctx))}


def _comment(ctx: TaskContext, values: TaskValues) -> None:
    operations.comment_on_system(
        _year(ctx),
        values.get("general") or "",
        values["rows"],
        ctx.user,
        ctx.task.role,
        ctx.now,
        ctx.task.task_guid,
    )


def _handle_prefill(ctx: TaskContext) -> dict[str, Any]:
    return {"rows": queries.handling_rows(_year(ctx))}


def _handle_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    problems = queries.system_problems(_year(ctx))
    comments = {str(c.id): c for c in queries.year_comments(_year(ctx).id)}
    rows = [{"comment_id": row["comment_id"]} for row in form.rows.data]
    if set(comments) != {r["comment_id"] for r in rows} or len(rows) != len(comments):
        problems.setdefault("", []).extend(queries.handling_problems(comments, rows)[""])
    return problems


def _handle(ctx: TaskContext, values: TaskValues) -> None:
    operations.handle_comments(_year(ctx), values["rows"], ctx.user, ctx.now)


def _approve_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    return queries.system_problems(_year(ctx)) if form.decision.data == "approve" else {}


def _approve_system(ctx: TaskContext, values: TaskValues) -> None:
    if values["decision"] == "approve":
        operations.approve_system(_year(ctx), "", ctx.user, ctx.now)


def _revision_reason(instance: ProcessInstance) -> str:
    """The reason the office gave when it edited the revision (the `revise` task's submitted values)."""
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


def _approve_revision(ctx: TaskContext, values: TaskValues) -> None:
    if values["decision"] == "approve":
        operations.approve_system(_year(ctx), _revision_reason(ctx.instance), ctx.user, ctx.now)


# ---------------------------------------------------------------- the forms of both phases

_SYSTEM_PAGE: dict[str, Any] = {"context": _summary, "template": "tasks/context/system.html"}

FORMS = [
    FormDefinition(
        "declaration.standard",
        StandardForm,
        handler=_publish_standard,
        provides=("declaration_deadline",),
        prefill=_standard_prefill,
        check=_standard_check,
    ),
    FormDefinition(
        "declaration.declare",
        DeclarationForm,
        handler=_declare,
        prefill=_declare_prefill,
        setup=_declare_setup,
        context=_declare_context,
        template="tasks/context/declaration_files.html",
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
        provides=("experts", "solicitation_deadline"),
        setup=_draft_setup,
        check=_draft_check,
        **_SYSTEM_PAGE,
    ),
    FormDefinition("formation.comment", CommentForm, handler=_comment, prefill=_comment_prefill),
    FormDefinition(
        "formation.handle",
        HandleForm,
        handler=_handle,
        prefill=_handle_prefill,
        check=_handle_check,
        **_SYSTEM_PAGE,
    ),
    FormDefinition(
        "formation.approve",
        ApprovalForm,
        routing=("decision",),
        handler=_approve_system,
        check=_approve_check,
        **_SYSTEM_PAGE,
    ),
    FormDefinition("revision.edit", RevisionForm, check=_system_check, **_SYSTEM_PAGE),
    FormDefinition(
        "revision.approve",
        ApprovalForm,
        routing=("decision",),
        handler=_approve_revision,
        check=_approve_check,
        **_SYSTEM_PAGE,
    ),
]
