"""What the indicator system reads: a year's system as one tree, its check against the plan's rules,
and the formation's lists (the declaration call's defaults, a department's declared rows, the
comments and their handling, the office's declaration overview)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from models.db import db
from models.formation import (
    Declaration,
    DeclarationCall,
    DeclarationStatus,
    Handling,
    Phase,
    SystemComment,
    YearPhase,
)
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit
from models.rules.indicator_system import IndicatorRow, SystemCheck, check_system
from models.scheme import Dimension, Indicator, KeyPoint, Level, Scheme, SchemeYear
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from webapp.domain.errors import NotFound
from webapp.domain.localtime import LOCAL, local_end
from webapp.domain.numbers import plain


def find_scheme_year(scheme_code: str, year: int) -> SchemeYear:
    """Return the scheme's year or raise NotFound with a sentence."""
    scheme = Scheme.by_code(scheme_code)
    scheme_year = SchemeYear.find(scheme, year) if scheme else None
    if scheme_year is None:
        raise NotFound(
            str(_l("There is no indicator system for %(year)d.", year=year)), scheme=scheme_code, year=year
        )
    return scheme_year


def list_years(scheme_code: str) -> list[int]:
    scheme = Scheme.by_code(scheme_code)
    if scheme is None:
        return []
    return list(
        db.session.scalars(
            select(SchemeYear.year).where(SchemeYear.scheme_id == scheme.id).order_by(SchemeYear.year)
        )
    )


def load_dimensions(scheme_year: SchemeYear) -> list[Dimension]:
    """The year's dimensions with levels, key points, indicators and owners loaded in a few queries."""
    return list(
        db.session.scalars(
            select(Dimension)
            .where(Dimension.scheme_year_id == scheme_year.id)
            .order_by(Dimension.number)
            .options(
                selectinload(Dimension.levels)
                .selectinload(Level.key_points)
                .selectinload(KeyPoint.indicators)
                .options(selectinload(Indicator.owner), selectinload(Indicator.co_owner_rows))
            )
        )
    )


@dataclass
class Subtotals:
    """Weight and indicator count per tier, keyed by the tier object's id."""

    dimensions: dict[int, Decimal] = field(default_factory=dict)
    levels: dict[int, Decimal] = field(default_factory=dict)
    key_points: dict[int, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    total: Decimal = Decimal(0)


def subtotals(dimensions: list[Dimension]) -> Subtotals:
    sums = Subtotals()
    n_levels = n_points = n_indicators = 0
    for d in dimensions:
        sums.dimensions[d.id] = Decimal(0)
        for lv in d.levels:
            n_levels += 1
            sums.levels[lv.id] = Decimal(0)
            for kp in lv.key_points:
                n_points += 1
                weight = sum((i.weight for i in kp.indicators), Decimal(0))
                n_indicators += len(kp.indicators)
                sums.key_points[kp.id] = weight
                sums.levels[lv.id] += weight
                sums.dimensions[d.id] += weight
        sums.total += sums.dimensions[d.id]
    sums.counts = {
        "dimensions": len(dimensions),
        "levels": n_levels,
        "key_points": n_points,
        "indicators": n_indicators,
    }
    return sums


def export_tree(scheme_year: SchemeYear) -> dict:
    """The year's system as plain data (the `indicators export` JSON shape)."""
    dimensions = load_dimensions(scheme_year)
    sums = subtotals(dimensions)
    return {
        "year": scheme_year.year,
        "scheme": scheme_year.scheme.code,
        "status": scheme_year.status.value,
        "total_weight": plain(sums.total),
        "dimensions": [
            {
                "code": d.code,
                "number": d.number,
                "name": d.name,
                "weight": plain(sums.dimensions[d.id]),
                "levels": [
                    {
                        "code": lv.code,
                        "number": lv.number,
                        "name": lv.name,
                        "weight": plain(sums.levels[lv.id]),
                        "key_points": [
                            {
                                "number": kp.number,
                                "name": kp.name,
                                "weight": plain(sums.key_points[kp.id]),
                                "indicators": [
                                    {
                                        "code": i.code,
                                        "name": i.name,
                                        "weight": plain(i.weight),
                                        "owner_department": i.owner.code,
                                        "co_owners": [o.code for o in i.co_owners],
                                        "unit": i.unit,
                                        "scoring_rule": i.scoring_rule,
                                    }
                                    for i in kp.indicators
                                ],
                            }
                            for kp in lv.key_points
                        ],
                    }
                    for lv in d.levels
                ],
            }
            for d in dimensions
        ],
    }


def matching_indicator_ids(dimensions: list[Dimension], query: str) -> set[int] | None:
    """Ids of indicators whose code, name, owner or key point contains the query; None for no query."""
    if not query:
        return None
    needle = query.casefold()
    found: set[int] = set()
    for d in dimensions:
        for lv in d.levels:
            for kp in lv.key_points:
                for i in kp.indicators:
                    haystack = " ".join(
                        (i.code, i.name, i.owner.name, i.owner.short_name, kp.name, lv.name, d.name)
                    )
                    if needle in haystack.casefold():
                        found.add(i.id)
    return found


def tiers_leading_to(dimensions: list[Dimension], ids: set[int] | None) -> set[tuple[str, int]] | None:
    """The headings (("dimension" | "level" | "key_point", id)) above these indicators; None for all."""
    if ids is None:
        return None
    shown: set[tuple[str, int]] = set()
    for d in dimensions:
        for lv in d.levels:
            for kp in lv.key_points:
                if any(i.id in ids for i in kp.indicators):
                    shown.update({("dimension", d.id), ("level", lv.id), ("key_point", kp.id)})
    return shown


def points_text(value: Decimal) -> str:
    """A weight as people write it: 14 → '14分', 7.5 → '7.5分'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return str(_l("%(points)s points", points=text))


@dataclass
class Comparison:
    added: list[dict]
    removed: list[dict]
    reweighted: list[tuple[dict, dict]]
    renamed: list[tuple[dict, dict]]
    moved: list[tuple[dict, dict]]


def _flat(tree: dict) -> dict[str, dict]:
    out = {}
    for d in tree["dimensions"]:
        for lv in d["levels"]:
            for kp in lv["key_points"]:
                for ind in kp["indicators"]:
                    out[ind["code"]] = {**ind, "key_point": kp["number"], "key_point_name": kp["name"]}
    return out


def compare_trees(current: dict, previous: dict) -> Comparison:
    """What changed from the previous year's system to this one, matched by indicator code."""
    now, before = _flat(current), _flat(previous)
    common = sorted(set(now) & set(before))
    return Comparison(
        added=[now[c] for c in sorted(set(now) - set(before))],
        removed=[before[c] for c in sorted(set(before) - set(now))],
        reweighted=[(before[c], now[c]) for c in common if before[c]["weight"] != now[c]["weight"]],
        renamed=[(before[c], now[c]) for c in common if before[c]["name"] != now[c]["name"]],
        moved=[(before[c], now[c]) for c in common if before[c]["key_point"] != now[c]["key_point"]],
    )


def key_points(scheme_year: SchemeYear) -> list[KeyPoint]:
    return list(
        db.session.scalars(
            select(KeyPoint).where(KeyPoint.scheme_year_id == scheme_year.id).order_by(KeyPoint.number)
        )
    )


def indicators_by_code(scheme_year: SchemeYear, codes: Sequence[str] | set[str]) -> dict[str, Indicator]:
    """The year's indicators with these codes, with their key points and owners loaded."""
    found = db.session.scalars(
        select(Indicator)
        .where(Indicator.scheme_year_id == scheme_year.id, Indicator.code.in_(list(codes)))
        .options(selectinload(Indicator.key_point), selectinload(Indicator.owner))
    )
    return {i.code: i for i in found}


def departments() -> list[OrgUnit]:
    """The evaluating departments in their usual order (an indicator's owner is one of them)."""
    return list(
        db.session.scalars(
            select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT).order_by(OrgUnit.sort_order)
        )
    )


def indicator(scheme_year: SchemeYear, code: str) -> Indicator:
    """The year's indicator with this code (NotFound when there is none)."""
    found = db.session.scalar(
        select(Indicator).where(Indicator.scheme_year_id == scheme_year.id, Indicator.code == code)
    )
    if found is None:
        raise NotFound(str(_l("There is no indicator %(code)s.", code=code)))
    return found


# ---------------------------------------------------------------- the plan's rules


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


def check_year(scheme_year: SchemeYear) -> SystemCheck:
    """The year's system against the plan's rules (weights, key points, owners)."""
    points = set(db.session.scalars(select(KeyPoint.number).where(KeyPoint.scheme_year_id == scheme_year.id)))
    codes = {d.code for d in departments()}
    return check_system(system_rows(scheme_year), points, codes, scheme_year.total_weight)


def system_problems(scheme_year: SchemeYear) -> dict[str, list[str]]:
    """The check's problems as form messages (none when the system is sound)."""
    result = check_year(scheme_year)
    return {} if result.ok else {"": [p.message for p in result.problems]}


def future_date_problems(value: date | None, now: datetime) -> list[str]:
    if value is not None and local_end(value) <= now:
        return [str(_l("The date must be in the future."))]
    return []


def system_summary(scheme_year: SchemeYear) -> dict[str, Any]:
    """What a formation decision page shows: the subtotals, the check, the declarations and comments."""
    dims = load_dimensions(scheme_year)
    comments = year_comments(scheme_year.id)
    accepted = db.session.scalar(
        select(func.count())
        .select_from(Declaration)
        .where(Declaration.scheme_year_id == scheme_year.id, Declaration.status == DeclarationStatus.ACCEPTED)
    )
    return {
        "scheme_year": scheme_year,
        "sums": subtotals(dims),
        "problems": check_year(scheme_year).problems,
        "accepted_declarations": accepted,
        "comments_by_handling": {h: sum(1 for c in comments if c.handling == h) for h in Handling},
    }


# ---------------------------------------------------------------- declaration


def declaration_call_defaults(scheme_year: SchemeYear, now: datetime | None = None) -> dict[str, Any]:
    """The standard as last published, or the declaration phase's deadline for a first call; with
    `now`, a deadline that has passed is proposed as a week from now (the form refuses past dates)."""
    defaults = _declaration_call_defaults(scheme_year)
    if (
        now is not None
        and defaults.get("deadline") is not None
        and future_date_problems(defaults["deadline"], now)
    ):
        defaults["deadline"] = now.astimezone(LOCAL).date() + timedelta(days=7)
    return defaults


def _declaration_call_defaults(scheme_year: SchemeYear) -> dict[str, Any]:
    call = DeclarationCall.for_year(scheme_year.id)
    if call is not None:
        return {
            "basis": call.basis,
            "quantifiability": call.quantifiability,
            "decomposition": call.decomposition,
            "rewards_penalties": call.rewards_penalties,
            "deadline": call.deadline.astimezone(LOCAL).date(),
        }
    phase = db.session.scalar(
        select(YearPhase).where(
            YearPhase.scheme_year_id == scheme_year.id, YearPhase.phase == Phase.DECLARATION
        )
    )
    return {"deadline": phase.deadline.astimezone(LOCAL).date() if phase else None}


def declared_rows(scheme_year: SchemeYear, department: OrgUnit) -> list[dict[str, Any]]:
    """The department's declaration as rows, or what it owns in the year's draft (last year's
    system, cloned) when it has declared nothing yet."""
    existing = Declaration.find(scheme_year.id, department.id)
    if existing is not None and existing.items:
        return [
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
    return [
        {
            "key_point": str(i.key_point.number),
            "name": i.name,
            "proposed_weight": i.weight,
            "unit": i.unit,
            "method": i.scoring_rule,
        }
        for i in scheme_year.indicators()
        if i.owner_id == department.id
    ]


def is_blank_row(row: Mapping[str, Any]) -> bool:
    return not str(row.get("name") or "").strip() and row.get("proposed_weight") in (None, "")


def declaration_problems(
    points: Mapping[int, KeyPoint], rows: Sequence[Mapping[str, Any]]
) -> dict[str, list[str]]:
    """Each declared row names its indicator, a key point of the year and a weight above 0 and at
    most 1,000; blank rows are left out, but one row at least is declared."""
    problems: dict[str, list[str]] = {}
    for n, row in enumerate(rows):
        if is_blank_row(row):
            continue
        if not str(row.get("name") or "").strip():
            problems[f"indicators-{n}-name"] = [str(_l("Name the indicator."))]
        number = str(row.get("key_point") or "")
        if not number.isdigit() or int(number) not in points:
            problems[f"indicators-{n}-key_point"] = [str(_l("Choose a key point from the list."))]
        try:
            weight = Decimal(str(row.get("proposed_weight")))
        except (InvalidOperation, ValueError):
            weight = None
        if weight is None or not weight.is_finite() or not Decimal("0.01") <= weight <= 1000:
            problems[f"indicators-{n}-proposed_weight"] = [str(_l("Propose a weight."))]
    if all(is_blank_row(row) for row in rows):
        problems["indicators"] = [str(_l("Declare at least one indicator."))]
    return problems


def declaration_overview(scheme_year: SchemeYear, now: datetime) -> list[dict[str, Any]]:
    """Per department: its declaration's state, and whether it is late (the office's deadline view)."""
    call = DeclarationCall.for_year(scheme_year.id)
    declarations = {
        d.department_id: d
        for d in db.session.scalars(select(Declaration).where(Declaration.scheme_year_id == scheme_year.id))
    }
    declare_tasks = (
        select(InboxTask)
        .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
        .where(ProcessInstance.scheme_year_id == scheme_year.id, InboxTask.element_id == "declare")
    )
    open_tasks = {
        t.org_id: t for t in db.session.scalars(declare_tasks.where(InboxTask.status == TaskStatus.OPEN))
    }
    invited = {t.org_id for t in db.session.scalars(declare_tasks)}
    deadline = call.deadline if call else None
    rows = []
    for dept in departments():
        d = declarations.get(dept.id)
        task = open_tasks.get(dept.id)
        first_submission_late = bool(d and deadline and d.submitted_at and d.submitted_at > deadline)
        overdue = bool(task and deadline and now > deadline)
        rows.append(
            {
                "department": dept,
                "declaration": d,
                "task": task,
                "late": overdue or first_submission_late,
                "overdue": overdue,
                "invited": dept.id in invited,
            }
        )
    return rows


def declaration_note(scheme_year_id: int, department_id: int) -> str:
    """The note the department sent with its latest declaration (kept with the declare task's values)."""
    submitted = db.session.scalar(
        select(InboxTask.submitted)
        .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
        .where(
            ProcessInstance.scheme_year_id == scheme_year_id,
            InboxTask.form_key == "declaration.declare",
            InboxTask.org_id == department_id,
            InboxTask.status == TaskStatus.COMPLETED,
        )
        .order_by(InboxTask.completed_at.desc(), InboxTask.id.desc())
        .limit(1)
    )
    note = (submitted or {}).get("note")
    return note.strip() if isinstance(note, str) else ""


# ---------------------------------------------------------------- comments and their handling


def year_comments(scheme_year_id: int) -> list[SystemComment]:
    return list(
        db.session.scalars(
            select(SystemComment)
            .where(SystemComment.scheme_year_id == scheme_year_id)
            .order_by(SystemComment.id)
        )
    )


def comment_rows(scheme_year: SchemeYear) -> list[dict[str, Any]]:
    """One empty comment row per indicator, named with its weight."""
    return [
        {"code": i.code, "indicator": f"{i.name}（{points_text(i.weight)}）", "comment": ""}
        for i in scheme_year.indicators()
    ]


def handling_rows(scheme_year: SchemeYear) -> list[dict[str, Any]]:
    """Every comment of the year with who wrote it, on what, and how it was handled so far."""
    rows = []
    for c in year_comments(scheme_year.id):
        about = f"{c.indicator_code} {c.indicator_name}" if c.indicator_code else str(_l("General"))
        rows.append(
            {
                "comment_id": str(c.id),
                "comment": f"[{c.author_org.short_name} · {c.source.title}] {about}：{c.text}",
                "handling": "" if c.handling == Handling.PENDING else c.handling.value,
                "reason": c.handling_reason,
            }
        )
    return rows


def handling_problems(
    comments: Mapping[str, SystemComment], rows: Sequence[Mapping[str, Any]]
) -> dict[str, list[str]]:
    """A handling names every comment of the year once, each adopted, partly adopted or not."""
    if {str(row.get("comment_id")) for row in rows} != set(comments) or len(rows) != len(comments):
        return {"": [str(_l("The list of comments changed; reload the page."))]}
    known = {h.value for h in Handling if h != Handling.PENDING}
    problems: dict[str, list[str]] = {}
    for n, row in enumerate(rows):
        if row.get("handling") not in known:
            problems[f"rows-{n}-handling"] = [str(_l("Say how the comment was handled."))]
        elif (
            row["handling"] in (Handling.PARTLY, Handling.NOT_ADOPTED)
            and not str(row.get("reason") or "").strip()
        ):
            problems[f"rows-{n}-reason"] = [str(_l("Give the reason when a comment is not (fully) adopted."))]
    return problems
