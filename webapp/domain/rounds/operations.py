"""The rounds' verbs (half-year, third quarter, year-end) and the year's feedback: each takes the domain
objects and the acting user, checks that the user may, validates what it is given, writes the tables
(grids in bulk) and flushes. A task's form calls them through `adapters`; a test, the CLI or another
verb calls them directly.

Rows are plain mappings, as a form or an API posts them: a self-report row {code, completion,
narrative}, a score row {code, city (short name), score, reason}, a verification row {code, city,
result, note}, an advice row {city, advice}. Refusals name the row's field the way forms do
(`rows-3-score`), so a page can put each message beside its cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update

from models.db import db, load
from models.evaluation import (
    AnnualResult,
    CityFeedback,
    EvaluationRound,
    PublicationKind,
    RoundKind,
    RoundPublication,
    RoundStatus,
    Score,
    SelfReportItem,
    Submission,
    SubmissionStatus,
    Verification,
    VerificationResult,
)
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, Role, User
from models.rules import scoring
from models.scheme import SchemeYear
from webapp.domain import audit, errors, notifications
from webapp.domain.localtime import local_end
from webapp.domain.notifications import N_
from webapp.domain.results import queries as results
from webapp.domain.results.document import CITY_LIST_SEPARATOR
from webapp.domain.rounds import queries

Row = Mapping[str, Any]

# the reasons a published round is corrected (msgids, rendered in the reader's language when shown)
CORRECTED_FOR_FRAUD = N_("Fraud found at the year-end verification: %(findings)s")
CORRECTED = N_("The results were computed again when the year was approved.")


def _write(model: Any, new: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    """Insert and update rows of a grid in bulk: one statement each, however many rows."""
    if new:
        db.session.execute(insert(model), new)
    if changed:
        db.session.execute(update(model), changed)


def _record_submission(
    round_: EvaluationRound, org: OrgUnit, kind: str, actor: User, now: datetime, late: bool
) -> Submission:
    row = db.session.scalar(
        select(Submission).where(
            Submission.round_id == round_.id, Submission.org_id == org.id, Submission.kind == kind
        )
    ) or Submission(round_id=round_.id, org_id=org.id, kind=kind, submissions=0)
    row.status, row.submissions = SubmissionStatus.SUBMITTED, (row.submissions or 0) + 1
    row.submitted_at, row.submitted_by_id, row.late = now, actor.id, late
    db.session.add(row)
    return row


def _refuse_unless(allowed: bool) -> None:
    errors.forbid_unless(allowed, _l("Only the office can manage the rounds."))


# ---------------------------------------------------------------- opening a round


def open_round(
    scheme_year: SchemeYear,
    kind: RoundKind,
    report_deadline: date,
    score_deadline: date,
    actor: User,
    now: datetime,
) -> EvaluationRound:
    """Open (or reopen) the year's round with its deadlines and tell the cities and departments."""
    _refuse_unless(actor.has_role(Role.OFFICE))
    errors.reject(queries.deadline_problems(report_deadline, score_deadline, now))
    report, score = local_end(report_deadline), local_end(score_deadline)
    round_ = EvaluationRound.find(scheme_year.id, kind) or EvaluationRound(
        scheme_year_id=scheme_year.id, kind=kind
    )
    round_.report_deadline, round_.score_deadline, round_.opened_at = report, score, now
    round_.status = RoundStatus.OPEN
    db.session.add(round_)
    notifications.notify(
        notifications.users_of(role=Role.CITY) + notifications.users_of(role=Role.DEPARTMENT),
        "round_open",
        notifications.ROUND_OPEN,
        "/inbox/",
        now,
        params={"round": round_.kind.value, "due": report.isoformat()},
    )
    db.session.flush()
    return round_


# ---------------------------------------------------------------- self-report


def submit_self_report(
    round_: EvaluationRound, city: OrgUnit, rows: Sequence[Row], actor: User, now: datetime
) -> Submission:
    """A city's self-report: every indicator of the year with its completion (and narrative)."""
    errors.forbid_unless(round_.can_report(actor, city), _l("Only the city's own users can report for it."))
    indicators = queries.indicator_ids(round_.scheme_year_id)
    errors.reject(queries.report_problems(indicators, rows))
    existing = {
        indicator_id: (item_id, completion, narrative)
        for item_id, indicator_id, completion, narrative in db.session.execute(
            select(
                SelfReportItem.id,
                SelfReportItem.indicator_id,
                SelfReportItem.completion,
                SelfReportItem.narrative,
            ).where(SelfReportItem.round_id == round_.id, SelfReportItem.city_id == city.id)
        )
    }
    new, changed = [], []
    for row in rows:
        indicator_id = indicators[row["code"]]
        item = {
            "completion": str(row["completion"]).strip(),
            "narrative": row.get("narrative") or "",
            "updated_at": now,
        }
        if indicator_id not in existing:
            new.append({"round_id": round_.id, "city_id": city.id, "indicator_id": indicator_id, **item})
        elif existing[indicator_id][1:] != (item["completion"], item["narrative"]):
            changed.append({"id": existing[indicator_id][0], **item})
    _write(SelfReportItem, new, changed)
    submission = _record_submission(
        round_, city, "self_report", actor, now, late=now > round_.report_deadline
    )
    db.session.flush()
    return submission


# ---------------------------------------------------------------- scoring and verification


def submit_scores(
    round_: EvaluationRound, department: OrgUnit, rows: Sequence[Row], actor: User, now: datetime
) -> Submission:
    """A department's scores for its indicators in every city: never above the weight, a reason below it."""
    errors.forbid_unless(
        round_.can_score(actor, department), _l("Only the department's own users can score its indicators.")
    )
    owned = queries.owned_indicators(round_.scheme_year_id, department)
    cities = queries.cities_by_name()
    errors.reject(queries.score_problems(owned, cities, rows))
    existing = {
        (indicator_id, city_id): (score_id, score, changes)
        for score_id, indicator_id, city_id, score, changes in db.session.execute(
            select(Score.id, Score.indicator_id, Score.city_id, Score.score, Score.changes).where(
                Score.round_id == round_.id, Score.indicator_id.in_([i.id for i in owned.values()])
            )
        )
    }
    new, changed = [], []
    for row in rows:
        ind, city = owned[row["code"]], cities[row["city"]]
        value = scoring.as_score(row["score"])
        item = {
            "score": value,
            "reason": (row.get("reason") or "").strip(),
            "scored_by_id": actor.id,
            "scored_at": now,
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
    submission = _record_submission(
        round_, department, "scores", actor, now, late=now > round_.score_deadline
    )
    db.session.flush()
    return submission


def record_verification(
    scheme_year: SchemeYear, department: OrgUnit, rows: Sequence[Row], actor: User, now: datetime
) -> int:
    """A department's on-site verification of its indicators in every city; a row whose result is
    `fraud` zeroes that indicator for the city for the whole year once the year is approved.
    Returns the number of fraud findings recorded."""
    errors.forbid_unless(
        actor.has_role(Role.DEPARTMENT) and actor.org_id == department.id,
        _l("Only the department's own users can verify its indicators."),
    )
    owned = queries.owned_indicators(scheme_year.id, department)
    cities = queries.cities_by_name()
    errors.reject(queries.verification_problems(owned, cities, rows))
    found = {
        (indicator_id, city_id): verification_id
        for verification_id, indicator_id, city_id in db.session.execute(
            select(Verification.id, Verification.indicator_id, Verification.city_id).where(
                Verification.scheme_year_id == scheme_year.id,
                Verification.indicator_id.in_([i.id for i in owned.values()]),
            )
        )
    }
    new, changed = [], []
    for row in rows:
        ind, city = owned[row["code"]], cities[row["city"]]
        item = {
            "result": VerificationResult(row["result"]),
            "note": (row.get("note") or "").strip(),
            "verified_by_id": actor.id,
            "verified_at": now,
        }
        if (ind.id, city.id) in found:
            changed.append({"id": found[ind.id, city.id], **item})
        else:
            new.append({"scheme_year_id": scheme_year.id, "indicator_id": ind.id, "city_id": city.id, **item})
    _write(Verification, new, changed)
    db.session.flush()
    return sum(1 for row in rows if row["result"] == VerificationResult.FRAUD.value)


# ---------------------------------------------------------------- review, approval, feedback


def return_for_correction(
    round_: EvaluationRound, cities: Sequence[str], departments: Sequence[str], comment: str, actor: User
) -> dict[str, list[str]]:
    """The office sends cities' reports and departments' scores back with its comment; returns the
    codes (the correction process gives each of them its task again)."""
    _refuse_unless(actor.has_role(Role.OFFICE))
    codes = [*cities, *departments]
    units = {o.code: o for o in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
    unknown = sorted(set(codes) - set(units))
    if unknown:
        raise errors.Invalid(
            str(_l("Some fields need attention.")),
            fields={"returned": [str(_l("Unknown organisations: %(codes)s", codes=", ".join(unknown)))]},
        )
    for org in units.values():
        kind = "self_report" if org.kind == OrgKind.CITY else "scores"
        row = db.session.scalar(
            select(Submission).where(
                Submission.round_id == round_.id, Submission.org_id == org.id, Submission.kind == kind
            )
        )
        if row is not None:
            row.status, row.return_comment = SubmissionStatus.RETURNED, comment
    db.session.flush()
    return {"returned_cities": list(cities), "returned_departments": list(departments)}


def approve_round(round_: EvaluationRound, actor: User, now: datetime) -> EvaluationRound:
    """The leadership approves the round: its results are computed and kept."""
    errors.forbid_unless(actor.has_role(Role.LEADERSHIP), _l("Only the leadership approves results."))
    missing = queries.missing_score_count(round_)
    if missing:
        raise errors.Conflict(str(_l("%(n)d scores are still missing.", n=missing)))
    round_.results = results.compute_round(round_)
    round_.status, round_.approved_at = RoundStatus.APPROVED, now
    db.session.flush()
    return round_


def _save_advice(scheme_year: SchemeYear, kind: str, rows: Sequence[Row], now: datetime) -> None:
    """Each city's advice; a city the office chose to give none is kept with empty advice ("None.")."""
    cities = queries.cities_by_name()
    errors.reject(queries.advice_problems(cities, rows))
    existing = dict(
        db.session.execute(
            select(CityFeedback.city_id, CityFeedback.id).where(
                CityFeedback.scheme_year_id == scheme_year.id, CityFeedback.round_kind == kind
            )
        )
        .tuples()
        .all()
    )
    new, changed = [], []
    for row in rows:
        city = cities[row["city"]]
        item = {"advice": (row.get("advice") or "").strip(), "written_at": now}
        if city.id in existing:
            changed.append({"id": existing[city.id], **item})
        else:
            new.append({"scheme_year_id": scheme_year.id, "round_kind": kind, "city_id": city.id, **item})
    _write(CityFeedback, new, changed)


def _freeze(round_: EvaluationRound, actor: User | None, now: datetime) -> RoundPublication | None:
    """Keep what is published as a version: the first, or a new one when a republished round's figures
    differ from its latest (the same figures again are the same version); returns the latest."""
    data = round_.results
    latest = results.publication(round_)
    if data is None or (latest is not None and not results.changed_cities(latest.results, data)):
        return latest  # nothing computed, or nothing changed
    version = RoundPublication(
        round_id=round_.id,
        version=latest.version + 1 if latest else 1,
        kind=PublicationKind.PUBLICATION,
        published_at=now,
        published_by_id=actor.id if actor is not None else None,
        results=data,
        reason="",
        cities=results.changed_cities(latest.results, data) if latest else [],
    )
    db.session.add(version)
    return version


def publish_round(
    round_: EvaluationRound, advice: Sequence[Row], actor: User, now: datetime
) -> EvaluationRound:
    """The office publishes an approved round with its advice to each city, and tells everyone."""
    _refuse_unless(actor.has_role(Role.OFFICE))
    _save_advice(load(SchemeYear, round_.scheme_year_id), round_.kind.value, advice, now)
    round_.status, round_.published_at = RoundStatus.PUBLISHED, now
    _freeze(round_, actor, now)
    if round_.kind == RoundKind.YEAR_END:
        annual = results.annual_result(round_.scheme_year_id)
        if annual is not None:
            annual.published_at = now
    notifications.notify_results_published(round_.scheme_year_id, round_.kind, now)
    db.session.flush()
    return round_


# ---------------------------------------------------------------- year-end aggregation and the year's feedback


def propose_awards(
    scheme_year: SchemeYear, key_points: Sequence[int], top_n: int, proposal: str, actor: User
) -> AnnualResult:
    """The office's commendation proposal: the key points awarded and how many cities are named."""
    _refuse_unless(actor.has_role(Role.OFFICE))
    annual = results.annual_result(scheme_year.id) or AnnualResult(scheme_year_id=scheme_year.id)
    annual.award_key_points = sorted(int(k) for k in key_points)
    annual.award_top_n, annual.proposal = int(top_n), proposal.strip()
    db.session.add(annual)
    db.session.flush()
    return annual


def approve_year(scheme_year: SchemeYear, actor: User, now: datetime) -> AnnualResult:
    """The leadership approves the year-end round and the year: fraud found at verification zeroes
    the indicator for the whole year, so the process rounds' results are computed again with it; a
    published round whose figures change gets a correction (`correct_round`), never a silent change."""
    errors.forbid_unless(actor.has_role(Role.LEADERSHIP), _l("Only the leadership approves results."))
    round_ = EvaluationRound.find(scheme_year.id, RoundKind.YEAR_END)
    annual = results.annual_result(scheme_year.id)
    if round_ is None or annual is None:
        raise errors.Conflict(str(_l("The year-end round has no aggregated results to approve yet.")))
    for earlier in (RoundKind.HALF_YEAR, RoundKind.Q3):
        process_round = EvaluationRound.find(scheme_year.id, earlier)
        if process_round is None or process_round.results is None:
            continue
        if process_round.status == RoundStatus.PUBLISHED:
            correct_round(process_round, results.compute_round(process_round), actor, now)
        else:
            process_round.results = results.compute_round(process_round)
    if round_.status == RoundStatus.PUBLISHED:  # approved again after its publication
        correct_round(round_, results.compute_round(round_), actor, now)
    else:
        round_.results = results.compute_round(round_)
        round_.status, round_.approved_at = RoundStatus.APPROVED, now
    annual.results = results.compute_annual(scheme_year, annual.award_key_points, annual.award_top_n)
    annual.approved_at = now
    db.session.flush()
    return annual


def correct_round(
    round_: EvaluationRound, recomputed: dict[str, Any], actor: User, now: datetime
) -> RoundPublication | None:
    """A published round's results computed again: when a figure changed (a total, a rank, a score), publish
    them as a correction with the reason, tell the cities affected and record it; else change nothing."""
    # a round published before versions were kept: what it holds is what was published
    latest = results.publication(round_) or _freeze(round_, None, round_.published_at or now)
    before = latest.results if latest is not None else {}
    affected = results.changed_cities(before, recomputed)
    if not affected:
        return None
    names = {e["city"]: e["name"] for e in recomputed["cities"]}
    indicators = recomputed["indicators"]
    found = results.new_fraud(before, recomputed)
    if found:
        reason = CORRECTED_FOR_FRAUD
        findings = CITY_LIST_SEPARATOR.join(
            f"{names.get(city, city)} · {code} {indicators.get(code, {}).get('name', '')}".strip()
            for city, code in found
        )
        params: dict[str, Any] = {"findings": findings}
    else:
        reason, params = CORRECTED, {}
    correction = RoundPublication(
        round_id=round_.id,
        version=latest.version + 1 if latest is not None else 1,
        kind=PublicationKind.CORRECTION,
        published_at=now,
        published_by_id=actor.id,
        results=recomputed,
        reason=reason,
        reason_params=params,
        cities=affected,
    )
    db.session.add(correction)
    round_.results = recomputed
    notifications.notify_round_corrected(round_, affected, correction.version, params.get("findings"), now)
    audit.record(
        "round.corrected",
        actor,
        detail={
            "year": load(SchemeYear, round_.scheme_year_id).year,
            "round": round_.kind.value,
            "version": correction.version,
            "cities": affected,
            "fraud": [{"city": city, "indicator": code} for city, code in found],
        },
        at=now,
    )
    db.session.flush()
    return correction


def write_year_advice(scheme_year: SchemeYear, advice: Sequence[Row], actor: User, now: datetime) -> None:
    """The office's advice to each city on the whole year."""
    _refuse_unless(actor.has_role(Role.OFFICE))
    _save_advice(scheme_year, "annual", advice, now)
    db.session.flush()


def acknowledge_feedback(scheme_year: SchemeYear, city: OrgUnit, actor: User, now: datetime) -> None:
    """A city confirms it received the year's feedback."""
    errors.forbid_unless(
        actor.has_role(Role.CITY) and actor.org_id == city.id,
        _l("Only the city's own users can confirm this."),
    )
    item = db.session.scalar(
        select(CityFeedback).where(
            CityFeedback.scheme_year_id == scheme_year.id,
            CityFeedback.round_kind == "annual",
            CityFeedback.city_id == city.id,
        )
    )
    if item is not None:
        item.acknowledged_at = now
    db.session.flush()
