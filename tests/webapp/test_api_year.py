"""A whole year through the task API alone: a client that reads only what the API gives.

After the demo data and the users' tokens, every step is an HTTP request a real client could make:
the administrator deploys the diagrams, the office starts the year and opens each phase when the
year waits for it, and every task is filled from its own JSON Schema by a small generic filler
(choices, bounds, dates, required fields, grid rows, the `if`/`then` reason rule), checked against
that schema before it is sent, and completed, until the year's annual process has ended. Nothing
reads or writes the database behind the API's back, and the server runs on its real clock.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select

from models.db import db, utcnow
from models.org import ApiToken, User
from tests.conftest import bearer
from webapp.domain.accounts import tokens as tokens_service

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
# called processes before their callers: a call's target must be deployed first
DIAGRAMS = [
    "corrections",
    "department_declaration",
    "declaration",
    "system_formation",
    "system_revision",
    "evaluation_round",
    "year_end",
    "feedback",
    "annual_cycle",
]
FLOW = ["office", "expert", "city", "department", "leadership"]
TEXT = "依据年度工作台账如实填写。"
TWO_PLACES = re.compile(r"^-?\d+\.\d{2}$")


# ---------------------------------------------------------------- a generic filler, driven by the schema


def _choices(schema: dict) -> list:
    if "enum" in schema:
        return list(schema["enum"])
    return [option["const"] for option in schema.get("oneOf", []) if "const" in option]


def _valid(schema: dict, value: Any) -> bool:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(value)


def fill(schema: dict | bool, value: Any, required: bool, n: int = 0) -> Any:
    """A value for `schema`: the given one when it satisfies it, else the first that does."""
    if not isinstance(schema, dict):
        return value
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if kind == "object":
        return fill_object(schema, value if isinstance(value, dict) else {})
    if kind == "array":
        rows = value if isinstance(value, list) else []
        if "prefixItems" in schema:
            return [
                fill_object(s, r if isinstance(r, dict) else {}, i)
                for i, (s, r) in enumerate(
                    zip(schema["prefixItems"], rows + [{}] * len(schema["prefixItems"]), strict=False)
                )
            ]
        items = schema.get("items") or {}
        if _choices(items):
            chosen = [v for v in rows if v in _choices(items)]
            return chosen or _choices(items)[: schema.get("minItems", 0)]
        return [fill(items, r, True) for r in rows] or rows
    choices = _choices(schema)
    if choices:
        return value if value in choices else (choices[0] if required else value)
    if value not in (None, "") and _valid(schema, value):
        return value
    if not required:
        return value
    if "number" in kinds or "integer" in kinds:
        if "maximum" in schema:  # scores: full marks on most rows, a little less (with a reason) on some
            top = schema["maximum"]
            return top if n % 4 else round(top * 0.8, 2)
        return schema.get("minimum", 1)
    if schema.get("format") == "date":
        return (date.today() + timedelta(days=30)).isoformat()
    return TEXT[: schema.get("maxLength", len(TEXT))]


def fill_object(schema: dict, value: dict, n: int = 0) -> dict:
    required = set(schema.get("required", []))
    out = dict(value)
    for name, prop in schema.get("properties", {}).items():
        out[name] = fill(prop, value.get(name), name in required, n)
    if "if" in schema and _valid(schema["if"], out):  # e.g. a score below full marks needs a reason
        for name in schema["then"].get("required", []):
            out[name] = fill(
                {**schema["properties"].get(name, {}), **schema["then"]["properties"].get(name, {})},
                out.get(name),
                True,
                n,
            )
    if "anyOf" in schema and not any(_valid(branch, out) for branch in schema["anyOf"]):
        branch = schema["anyOf"][0]  # e.g. a city's advice, or the tick that it gets none: the first
        for name in branch.get("required", []):
            merged = {**schema["properties"].get(name, {}), **branch.get("properties", {}).get(name, {})}
            out[name] = fill(merged, out.get(name), True, n)
    return {k: v for k, v in out.items() if v is not None}


def two_places_everywhere(value: Any, path: str = "") -> None:
    """Every decimal figure of a results answer is text with two places."""
    if isinstance(value, dict):
        for key, inner in value.items():
            two_places_everywhere(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for inner in value:
            two_places_everywhere(inner, path)
    elif isinstance(value, float):
        raise AssertionError(f"{path} is a float: {value}")
    elif isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+", value):
        assert TWO_PLACES.match(value), f"{path} = {value!r}"


# ---------------------------------------------------------------- the year


def issue_tokens(app, usernames: list[str]) -> dict[str, dict[str, str]]:
    """A bearer token for each demo user, as `POST /api/v1/tokens` issues them (without paying the
    password hash 80 times: the sign-in itself is tested in test_api.py)."""
    issued = {}
    with app.app_context():
        for user in db.session.scalars(select(User).where(User.username.in_(usernames))):
            token = secrets.token_urlsafe(32)
            db.session.add(
                ApiToken(
                    user_id=user.id,
                    token_hash=tokens_service._hash(token),
                    expires_at=utcnow() + tokens_service.TOKEN_LIFETIME,
                )
            )
            issued[user.username] = {"Authorization": f"Bearer {token}"}
        db.session.commit()
    return issued


def test_a_whole_year_runs_through_the_api_alone(app, demo):
    started = time.perf_counter()
    api = app.test_client()
    tokens = issue_tokens(app, demo)
    tokens["office"] = bearer(api, "office")  # one through the API's own sign-in, the others issued alike
    as_ = tokens.__getitem__
    # a year to come: no date of its calendar has passed, so the office opens each phase
    year = date.today().year + 1

    for name in DIAGRAMS:
        xml = (WORKFLOWS / f"{name}.bpmn").read_text(encoding="utf-8")
        deployed = api.post(
            "/api/v1/definitions", json={"xml": xml, "comment": "API year"}, headers=as_("admin")
        )
        assert deployed.status_code in (200, 201), deployed.get_json()

    assert api.post(f"/api/v1/years/{year}/cycle", headers=as_("shenyang")).status_code == 403
    cycle = api.post(f"/api/v1/years/{year}/cycle", headers=as_("office"))
    assert cycle.status_code == 201, cycle.get_json()
    assert api.post(f"/api/v1/years/{year}/cycle", headers=as_("office")).status_code == 409

    completed, opened, seen_keys, rounds_of_reports = 0, [], set(), set()
    # who to ask, in the order the year's work flows (each asked again where the flow comes back)
    roles = {u: api.get("/api/v1/me", headers=h).get_json()["roles"] for u, h in tokens.items()}
    by_role = {r: [u for u in tokens if r in roles[u]] for r in FLOW}
    users = (
        [u for r in FLOW for u in by_role[r]] + by_role["office"] + by_role["leadership"] + by_role["office"]
    )
    while True:
        progressed = False
        for username in users:
            listed = api.get(f"/api/v1/tasks?year={year}", headers=as_(username)).get_json()["tasks"]
            for task in listed:
                answer = api.get(f"/api/v1/tasks/{task['id']}", headers=as_(username))
                assert answer.status_code == 200, (username, task["title"])  # listed, so it opens
                detail = answer.get_json()
                assert detail["year"] == year and detail["phase"] is not None, detail["title"]
                if detail["round"] is not None:
                    assert detail["title"].startswith(detail["round"]["name"]), detail["title"]
                    rounds_of_reports.add(detail["round"]["code"])
                if detail["form_key"] == "formation.draft":  # the draft is the accepted declarations
                    composed = api.post(f"/api/v1/years/{year}/system/compose", headers=as_(username))
                    assert composed.status_code == 200 and composed.get_json()["indicators"] > 0
                data = fill_object(detail["form"], detail["data"])
                errors = [e.message for e in Draft202012Validator(detail["form"]).iter_errors(data)]
                assert not errors, (detail["form_key"], errors[:3])
                done = api.post(
                    f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=as_(username)
                )
                assert done.status_code == 200, (detail["form_key"], done.get_json())
                seen_keys.add(detail["form_key"])
                completed += 1
                progressed = True
        # the office's view of the year's processes: tasks still open anywhere, or time for the next phase
        processes = api.get(f"/api/v1/processes?year={year}", headers=as_("office")).get_json()["processes"]
        still_open = sum(a["open_tasks"] for p in processes for a in p["current_activities"])
        if still_open:
            assert progressed, f"{still_open} open tasks that nobody's list shows"
            continue
        state = api.get(f"/api/v1/years/{year}/cycle", headers=as_("office")).get_json()
        if state["instance"]["status"] == "completed":
            break
        assert state["waiting_phases"], f"the year stopped with nothing to do: {state}"
        phase = state["waiting_phases"][0]["code"]
        answer = api.post(f"/api/v1/years/{year}/phases/{phase}/open", headers=as_("office"))
        assert answer.status_code == 200, answer.get_json()
        opened.append(phase)

    assert opened == ["declaration", "formation", "half_year", "q3", "year_end", "feedback"]
    assert {"round.score", "year_end.verify", "year_end.aggregate", "feedback.acknowledge"} <= seen_keys
    assert rounds_of_reports == {"half_year", "q3", "year_end"}

    outcome = api.get(f"/api/v1/years/{year}/results", headers=as_("shenyang")).get_json()
    assert outcome["annual"]["published"] and len(outcome["annual"]["cities"]) == 14
    assert {r["city"]["code"] for r in outcome["annual"]["cities"]} >= {"shenyang", "dalian"}
    assert all(r["city"]["name"] for r in outcome["annual"]["cities"])
    assert set(outcome["rounds"]) == {"half_year", "q3", "year_end"}
    two_places_everywhere(outcome)
    own = next(c for c in outcome["rounds"]["q3"]["cities"] if c["city"]["code"] == "shenyang")
    other = next(c for c in outcome["rounds"]["q3"]["cities"] if c["city"]["code"] == "dalian")
    assert own["lines"][0]["indicator"]["name"] and "lines" not in other
    report = api.get(f"/api/v1/years/{year}/reports/annual/shenyang.pdf", headers=as_("shenyang"))
    assert report.status_code == 200 and report.data[:4] == b"%PDF"
    assert (
        api.get(f"/api/v1/years/{year}/reports/annual/dalian.pdf", headers=as_("shenyang")).status_code == 403
    )
    province = api.get(f"/api/v1/years/{year}/reports/province.xlsx", headers=as_("office"))
    assert province.status_code == 200 and province.data[:2] == b"PK"
    print(f"\n{completed} tasks through the API in {time.perf_counter() - started:.1f}s")
