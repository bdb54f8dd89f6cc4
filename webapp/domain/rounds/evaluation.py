"""The rounds (half-year, third quarter, year-end) and the year's feedback: the handlers behind their forms."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from wtforms import Form, SelectChoice

from models.db import db
from models.evaluation import (
    AnnualResult,
    CityFeedback,
    EvaluationRound,
    RoundKind,
    RoundStatus,
    Score,
    SelfReportItem,
    Submission,
    SubmissionStatus,
    Verification,
    VerificationResult,
)
from models.formation import Declaration, DeclarationStatus, DeclaredIndicator, Phase, YearPhase
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, Role
from models.rules import scoring
from models.scheme import Indicator, KeyPoint, SchemeYear
from models.workflow import TaskStatus
from webapp.domain.process import notifications
from webapp.domain.process.cycle import LOCAL, local_end
from webapp.domain.results import queries as results
from webapp.domain.rounds import evidence as evidence_service
from webapp.domain.system import queries as indicator_service
from workflows import forms
from workflows.forms import FormDefinition, TaskContext
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

PHASE_OF_ROUND = {
    RoundKind.HALF_YEAR: Phase.HALF_YEAR,
    RoundKind.Q3: Phase.Q3,
    RoundKind.YEAR_END: Phase.YEAR_END,
}
LARGE_DEDUCTION = Decimal("0.5")  # the review flags scores below half the weight


def _year(ctx: TaskContext) -> SchemeYear:
    return ctx.remember("year", lambda: db.session.get(SchemeYear, ctx.instance.scheme_year_id))


def _kind(ctx: TaskContext) -> RoundKind:
    return RoundKind(ctx.task.scope)


def _round(ctx: TaskContext) -> EvaluationRound:
    return ctx.remember("round", lambda: EvaluationRound.find(ctx.instance.scheme_year_id, _kind(ctx)))


def _indicators(ctx: TaskContext) -> list[Indicator]:
    """The year's indicators (with key points and owners), read once per request."""
    return ctx.remember("indicators", lambda: _year(ctx).indicators())


def _indicator_ids(ctx: TaskContext) -> dict[str, int]:
    """Code → id of the year's indicators (what a grid's rows name), read once per request."""
    return ctx.remember(
        "indicator_ids",
        lambda: dict(
            db.session.execute(
                select(Indicator.code, Indicator.id).where(
                    Indicator.scheme_year_id == ctx.instance.scheme_year_id
                )
            )
            .tuples()
            .all()
        ),
    )


def _cities(ctx: TaskContext | None = None) -> list[OrgUnit]:
    return ctx.remember("cities", results.cities) if ctx is not None else results.cities()


def _departments() -> list[OrgUnit]:
    return list(
        db.session.scalars(
            select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT).order_by(OrgUnit.sort_order)
        )
    )


def _label(indicator: Indicator) -> str:
    return f"{indicator.name}（{indicator_service.points_text(indicator.weight)}）"


def _record_submission(
    round_: EvaluationRound, org_id: int, kind: str, ctx: TaskContext, late: bool
) -> Submission:
    row = db.session.scalar(
        select(Submission).where(
            Submission.round_id == round_.id, Submission.org_id == org_id, Submission.kind == kind
        )
    ) or Submission(round_id=round_.id, org_id=org_id, kind=kind, submissions=0)
    row.status, row.submissions = SubmissionStatus.SUBMITTED, (row.submissions or 0) + 1
    row.submitted_at, row.submitted_by_id, row.late = ctx.now, ctx.user.id, late
    db.session.add(row)
    return row


# ---------------------------------------------------------------- opening a round


def _open_prefill(ctx: TaskContext) -> dict[str, Any]:
    phase = db.session.scalar(
        select(YearPhase).where(
            YearPhase.scheme_year_id == ctx.instance.scheme_year_id,
            YearPhase.phase == PHASE_OF_ROUND[_kind(ctx)],
        )
    )
    today = ctx.now.astimezone(LOCAL).date()
    deadline = phase.deadline.astimezone(LOCAL).date() if phase else today + timedelta(days=30)
    report = max(today + timedelta(days=7), deadline - timedelta(days=14))
    return {"report_deadline": report, "score_deadline": max(report, deadline - timedelta(days=3))}


def _open_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    today = ctx.now.astimezone(LOCAL).date()
    errors = {}
    for field in (form.report_deadline, form.score_deadline):
        if field.data is not None and field.data < today:
            errors[field.name] = [str(_l("The date must be in the future."))]
    return errors


def _open(ctx: TaskContext, values: dict[str, Any]) -> dict[str, Any]:
    report = local_end(date.fromisoformat(values["report_deadline"]))
    score = local_end(date.fromisoformat(values["score_deadline"]))
    round_ = EvaluationRound.find(ctx.instance.scheme_year_id, _kind(ctx)) or EvaluationRound(
        scheme_year_id=ctx.instance.scheme_year_id, kind=_kind(ctx)
    )
    round_.report_deadline, round_.score_deadline, round_.opened_at = report, score, ctx.now
    round_.status = RoundStatus.OPEN
    db.session.add(round_)
    notifications.notify(
        notifications.users_of(role=Role.CITY) + notifications.users_of(role=Role.DEPARTMENT),
        "round_open",
        notifications.ROUND_OPEN,
        "/inbox/",
        ctx.now,
        params={"round": round_.kind.value, "due": report.isoformat()},
    )
    return {"report_deadline": report.isoformat(), "score_deadline": score.isoformat()}


# ---------------------------------------------------------------- self-report


def _declared_targets(scheme_year_id: int) -> dict[tuple[int, str], str]:
    """The targets departments declared for their indicators: (department, indicator name) → target."""
    rows = db.session.execute(
        select(Declaration.department_id, DeclaredIndicator.name, DeclaredIndicator.target)
        .join(DeclaredIndicator, DeclaredIndicator.declaration_id == Declaration.id)
        .where(Declaration.scheme_year_id == scheme_year_id, Declaration.status == DeclarationStatus.ACCEPTED)
    ).all()
    return {(dept, name): target for dept, name, target in rows if target}


def _report_prefill(ctx: TaskContext) -> dict[str, Any]:
    round_ = _round(ctx)
    items = {
        i.indicator_id: i
        for i in db.session.scalars(
            select(SelfReportItem).where(
                SelfReportItem.round_id == round_.id, SelfReportItem.city_id == ctx.task.org_id
            )
        )
    }
    targets = _declared_targets(ctx.instance.scheme_year_id)
    rows = []
    for ind in _indicators(ctx):
        item = items.get(ind.id)
        label = f"{ind.key_point.number}. {ind.key_point.name} › {_label(ind)}"
        target = targets.get((ind.owner_id, ind.name))
        if target:
            label = str(_l("%(indicator)s; target: %(target)s", indicator=label, target=target))
        rows.append(
            {
                "code": ind.code,
                "indicator": label,
                "completion": item.completion if item else "",
                "narrative": item.narrative if item else "",
            }
        )
    return {"rows": rows}


def _report_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    codes = set(_indicator_ids(ctx))
    if {e.form.code.data for e in form.rows.entries} != codes:
        return {"": [str(_l("The list of indicators changed; reload the page."))]}
    return {}


def _write(model, new: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    """Insert and update rows of a grid in bulk: one statement each, however many rows."""
    if new:
        db.session.execute(insert(model), new)
    if changed:
        db.session.execute(update(model), changed)


def _report(ctx: TaskContext, values: dict[str, Any]) -> None:
    round_ = _round(ctx)
    indicators = _indicator_ids(ctx)
    existing = {
        indicator_id: (item_id, completion, narrative)
        for item_id, indicator_id, completion, narrative in db.session.execute(
            select(
                SelfReportItem.id,
                SelfReportItem.indicator_id,
                SelfReportItem.completion,
                SelfReportItem.narrative,
            ).where(SelfReportItem.round_id == round_.id, SelfReportItem.city_id == ctx.task.org_id)
        )
    }
    new, changed = [], []
    for row in values["rows"]:
        indicator_id = indicators[row["code"]]
        item = {
            "completion": row["completion"].strip(),
            "narrative": row.get("narrative") or "",
            "updated_at": ctx.now,
        }
        if indicator_id not in existing:
            new.append(
                {"round_id": round_.id, "city_id": ctx.task.org_id, "indicator_id": indicator_id, **item}
            )
        elif existing[indicator_id][1:] != (item["completion"], item["narrative"]):
            changed.append({"id": existing[indicator_id][0], **item})
    _write(SelfReportItem, new, changed)
    _record_submission(round_, ctx.task.org_id, "self_report", ctx, late=ctx.now > round_.report_deadline)
    db.session.flush()


# ---------------------------------------------------------------- scoring and verification


def _owned(ctx: TaskContext) -> list[Indicator]:
    """The indicators the task's department owns, read once per request."""
    return ctx.remember(
        "owned",
        lambda: list(
            db.session.scalars(
                select(Indicator)
                .where(
                    Indicator.scheme_year_id == ctx.instance.scheme_year_id,
                    Indicator.owner_id == ctx.task.org_id,
                )
                .order_by(Indicator.seq)
            )
        ),
    )


def _score_prefill(ctx: TaskContext) -> dict[str, Any]:
    round_ = _round(ctx)
    owned = _owned(ctx)
    ids = [i.id for i in owned]
    scores = {
        (s.indicator_id, s.city_id): s
        for s in db.session.scalars(
            select(Score).where(Score.round_id == round_.id, Score.indicator_id.in_(ids))
        )
    }
    reported = {
        (r.indicator_id, r.city_id): r
        for r in db.session.scalars(
            select(SelfReportItem).where(
                SelfReportItem.round_id == round_.id, SelfReportItem.indicator_id.in_(ids)
            )
        )
    }
    fraud = results.fraud_pairs(round_.scheme_year_id)
    rows = []
    for ind in owned:
        for city in _cities(ctx):
            s, r = scores.get((ind.id, city.id)), reported.get((ind.id, city.id))
            shown = r.completion if r else str(_l("not reported"))
            if (ind.id, city.id) in fraud:
                shown = str(_l("%(reported)s · fraud found: scores 0 for the year", reported=shown))
            rows.append(
                {
                    "code": ind.code,
                    "city": city.short_name,
                    "reported": shown,
                    "score": str(s.score) if s else "",
                    "reason": s.reason if s else "",
                }
            )
    return {"rows": rows}


def _row_keys(ctx: TaskContext) -> tuple[dict[str, Indicator], dict[str, OrgUnit]]:
    return {i.code: i for i in _owned(ctx)}, {c.short_name: c for c in _cities(ctx)}


def _score_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    indicators, cities = _row_keys(ctx)
    errors: dict[str, list[str]] = {}
    expected = {(code, city) for code in indicators for city in cities}
    if {(e.form.code.data, e.form.city.data) for e in form.rows.entries} != expected:
        return {"": [str(_l("The list of scores changed; reload the page."))]}
    for entry in form.rows.entries:
        row = entry.form
        ind = indicators[row.code.data]

        def subject(ind=ind, row=row) -> str:  # translated only for a row that needs a message
            return str(_l("Indicator %(code)s, %(city)s", code=ind.code, city=row.city.data))

        try:
            value = scoring.as_score(row.score.data)
            scoring.check_score(value, ind.weight)
        except (scoring.InvalidScore, scoring.ScoreOutOfRange) as exc:
            errors.setdefault(row.score.name, []).append(f"{subject()}: {exc}")
            row.score.errors = [*row.score.errors, f"{subject()}: {exc}"]
            continue
        if value < ind.weight and not (row.reason.data or "").strip():
            message = str(_l("%(subject)s: give the reason for scoring below full marks.", subject=subject()))
            errors.setdefault(row.reason.name, []).append(message)
            row.reason.errors = [*row.reason.errors, message]
    return errors


def _score(ctx: TaskContext, values: dict[str, Any]) -> None:
    round_ = _round(ctx)
    indicators, cities = _row_keys(ctx)
    existing = {
        (indicator_id, city_id): (score_id, score, changes)
        for score_id, indicator_id, city_id, score, changes in db.session.execute(
            select(Score.id, Score.indicator_id, Score.city_id, Score.score, Score.changes).where(
                Score.round_id == round_.id, Score.indicator_id.in_([i.id for i in indicators.values()])
            )
        )
    }
    new, changed = [], []
    for row in values["rows"]:
        ind, city = indicators[row["code"]], cities[row["city"]]
        value = scoring.as_score(row["score"])
        item = {
            "score": value,
            "reason": (row.get("reason") or "").strip(),
            "scored_by_id": ctx.user.id,
            "scored_at": ctx.now,
        }
        current = existing.get((ind.id, city.id))
        if current is None:
            new.append(
                {
                    "round_id": round_.id,
                    "indicator_id": ind.id,
                    "city_id": city.id,
                    "first_score": value,
                    "changes": 0,
                    **item,
                }
            )
        else:
            score_id, before, changes = current
            changed.append({"id": score_id, "changes": (changes or 0) + int(before != value), **item})
    _write(Score, new, changed)
    _record_submission(round_, ctx.task.org_id, "scores", ctx, late=ctx.now > round_.score_deadline)
    db.session.flush()


def _verify_prefill(ctx: TaskContext) -> dict[str, Any]:
    year_id = ctx.instance.scheme_year_id
    found = {
        (v.indicator_id, v.city_id): v
        for v in db.session.scalars(
            select(Verification).where(
                Verification.scheme_year_id == year_id,
                Verification.indicator_id.in_([i.id for i in _owned(ctx)]),
            )
        )
    }
    rows = []
    for ind in _owned(ctx):
        for city in _cities(ctx):
            v = found.get((ind.id, city.id))
            rows.append(
                {
                    "code": ind.code,
                    "city": city.short_name,
                    "result": v.result.value if v else VerificationResult.VERIFIED.value,
                    "note": v.note if v else "",
                }
            )
    return {"rows": rows}


def _verify(ctx: TaskContext, values: dict[str, Any]) -> None:
    indicators, cities = _row_keys(ctx)
    year_id = ctx.instance.scheme_year_id
    found = {
        (indicator_id, city_id): verification_id
        for verification_id, indicator_id, city_id in db.session.execute(
            select(Verification.id, Verification.indicator_id, Verification.city_id).where(
                Verification.scheme_year_id == year_id,
                Verification.indicator_id.in_([i.id for i in indicators.values()]),
            )
        )
    }
    new, changed = [], []
    for row in values["rows"]:
        ind, city = indicators[row["code"]], cities[row["city"]]
        item = {
            "result": VerificationResult(row["result"]),
            "note": (row.get("note") or "").strip(),
            "verified_by_id": ctx.user.id,
            "verified_at": ctx.now,
        }
        if (ind.id, city.id) in found:
            changed.append({"id": found[ind.id, city.id], **item})
        else:
            new.append({"scheme_year_id": year_id, "indicator_id": ind.id, "city_id": city.id, **item})
    _write(Verification, new, changed)
    db.session.flush()


# ---------------------------------------------------------------- review, approval, feedback


def review_context(ctx: TaskContext) -> dict[str, Any]:
    """Completeness and anomalies: missing reports and scores, large deductions, scores changed after submission."""
    round_ = _round(ctx)
    year = _year(ctx)
    indicators = year.indicators()
    cities = _cities()
    submissions = {
        (s.org_id, s.kind): s
        for s in db.session.scalars(select(Submission).where(Submission.round_id == round_.id))
    }
    scores = list(db.session.scalars(select(Score).where(Score.round_id == round_.id)))
    have = {(s.indicator_id, s.city_id) for s in scores}
    missing_scores = [(i, c) for i in indicators for c in cities if (i.id, c.id) not in have]
    by_id = {i.id: i for i in indicators}
    city_by_id = {c.id: c for c in cities}
    large = [s for s in scores if s.score < by_id[s.indicator_id].weight * LARGE_DEDUCTION]
    changed = [s for s in scores if (s.changes or 0) > 0]
    return {
        "round": round_,
        "missing_reports": [c for c in cities if (c.id, "self_report") not in submissions],
        "late": [s for s in submissions.values() if s.late],
        "returned": [s for s in submissions.values() if s.status == SubmissionStatus.RETURNED],
        "missing_scores": missing_scores[:50],
        "missing_score_count": len(missing_scores),
        "large_deductions": [(by_id[s.indicator_id], city_by_id[s.city_id], s) for s in large][:50],
        "changed_scores": [(by_id[s.indicator_id], city_by_id[s.city_id], s) for s in changed][:50],
    }


def _review_setup(form: Form, ctx: TaskContext) -> None:
    form.returned_cities.choices = [SelectChoice(c.code, c.short_name) for c in _cities()]
    form.returned_departments.choices = [SelectChoice(d.code, d.short_name) for d in _departments()]


def _review(ctx: TaskContext, values: dict[str, Any]) -> dict[str, Any]:
    if values["decision"] != "return":
        return {"returned_cities": [], "returned_departments": []}
    round_ = _round(ctx)
    returned = {
        "returned_cities": list(values.get("returned_cities") or []),
        "returned_departments": list(values.get("returned_departments") or []),
    }
    codes = returned["returned_cities"] + returned["returned_departments"]
    for org in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes))):
        kind = "self_report" if org.kind == OrgKind.CITY else "scores"
        row = db.session.scalar(
            select(Submission).where(
                Submission.round_id == round_.id, Submission.org_id == org.id, Submission.kind == kind
            )
        )
        if row is not None:
            row.status, row.return_comment = SubmissionStatus.RETURNED, values.get("comment") or ""
    # The returned parties are told when their correction task arrives (notifications.notify_arrivals).
    db.session.flush()
    return returned


def missing_score_count(round_: EvaluationRound) -> int:
    """How many (indicator, city) pairs of the round have no score yet (two COUNTs, no rows read)."""
    expected = db.session.scalar(
        select(func.count()).select_from(Indicator).where(Indicator.scheme_year_id == round_.scheme_year_id)
    ) * len(results.cities())
    have = db.session.scalar(select(func.count()).select_from(Score).where(Score.round_id == round_.id))
    return max(0, expected - have)


def _complete_scores_check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    if form.decision.data != "approve":
        return {}
    missing = missing_score_count(_round(ctx))
    return {"": [str(_l("%(n)d scores are still missing.", n=missing))]} if missing else {}


def _approve_round(ctx: TaskContext, values: dict[str, Any]) -> None:
    if values["decision"] == "approve":
        round_ = _round(ctx)
        round_.results = results.compute_round(round_)
        round_.status, round_.approved_at = RoundStatus.APPROVED, ctx.now
        db.session.flush()


def _summary(entry: dict[str, Any]) -> str:
    return str(
        _l(
            "Total %(total)s, rank %(rank)d",
            total=scoring.display(Decimal(entry["total"])),
            rank=entry["rank"],
        )
    )


def _feedback_prefill(ctx: TaskContext) -> dict[str, Any]:
    round_ = _round(ctx)
    entries = {e["city"]: e for e in (round_.results or {}).get("cities", [])}
    return {
        "rows": [
            {
                "city": c.short_name,
                "summary": _summary(entries[c.code]) if c.code in entries else "",
                "advice": "",
            }
            for c in _cities()
        ]
    }


def _save_advice(ctx: TaskContext, kind: str, rows: list[dict[str, Any]]) -> None:
    cities = {c.short_name: c for c in _cities(ctx)}
    existing = dict(
        db.session.execute(
            select(CityFeedback.city_id, CityFeedback.id).where(
                CityFeedback.scheme_year_id == ctx.instance.scheme_year_id, CityFeedback.round_kind == kind
            )
        )
        .tuples()
        .all()
    )
    new, changed = [], []
    for row in rows:
        city = cities[row["city"]]
        item = {"advice": (row.get("advice") or "").strip(), "written_at": ctx.now}
        if city.id in existing:
            changed.append({"id": existing[city.id], **item})
        else:
            new.append(
                {
                    "scheme_year_id": ctx.instance.scheme_year_id,
                    "round_kind": kind,
                    "city_id": city.id,
                    **item,
                }
            )
    _write(CityFeedback, new, changed)


def _publish_round(ctx: TaskContext, values: dict[str, Any]) -> None:
    round_ = _round(ctx)
    _save_advice(ctx, round_.kind.value, values["rows"])
    round_.status, round_.published_at = RoundStatus.PUBLISHED, ctx.now
    if round_.kind == RoundKind.YEAR_END:
        annual = results.annual_result(round_.scheme_year_id)
        if annual is not None:
            annual.published_at = ctx.now
    notifications.notify_results_published(round_.scheme_year_id, round_.kind, ctx.now)
    db.session.flush()


# ---------------------------------------------------------------- year-end aggregation and the year's feedback


def _aggregate_setup(form: Form, ctx: TaskContext) -> None:
    points = db.session.scalars(
        select(KeyPoint)
        .where(KeyPoint.scheme_year_id == ctx.instance.scheme_year_id)
        .order_by(KeyPoint.number)
    )
    form.award_key_points.choices = [SelectChoice(str(p.number), f"{p.number}. {p.name}") for p in points]


def _aggregate_prefill(ctx: TaskContext) -> dict[str, Any]:
    annual = results.annual_result(ctx.instance.scheme_year_id)
    if annual is None:
        return {"award_top_n": 3}
    return {
        "award_key_points": [str(k) for k in annual.award_key_points],
        "award_top_n": annual.award_top_n,
        "proposal": annual.proposal,
    }


def _aggregate(ctx: TaskContext, values: dict[str, Any]) -> None:
    annual = results.annual_result(ctx.instance.scheme_year_id) or AnnualResult(
        scheme_year_id=ctx.instance.scheme_year_id
    )
    annual.award_key_points = sorted(int(k) for k in values["award_key_points"])
    annual.award_top_n, annual.proposal = int(values["award_top_n"]), values["proposal"].strip()
    db.session.add(annual)
    db.session.flush()


def annual_context(ctx: TaskContext) -> dict[str, Any]:
    annual = results.annual_result(ctx.instance.scheme_year_id)
    year = _year(ctx)
    preview = results.compute_annual(
        year, annual.award_key_points if annual else [], annual.award_top_n if annual else 3
    )
    return {"annual": preview, "proposal": annual.proposal if annual else ""}


def _approve_year(ctx: TaskContext, values: dict[str, Any]) -> None:
    if values["decision"] != "approve":
        return
    year = _year(ctx)
    round_ = _round(ctx)
    round_.results = results.compute_round(round_)
    round_.status, round_.approved_at = RoundStatus.APPROVED, ctx.now
    # Fraud found at verification zeroes the indicator for the whole year: the process rounds'
    # results are recomputed with it, so every report shows it.
    for earlier in (RoundKind.HALF_YEAR, RoundKind.Q3):
        process_round = EvaluationRound.find(year.id, earlier)
        if process_round is not None and process_round.results is not None:
            process_round.results = results.compute_round(process_round)
    annual = results.annual_result(year.id)
    annual.results = results.compute_annual(year, annual.award_key_points, annual.award_top_n)
    annual.approved_at = ctx.now
    db.session.flush()


def _annual_advice_prefill(ctx: TaskContext) -> dict[str, Any]:
    annual = results.annual_result(ctx.instance.scheme_year_id)
    entries = {e["city"]: e for e in ((annual.results or {}).get("cities", []) if annual else [])}
    return {
        "rows": [
            {
                "city": c.short_name,
                "summary": _summary(entries[c.code]) if c.code in entries else "",
                "advice": "",
            }
            for c in _cities()
        ]
    }


def _annual_advice(ctx: TaskContext, values: dict[str, Any]) -> None:
    _save_advice(ctx, "annual", values["rows"])
    db.session.flush()


def _acknowledge(ctx: TaskContext, values: dict[str, Any]) -> None:
    item = db.session.scalar(
        select(CityFeedback).where(
            CityFeedback.scheme_year_id == ctx.instance.scheme_year_id,
            CityFeedback.round_kind == "annual",
            CityFeedback.city_id == ctx.task.org_id,
        )
    )
    if item is not None:
        item.acknowledged_at = ctx.now
    db.session.flush()


def _evidence_context(ctx: TaskContext) -> dict[str, Any]:
    """The task's files with an upload form (self-report, verification), or the round's files for scoring."""
    round_ = _round(ctx)
    if ctx.task.form_key == "round.score":
        owned = _owned(ctx)
        files = [
            e for group in evidence_service.for_rows(round_.id, [i.id for i in owned]).values() for e in group
        ]
        return {"can_upload": False, "files": files, "indicators": [], "cities": []}
    verification = ctx.task.form_key == "year_end.verify"
    return {
        "can_upload": ctx.task.status == TaskStatus.OPEN and ctx.task.is_for(ctx.user),
        "files": evidence_service.for_task(ctx.task),
        "indicators": _owned(ctx) if verification else _year(ctx).indicators(),
        "cities": _cities() if verification else [],
    }


FORMS = [
    FormDefinition("round.open", OpenRoundForm, handler=_open, prefill=_open_prefill, check=_open_check),
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
        context=review_context,
        template="tasks/context/review.html",
    ),
    FormDefinition("round.feedback", AdviceForm, handler=_publish_round, prefill=_feedback_prefill),
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
    FormDefinition("feedback.advice", AdviceForm, handler=_annual_advice, prefill=_annual_advice_prefill),
    FormDefinition("feedback.acknowledge", AcknowledgeForm, handler=_acknowledge),
]
for definition in FORMS:
    forms.register(definition)
