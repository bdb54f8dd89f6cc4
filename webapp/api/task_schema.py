"""What a task asks for, as the task API describes it.

The JSON Schema of the task's own built form (so its select fields offer the choices the task's
setup gave them: the year's experts, its key points, the cities and departments), and each row of a
grid described by what it is about: the indicator (name, key point, weight, unit, declared target)
and the city, the row's `code` and `city` fixed (`const`), a score's bounds (0 to the indicator's
weight) and the rule that a score below full marks needs a reason (`if`/`then`). The rows are
`prefixItems`, one schema per row in the order the task gives them; no row may be added.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models.db import load
from models.evaluation import VerificationResult
from models.formation import Handling
from models.i18n import lazy_gettext as _l
from models.org import User
from models.scheme import Indicator, SchemeYear
from models.workflow import InboxTask, TaskStatus
from webapp.domain.localtime import LOCAL
from webapp.domain.numbers import two_places
from webapp.domain.process import tasks as task_service
from webapp.domain.results import queries as results
from webapp.domain.rounds import queries as round_queries
from webapp.domain.system import queries as indicator_service
from workflows import engine
from workflows.forms.schema import task_schema
from workflows.forms.values import raw_values

# the deadlines a task sets: its check refuses one that has passed (today, in Beijing time, is the first)
DEADLINES = {"deadline", "solicitation_deadline", "report_deadline", "score_deadline"}
SCORE_TEXT = r"^[0-9]+(\.[0-9]{1,2})?$"  # what scoring.as_score accepts, as text


@dataclass
class TaskForm:
    """A task's form for a client: the schema to fill and the values it starts from."""

    schema: dict[str, Any]
    data: dict[str, Any]


def describe(task: InboxTask, user: User) -> TaskForm:
    """The task's schema and its data (the draft, the prefill, or what was submitted)."""
    if task.status == TaskStatus.OPEN:
        form = task_service.build_form(task, user)
        data = raw_values(form)
    else:  # the choices without the prefill: what was submitted is the data
        form = task_service.build_form(task, user, {})
        data = deepcopy(task.submitted or {})  # the rows are reformatted below, the record is not
    schema = task_schema(form)
    _conditions(schema)
    rows = data.get("rows")
    grid = schema["properties"].get("rows")
    if isinstance(rows, list) and grid is not None and task.instance.scheme_year_id is not None:
        _describe_rows(grid, rows, load(SchemeYear, task.instance.scheme_year_id))
    return TaskForm(schema=schema, data=data)


def _text_required(*names: str) -> dict[str, Any]:
    return {"required": list(names), "properties": {n: {"type": "string", "pattern": r"\S"} for n in names}}


def _when(name: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"required": [name], "properties": {name: condition}}


def _conditions(schema: dict[str, Any]) -> None:
    """The forms' own cross-field rules, said in the schema (`if`/`then`, `anyOf`; deadlines from today,
    `formatMinimum`, and the scores' not before the self-reports', `x-notBefore`): returning needs a comment
    (and, in a round's review, whom it goes back to); a comment not (fully) adopted needs its reason;
    an on-site finding other than "verified" needs its note; a city's feedback needs its advice unless
    `no_advice` is chosen (and then none)."""
    props = schema["properties"]
    today = engine.now().astimezone(LOCAL).date().isoformat()
    for name in DEADLINES & set(props):  # the tasks' checks refuse a deadline that has passed
        props[name]["formatMinimum"] = today
    if "report_deadline" in props and "score_deadline" in props:
        props["score_deadline"]["x-notBefore"] = "report_deadline"
    decision = props.get("decision", {})
    if "return" in decision.get("enum", []) and "comment" in props:
        returning = _when("decision", {"const": "return"})
        rules = [{"if": returning, "then": _text_required("comment")}]
        if "returned_cities" in props and "returned_departments" in props:
            whom = [
                _when(n, {"type": "array", "minItems": 1})
                for n in ("returned_cities", "returned_departments")
            ]
            rules.append({"if": returning, "then": {"anyOf": whom}})
        schema["allOf"] = rules
    declared = props.get("indicators", {}).get("items", {})
    if {"name", "key_point", "proposed_weight"} <= set(declared.get("properties", {})):
        # a declared row is blank (ignored), or names its indicator, key point and weight
        blank = {"properties": {"name": {"pattern": r"^\s*$"}, "proposed_weight": {"enum": [None, ""]}}}
        whole = _text_required("name", "key_point")
        whole["required"].append("proposed_weight")
        whole["properties"]["proposed_weight"] = {"not": {"enum": [None, ""]}}
        declared["anyOf"] = [blank, whole]
    grid = props.get("rows", {})
    row = grid.get("items") if isinstance(grid.get("items"), dict) else None
    if row is None:
        return
    fields = row.get("properties", {})
    if "handling" in fields and "reason" in fields:
        partial = _when("handling", {"enum": [Handling.PARTLY.value, Handling.NOT_ADOPTED.value]})
        row.update({"if": partial, "then": _text_required("reason")})
    elif "result" in fields and "note" in fields:
        found = _when("result", {"not": {"const": VerificationResult.VERIFIED.value}})
        row.update({"if": found, "then": _text_required("note")})
    elif "advice" in fields and "no_advice" in fields:
        none = _when("no_advice", {"const": True})
        blank = {"properties": {"advice": {"type": "string", "pattern": r"^\s*$"}}}
        row.update({"if": {"not": none}, "then": _text_required("advice"), "else": blank})


def _full_marks(weight: Decimal) -> str:
    """A pattern for the texts that are exactly the weight ("2", "2.0", "2.00")."""
    whole, _, fraction = f"{weight:.2f}".partition(".")
    fraction = fraction.rstrip("0")
    return (
        f"^{whole}(\\.0{{1,2}})?$"
        if not fraction
        else f"^{whole}\\.{fraction}{'0?' if len(fraction) == 1 else ''}$"
    )


def _indicator_json(ind: Indicator, targets: dict[tuple[int, str], str]) -> dict[str, Any]:
    return {
        "code": ind.code,
        "name": ind.name,
        "weight": two_places(ind.weight),
        "unit": ind.unit or "",
        "target": targets.get((ind.owner_id, ind.name), "") if ind.owner_id else "",
        "key_point": {"number": ind.key_point.number, "name": ind.key_point.name},
        "owner": {"code": ind.owner.code, "name": ind.owner.name} if ind.owner else None,
    }


def _describe_rows(grid: dict[str, Any], rows: list[Any], year: SchemeYear) -> None:
    base = grid.get("items") or {}
    props = base.get("properties", {})
    if "code" not in props and "city" not in props:
        return
    codes = {str(row.get("code")) for row in rows if isinstance(row, dict) and row.get("code")}
    indicators = indicator_service.indicators_by_code(year, codes) if "code" in props and codes else {}
    targets = round_queries.declared_targets(year.id) if indicators else {}
    cities = {c.short_name: c for c in results.cities()} if "city" in props else {}
    described = []
    for row in rows:
        # each row its own properties; what rows share unchanged (the other fields) is shared
        item = {**base, "properties": dict(props)}
        if not isinstance(row, dict):
            described.append(item)
            continue
        titles = []
        ind = indicators.get(str(row.get("code") or ""))
        if ind is not None:
            item["properties"]["code"] = {**props["code"], "const": ind.code}
            item["x-indicator"] = _indicator_json(ind, targets)
            titles.append(f"{ind.code} {ind.name}")
            if "score" in props:
                _score_rule(item, ind.weight)
        city = cities.get(str(row.get("city") or ""))
        if city is not None:
            item["properties"]["city"] = {**props["city"], "const": city.short_name}
            item["x-city"] = {"code": city.code, "name": city.name, "short_name": city.short_name}
            titles.append(city.short_name)
        if titles:
            item["title"] = " · ".join(titles)
        if "score" in row and row["score"] not in (None, "") and re.match(SCORE_TEXT, str(row["score"])):
            row["score"] = two_places(row["score"])
        described.append(item)
    grid["prefixItems"] = described
    grid["items"] = False
    grid["minItems"] = grid["maxItems"] = len(described)


def _score_rule(item: dict[str, Any], weight: Decimal) -> None:
    """0 to the weight, two decimals at most; below the weight (full marks) a reason is required."""
    maximum = float(weight)
    item["properties"]["score"] = {
        **item["properties"]["score"],
        "type": ["number", "string"],
        "format": "decimal",
        "pattern": SCORE_TEXT,
        "minimum": 0,
        "maximum": maximum,
        "x-maximum": two_places(weight),
        "description": str(
            _l(
                "From 0 to %(weight)s (the indicator's weight), at most two decimals, as a number or text.",
                weight=two_places(weight),
            )
        ),
    }
    item["if"] = {
        "required": ["score"],
        "properties": {
            "score": {
                "anyOf": [
                    {"type": "number", "exclusiveMaximum": maximum},
                    {"type": "string", "not": {"pattern": _full_marks(weight)}},
                ]
            }
        },
    }
    item["then"] = {"required": ["reason"], "properties": {"reason": {"type": "string", "pattern": r"\S"}}}
    item["description"] = str(_l("A score below full marks needs a reason."))
