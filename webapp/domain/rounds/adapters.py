"""The rounds' user tasks: each form key's prefill, choices, checks and page context, and its handler,
a thin adapter from the task's values to one of the verbs in `operations` (registered at start-up
by `webapp.domain.register`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.db import load, once_per_transaction
from models.evaluation import EvaluationRound, RoundKind
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit
from models.scheme import Indicator, KeyPoint, SchemeYear
from models.workflow import TaskStatus
from webapp.domain.results import queries as results
from webapp.domain.rounds import evidence as evidence_service
from webapp.domain.rounds import operations, queries, review
from webapp.domain.system import queries as system_queries
from workflows.forms import Choice, FormDefinition, TaskContext, TaskForm
from workflows.forms.evaluation import (
    AdviceForm,
    AggregateForm,
    OpenRoundForm,
    ReviewForm,
    ScoreForm,
    SelfReportForm,
    VerifyForm,
)
from workflows.forms.generic import AcknowledgeForm, ApprovalForm

TaskValues = dict[str, Any]  # a task's cleaned form values


def _year(ctx: TaskContext) -> SchemeYear:
    """The year the task's process runs (every phase's process has one)."""
    return ctx.remember("year", lambda: load(SchemeYear, ctx.instance.scheme_year_id))


def _year_id(ctx: TaskContext) -> int:
    """The id of the task's year, without reading the year itself (a score sheet needs only that)."""
    year_id = ctx.instance.scheme_year_id
    if year_id is None:
        raise LookupError(f"instance {ctx.instance.id} runs for no year")
    return year_id


def _kind(ctx: TaskContext) -> RoundKind:
    return RoundKind(ctx.task.scope)


def _round(ctx: TaskContext) -> EvaluationRound:
    return ctx.remember("round", lambda: EvaluationRound.find(_year_id(ctx), _kind(ctx)))


def _org(ctx: TaskContext) -> OrgUnit:
    """The city or department the task is for."""
    return ctx.remember("org", lambda: load(OrgUnit, ctx.task.org_id))


def _indicators(ctx: TaskContext) -> list[Indicator]:
    """The year's indicators (with key points and owners), read once per request."""
    return ctx.remember("indicators", lambda: _year(ctx).indicators())


def _owned(ctx: TaskContext) -> dict[str, Indicator]:
    """The indicators the task's department owns, read once per request."""
    return ctx.remember("owned", lambda: queries.owned_indicators(_year_id(ctx), _org(ctx)))


def _cities(ctx: TaskContext) -> dict[str, OrgUnit]:
    return ctx.remember("cities", queries.cities_by_name)


def _rows(form: TaskForm) -> list[dict[str, Any]]:
    return list(form.rows.data)


# ---------------------------------------------------------------- opening a round


def _open_prefill(ctx: TaskContext) -> dict[str, Any]:
    return queries.open_round_defaults(_year(ctx).id, _kind(ctx), ctx.now)


def _open_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    return queries.deadline_problems(form.report_deadline.data, form.score_deadline.data, ctx.now)


def _open(ctx: TaskContext, values: TaskValues) -> dict[str, Any]:
    round_ = operations.open_round(
        _year(ctx),
        _kind(ctx),
        date.fromisoformat(values["report_deadline"]),
        date.fromisoformat(values["score_deadline"]),
        ctx.user,
        ctx.now,
    )
    return {
        "report_deadline": round_.report_deadline.isoformat(),
        "score_deadline": round_.score_deadline.isoformat(),
    }


# ---------------------------------------------------------------- self-report, scores, verification


def _report_prefill(ctx: TaskContext) -> dict[str, Any]:
    return {"rows": queries.self_report_rows(_round(ctx), _org(ctx), _indicators(ctx))}


def _report_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    indicators = ctx.remember("indicator_ids", lambda: queries.indicator_ids(_year_id(ctx)))
    return queries.report_problems(indicators, _rows(form))


def _report(ctx: TaskContext, values: TaskValues) -> None:
    operations.submit_self_report(_round(ctx), _org(ctx), values["rows"], ctx.user, ctx.now)


def _score_prefill(ctx: TaskContext) -> dict[str, Any]:
    return {"rows": queries.score_rows(_round(ctx), list(_owned(ctx).values()), list(_cities(ctx).values()))}


def _score_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    return queries.score_problems(_owned(ctx), _cities(ctx), _rows(form))


def _score(ctx: TaskContext, values: TaskValues) -> None:
    operations.submit_scores(_round(ctx), _org(ctx), values["rows"], ctx.user, ctx.now)


def _verify_prefill(ctx: TaskContext) -> dict[str, Any]:
    owned, cities = list(_owned(ctx).values()), list(_cities(ctx).values())
    return {"rows": queries.verification_rows(_year_id(ctx), owned, cities)}


def _verify(ctx: TaskContext, values: TaskValues) -> None:
    operations.record_verification(_year(ctx), _org(ctx), values["rows"], ctx.user, ctx.now)


def _evidence_context(ctx: TaskContext) -> dict[str, Any]:
    """The task's files with an upload form (self-report, verification), or the round's files for scoring."""
    round_ = _round(ctx)
    if ctx.task.form_key == "round.score":
        owned = list(_owned(ctx).values())
        files = [
            e for group in evidence_service.for_rows(round_.id, [i.id for i in owned]).values() for e in group
        ]
        return {"can_upload": False, "files": files, "indicators": [], "cities": []}
    verification = ctx.task.form_key == "year_end.verify"
    return {
        "can_upload": ctx.task.status == TaskStatus.OPEN and ctx.task.is_for(ctx.user),
        "files": evidence_service.for_task(ctx.task),
        "indicators": list(_owned(ctx).values()) if verification else _indicators(ctx),
        "cities": results.cities() if verification else [],
    }


# ---------------------------------------------------------------- review, approval, feedback


def _matrix(ctx: TaskContext) -> review.Matrix:
    """The round's scores × cities with their flags, built once per transaction (the page's prefill and
    context both ask, each with its own task context)."""
    round_ = _round(ctx)
    return once_per_transaction(("review_matrix", round_.id), lambda: review.matrix(round_, _year(ctx)))


def review_context(ctx: TaskContext) -> dict[str, Any]:
    """Completeness, every score beside its self-report with the flags, and the ranking as it would be published."""
    return {
        **queries.review(_round(ctx)),
        "matrix": _matrix(ctx),
        "ranking": review.ranking(_round(ctx)),
        "outlier_rule": review.outlier_rule(),
        "large_deduction_rule": review.large_deduction_rule(),
        "flag_titles": review.flag_titles(),  # translated once, not per flagged cell
    }


def _review_prefill(ctx: TaskContext) -> dict[str, Any]:
    """No decision (the office chooses); the parties the flags point to are preselected for a return."""
    found = _matrix(ctx)
    return {
        "returned_cities": found.to_return(OrgKind.CITY),
        "returned_departments": found.to_return(OrgKind.DEPARTMENT),
    }


def approval_context(ctx: TaskContext) -> dict[str, Any]:
    return review.approval(_round(ctx))


def _review_setup(form: TaskForm, ctx: TaskContext) -> None:
    form.returned_cities.choices = [Choice(c.code, c.short_name) for c in results.cities()]
    form.returned_departments.choices = [Choice(d.code, d.short_name) for d in system_queries.departments()]


def _review(ctx: TaskContext, values: TaskValues) -> dict[str, Any]:
    if values["decision"] != "return":
        return {"returned_cities": [], "returned_departments": []}
    # the returned parties are told when their correction task arrives (notifications.notify_arrivals)
    return operations.return_for_correction(
        _round(ctx),
        list(values.get("returned_cities") or []),
        list(values.get("returned_departments") or []),
        values.get("comment") or "",
        ctx.user,
    )


def _complete_scores_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    if form.decision.data != "approve":
        return {}
    missing = queries.missing_score_count(_round(ctx))
    return {"": [str(_l("%(n)d scores are still missing.", n=missing))]} if missing else {}


def _approve_round(ctx: TaskContext, values: TaskValues) -> None:
    if values["decision"] == "approve":
        operations.approve_round(_round(ctx), ctx.user, ctx.now)


def _feedback_prefill(ctx: TaskContext) -> dict[str, Any]:
    return {"rows": queries.advice_rows(_round(ctx).results)}


def _advice_check(form: TaskForm, ctx: TaskContext) -> dict[str, list[str]]:
    return queries.advice_problems(_cities(ctx), _rows(form))


def _publish_round(ctx: TaskContext, values: TaskValues) -> None:
    operations.publish_round(_round(ctx), values["rows"], ctx.user, ctx.now)


# ---------------------------------------------------------------- year-end aggregation and the year's feedback


def _aggregate_setup(form: TaskForm, ctx: TaskContext) -> None:
    points: list[KeyPoint] = system_queries.key_points(_year(ctx))
    form.award_key_points.choices = [Choice(str(p.number), f"{p.number}. {p.name}") for p in points]


def _aggregate_prefill(ctx: TaskContext) -> dict[str, Any]:
    annual = results.annual_result(_year(ctx).id)
    if annual is None:
        return {"award_top_n": 3}
    return {
        "award_key_points": [str(k) for k in annual.award_key_points],
        "award_top_n": annual.award_top_n,
        "proposal": annual.proposal,
    }


def _aggregate(ctx: TaskContext, values: TaskValues) -> None:
    operations.propose_awards(
        _year(ctx),
        [int(k) for k in values["award_key_points"]],
        int(values["award_top_n"]),
        values["proposal"],
        ctx.user,
    )


def annual_context(ctx: TaskContext) -> dict[str, Any]:
    annual = results.annual_result(_year(ctx).id)
    preview = results.compute_annual(
        _year(ctx), annual.award_key_points if annual else [], annual.award_top_n if annual else 3
    )
    year_end = EvaluationRound.find(_year(ctx).id, RoundKind.YEAR_END)
    return {
        "annual": preview,
        "proposal": annual.proposal if annual else "",
        "awards": review.awards_by_name(_year(ctx).id, preview["awards"]),
        **(review.approval(year_end) if year_end is not None else {}),
    }


def _approve_year(ctx: TaskContext, values: TaskValues) -> None:
    if values["decision"] == "approve":
        operations.approve_year(_year(ctx), ctx.user, ctx.now)


def _annual_advice_prefill(ctx: TaskContext) -> dict[str, Any]:
    annual = results.annual_result(_year(ctx).id)
    return {"rows": queries.advice_rows(annual.results if annual else None)}


def _annual_advice(ctx: TaskContext, values: TaskValues) -> None:
    operations.write_year_advice(_year(ctx), values["rows"], ctx.user, ctx.now)


def _acknowledge(ctx: TaskContext, values: TaskValues) -> None:
    operations.acknowledge_feedback(_year(ctx), _org(ctx), ctx.user, ctx.now)


FORMS = [
    FormDefinition(
        "round.open",
        OpenRoundForm,
        handler=_open,
        provides=("report_deadline", "score_deadline"),
        prefill=_open_prefill,
        check=_open_check,
    ),
    FormDefinition(
        "round.self_report",
        SelfReportForm,
        handler=_report,
        prefill=_report_prefill,
        check=_report_check,
        context=_evidence_context,
        template="tasks/context/evidence.html",
    ),
    FormDefinition(
        "round.score",
        ScoreForm,
        handler=_score,
        prefill=_score_prefill,
        check=_score_check,
        context=_evidence_context,
        template="tasks/context/evidence.html",
    ),
    FormDefinition(
        "year_end.verify",
        VerifyForm,
        handler=_verify,
        prefill=_verify_prefill,
        context=_evidence_context,
        template="tasks/context/evidence.html",
    ),
    FormDefinition(
        "round.review",
        ReviewForm,
        routing=("decision",),
        handler=_review,
        provides=("returned_cities", "returned_departments"),
        prefill=_review_prefill,
        setup=_review_setup,
        check=_complete_scores_check,
        context=review_context,
        template="tasks/context/review.html",
    ),
    FormDefinition(
        "round.approve",
        ApprovalForm,
        routing=("decision",),
        handler=_approve_round,
        check=_complete_scores_check,
        context=approval_context,
        template="tasks/context/approval.html",
    ),
    FormDefinition(
        "round.feedback", AdviceForm, handler=_publish_round, prefill=_feedback_prefill, check=_advice_check
    ),
    FormDefinition(
        "year_end.aggregate",
        AggregateForm,
        handler=_aggregate,
        prefill=_aggregate_prefill,
        setup=_aggregate_setup,
        context=annual_context,
        template="tasks/context/annual.html",
    ),
    FormDefinition(
        "year_end.approve",
        ApprovalForm,
        routing=("decision",),
        handler=_approve_year,
        context=annual_context,
        template="tasks/context/annual.html",
    ),
    FormDefinition(
        "feedback.advice",
        AdviceForm,
        handler=_annual_advice,
        prefill=_annual_advice_prefill,
        check=_advice_check,
    ),
    FormDefinition("feedback.acknowledge", AcknowledgeForm, handler=_acknowledge),
]
