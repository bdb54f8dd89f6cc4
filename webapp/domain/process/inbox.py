"""The inbox page: the user's open or completed tasks, filtered, sorted and paged, with their year and phase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from models.db import db
from models.evaluation import EvaluationRound, Submission, SubmissionStatus
from models.formation import Declaration, DeclarationStatus, Phase
from models.i18n import lazy_gettext as _l
from models.org import User
from models.scheme import SchemeYear
from models.workflow import INBOX_SORTS, InboxTask, ProcessInstance, TaskStatus, inbox_query
from webapp.domain.errors import BadRequest

PAGE_SIZE = 50
# The tasks that can give work back: a round's form key → the kind of submission it returns.
SUBMISSION_KINDS = {"round.self_report": "self_report", "round.score": "scores"}
DECLARE = "declaration.declare"
STATUSES = ("open", "completed")


@dataclass(frozen=True)
class InboxFilters:
    status: str = "open"
    year: int | None = None
    phase: str | None = None
    sort: str = "due"
    page: int = 1

    def args(self, **changes: str | int | None) -> dict:
        """Query-string arguments for a link that keeps the other filters."""
        values = {"status": self.status, "year": self.year, "phase": self.phase, "sort": self.sort}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass
class InboxRow:
    task: InboxTask
    year: int | None
    phase: Phase | None
    overdue: bool
    returned: str | None = None  # the reason, when the task gives back work for correction


@dataclass
class InboxPage:
    filters: InboxFilters
    rows: list[InboxRow]
    total: int
    pages: int
    years: list[int] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        return self.filters.page < self.pages


def parse_filters(args: Mapping[str, str]) -> InboxFilters:
    """The filters from a query string; unknown values are refused, naming the field and what it accepts."""
    status = args.get("status") or "open"
    if status not in STATUSES:
        raise BadRequest(str(_l("status must be “open” or “completed”.")))
    year_text = (args.get("year") or "").strip()
    if year_text and not (year_text.isdigit() and len(year_text) == 4):
        raise BadRequest(str(_l("year must be a four-digit year.")))
    phase = args.get("phase") or None
    if phase is not None and phase not in {p.value for p in Phase}:
        raise BadRequest(
            str(_l("phase must be one of: %(values)s.", values=", ".join(p.value for p in Phase)))
        )
    sort = args.get("sort") or ("completed" if status == "completed" else "due")
    if sort not in INBOX_SORTS:
        raise BadRequest(str(_l("sort must be one of: %(values)s.", values=", ".join(INBOX_SORTS))))
    page_text = (args.get("page") or "1").strip()
    if not page_text.isdigit() or len(page_text) > 9 or int(page_text) < 1:
        raise BadRequest(str(_l("page must be a whole number from 1.")))
    return InboxFilters(status, int(year_text) if year_text else None, phase, sort, int(page_text))


def list_inbox(user: User, filters: InboxFilters, now: datetime) -> InboxPage:
    """One page of the user's inbox: two indexed queries (count and page) and one for the rows' years."""
    query = inbox_query(
        user, status=filters.status, year=filters.year, phase=filters.phase, sort=filters.sort
    )
    total = db.session.scalar(query.order_by(None).with_only_columns(func.count(InboxTask.id))) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    tasks = db.session.scalars(
        query.options(
            joinedload(InboxTask.org), joinedload(InboxTask.subject_org), joinedload(InboxTask.claimed_by)
        )
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    ).all()
    year_of = _years_of_instances({t.instance_id for t in tasks})
    reasons = returned_reasons(tasks)
    rows = [
        InboxRow(
            task=t,
            year=year_of.get(t.instance_id),
            phase=Phase(t.phase) if t.phase else None,
            overdue=t.status == TaskStatus.OPEN and t.due_at is not None and t.due_at < now,
            returned=reasons.get(t.id),
        )
        for t in tasks
    ]
    years = list(db.session.scalars(select(SchemeYear.year).distinct().order_by(SchemeYear.year.desc())))
    return InboxPage(filters=filters, rows=rows, total=total, pages=pages, years=years)


def returned_reasons(tasks: Sequence[InboxTask]) -> dict[int, str]:
    """The open tasks that give a city or department its work back for correction (its self-report
    or scores returned by the office's review, its declaration returned), with the reason given;
    at most three queries, whatever the number of tasks."""
    open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN and t.org_id is not None]
    rounds = [t for t in open_tasks if t.form_key in SUBMISSION_KINDS]
    declares = [t for t in open_tasks if t.form_key == DECLARE]
    if not rounds and not declares:
        return {}
    year_of = dict(
        db.session.execute(
            select(ProcessInstance.id, ProcessInstance.scheme_year_id).where(
                ProcessInstance.id.in_({t.instance_id for t in [*rounds, *declares]})
            )
        )
        .tuples()
        .all()
    )
    out: dict[int, str] = {}
    if rounds:
        given_back = {
            (year, str(kind), org, submission_kind): comment or ""
            for year, kind, org, submission_kind, comment in db.session.execute(
                select(
                    EvaluationRound.scheme_year_id,
                    EvaluationRound.kind,
                    Submission.org_id,
                    Submission.kind,
                    Submission.return_comment,
                )
                .join(EvaluationRound, EvaluationRound.id == Submission.round_id)
                .where(
                    Submission.status == SubmissionStatus.RETURNED,
                    Submission.org_id.in_({t.org_id for t in rounds}),
                )
            )
        }
        for t in rounds:
            key = (year_of.get(t.instance_id), t.scope, t.org_id, SUBMISSION_KINDS[t.form_key])
            if key in given_back:
                out[t.id] = given_back[key]
    if declares:
        declared = {
            (year, org): comment or ""
            for year, org, comment in db.session.execute(
                select(
                    Declaration.scheme_year_id, Declaration.department_id, Declaration.review_comment
                ).where(
                    Declaration.status == DeclarationStatus.RETURNED,
                    Declaration.department_id.in_({t.org_id for t in declares}),
                )
            )
        }
        for t in declares:
            if (year_of.get(t.instance_id), t.org_id) in declared:
                out[t.id] = declared[(year_of.get(t.instance_id), t.org_id)]
    return out


def _years_of_instances(instance_ids: set[int]) -> dict[int, int]:
    if not instance_ids:
        return {}
    rows = db.session.execute(
        select(ProcessInstance.id, SchemeYear.year)
        .join(SchemeYear, SchemeYear.id == ProcessInstance.scheme_year_id)
        .where(ProcessInstance.id.in_(instance_ids))
    )
    return {instance_id: year for instance_id, year in rows}


def api_tasks(
    user: User,
    status: str,
    year: int | None,
    process_id: str | None,
    phase: str | None = None,
    round_kind: str | None = None,
    limit: int = 500,
) -> list[InboxTask]:
    """The user's open or completed tasks for the API (up to `limit`), with their org and instance,
    narrowed as the inbox page is (year, process, phase, round)."""
    query = inbox_query(
        user, status=status, year=year, process_id=process_id, phase=phase, round_kind=round_kind
    )
    return list(
        db.session.scalars(
            query.options(
                joinedload(InboxTask.org),
                joinedload(InboxTask.subject_org),
                joinedload(InboxTask.assignee),
                joinedload(InboxTask.instance).defer(ProcessInstance.state),  # the list needs no workflow
            ).limit(limit)
        )
    )
