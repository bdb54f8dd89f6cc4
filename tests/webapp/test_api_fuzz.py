"""The task API fuzzed against its own OpenAPI document by schemathesis, as a city and as the office, on a
year in progress (the 2012 half-year self-reports are open): no input gives a 500, and every answer is one
the document describes.

Schemathesis's engine runs what `st run` runs — the examples, coverage and fuzzing phases (the coverage
phase sends the schemas' edges and methods no route takes, TRACE among them) — against the app served on a
local port for the test (schemathesis's in-process WSGI transport fails on the probes some checks send),
with every check it enables by default: no server error, documented status codes, content types, headers
and response schemas, `Allow` on a 405, schema-valid requests accepted and invalid ones refused, and that
the bearer token is not ignored. Half the generated task ids are swapped for real ones (the caller's open
and completed tasks, and others'), and half the years for 2012, so the task and year routes answer with
real data and not only 404s.

Bounded for CI: a fixed seed, derandomized, 25 examples per operation and phase, no stateful phase, no
example database and hypothesis's caches in the test's folder (nothing written in the checkout); about 20 s
per caller on SQLite. `DELETE /api/v1/tokens/current` (which ends the token it is called with) is left out of
the callers' runs and fuzzed alone with a throwaway token. A schema-valid body that a task refuses (422) is
no failure for the three operations whose data only the task's own form describes (`TASK_DATA`).

The tests after it pin what the fuzzing found, one by one.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine import events, from_schema
from schemathesis.specs.openapi.checks import RejectedPositiveData
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from models.db import db
from models.workflow import InboxTask
from tests.conftest import bearer
from tests.snapshots import simulate_once

YEAR = 2012
MAX_EXAMPLES = 25
REVOKE = {"method": "DELETE", "path": "/v1/tokens/current"}
# What a task takes is the task's own form (the `form` schema of GET /v1/tasks/{id}) and its indicators,
# not what the document can say for every task: a schema-valid body may still be refused there (422).
TASK_DATA = {"/v1/tasks/{id}/complete", "/v1/tasks/{id}/evidence", "/v1/tasks/{id}/template"}


def _config(token: dict[str, str]) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": YEAR,
            "headers": token,
            "workers": 1,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "cache": {"enabled": False},
        }
    )


def _real(generated: Any, choices: list[Any]) -> Any:
    """One of `choices` for half the generated values (picked by the value, so the run stays derandomized)."""
    if not choices:
        return generated
    pick = int.from_bytes(hashlib.sha256(repr(generated).encode()).digest()[:4], "big") % (2 * len(choices))
    return choices[pick] if pick < len(choices) else generated


@pytest.fixture(autouse=True)
def _hypothesis_home(tmp_path) -> Iterator[None]:
    """Hypothesis's own caches (the codec's character map) go to the test's folder, not the checkout's."""
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:  # no line per request in the test's output
        pass


@pytest.fixture
def served(app) -> Iterator[str]:
    """The app on a free local port, in a thread: its base URL."""
    server = make_server("127.0.0.1", 0, app, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


def _schema(url: str, token: dict[str, str], task_ids: list[str]):
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", config=_config(token))

    @schema.hook
    def map_case(_context, case):
        path = case.meta.components.get(ParameterLocation.PATH) if case.meta is not None else None
        if path is None or path.mode != GenerationMode.POSITIVE:  # a path made invalid on purpose stays so
            return case
        if isinstance(case.path_parameters.get("id"), str):
            case.path_parameters["id"] = _real(case.path_parameters["id"], task_ids)
        if isinstance(case.path_parameters.get("year"), int):
            case.path_parameters["year"] = _real(case.path_parameters["year"], [YEAR])
        return case

    @schema.hook
    def filter_failure(_context, failure, case, response) -> bool:
        task_refused = case.operation.path in TASK_DATA and response.status_code == 422
        return not (isinstance(failure, RejectedPositiveData) and task_refused)

    return schema


def _run(schema) -> tuple[list[str], Counter[tuple[str, int]]]:
    """Each distinct failure (operation, check, title) with a request that shows it, and engine errors;
    and how often each operation answered each status."""
    found: dict[tuple[str, str, str], str] = {}
    answers: Counter[tuple[str, int]] = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    answers[(event.label, interaction.response.status_code)] += 1
            for case_id, nodes in event.recorder.checks.items():
                for node in nodes:
                    if node.failure_info is None:
                        continue
                    failure = node.failure_info.failure
                    interaction = event.recorder.interactions.get(case_id)
                    response = interaction.response if interaction is not None else None
                    answer = f"{response.status_code} {response.content[:300]!r}" if response else "no answer"
                    found.setdefault(
                        (event.label, node.name, failure.title),
                        f"{event.label}: {node.name}: {failure.title}: {failure.message[:300]}\n"
                        f"    {node.failure_info.code_sample[:400]}\n    -> {answer}",
                    )
        elif isinstance(event, events.NonFatalError):
            found.setdefault((event.label, "error", ""), f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return list(found.values()), answers


def _task_ids(app, token: dict[str, str]) -> list[str]:
    """The caller's open and completed tasks, and a few of others (a 403)."""
    client = app.test_client()
    mine = [
        task["id"]
        for status in ("open", "completed")
        for task in client.get(f"/api/v1/tasks?status={status}", headers=token).get_json()["tasks"][:5]
    ]
    with app.app_context():
        others = db.session.scalars(
            select(InboxTask.task_guid)
            .where(InboxTask.task_guid.not_in(mine))
            .order_by(InboxTask.id)
            .limit(3)
        ).all()
    return [*mine, *others]


# hypothesis's notice that a generated case is long to print (the engine's own repr of it), not our code's
LONG_REPR = "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"


@pytest.mark.filterwarnings(LONG_REPR)
@pytest.mark.parametrize("caller", ["dalian", "office"])
def test_the_api_answers_every_request_as_its_document_says(app, demo, served, caller):
    with app.app_context():
        simulate_once(YEAR, 5, stop_at="round.self_report")
    token = bearer(app.test_client(), caller)
    task_ids = _task_ids(app, token)
    assert len(task_ids) > 3, "the caller has tasks of its own to fuzz"

    findings, answers = _run(_schema(served, token, task_ids).exclude(**REVOKE))

    assert not findings, "\n".join(findings)
    assert answers[("GET /v1/tasks/{id}", 200)] and answers[("GET /v1/years/{year}/results", 200)], (
        "real data"
    )
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 200, "the run's token lived"


@pytest.mark.filterwarnings(LONG_REPR)
def test_revoking_the_current_token_answers_as_the_document_says(app, demo, served):
    throwaway = bearer(app.test_client(), "dalian")

    findings, answers = _run(_schema(served, throwaway, []).include(**REVOKE))

    assert not findings, "\n".join(findings)
    assert answers[("DELETE /v1/tokens/current", 204)] == 1, "revoked once, then refused (401)"
    assert app.test_client().get("/api/v1/me", headers=throwaway).status_code == 401, "it was revoked"


# ---------------------------------------------------------------- what the fuzzing found, one by one


def test_starting_a_year_outside_2000_to_2999_is_a_404_not_a_500(app, demo):
    office = bearer(app.test_client(), "office")
    for year in (3000, 2147483647):
        response = app.test_client().post(f"/api/v1/years/{year}/cycle", headers=office)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found", year


def test_a_number_beyond_its_column_in_a_path_is_a_404_for_every_method(app, demo):
    office = bearer(app.test_client(), "office")
    for method, url in (
        ("POST", "/api/v1/years/2147483648/cycle"),
        ("POST", "/api/v1/processes/9999999999/migration"),
    ):
        response = app.test_client().open(url, method=method, headers=office, json={"definition_id": 1})
        assert response.status_code == 404, (method, url, response.status_code)


def test_a_definition_id_written_as_a_whole_float_is_that_integer(app, demo):
    admin = bearer(app.test_client(), "admin")
    response = app.test_client().get("/api/v1/processes/1/migration?definition_id=1", headers=admin)
    moved = app.test_client().post(
        "/api/v1/processes/1/migration", headers=admin, json={"definition_id": 1.0}
    )
    assert moved.status_code == response.status_code == 404, "no such instance: the id was read, not refused"
    refused = app.test_client().post(
        "/api/v1/processes/1/migration", headers=admin, json={"definition_id": 1.5}
    )
    assert refused.status_code == 422 and "definition_id" in refused.get_json()["error"]["fields"]


def test_the_document_bounds_every_input_and_names_the_shared_errors(client):
    document = client.get("/api/openapi.json").get_json()
    year = document["paths"]["/v1/years/{year}/cycle"]["parameters"][0]["schema"]
    assert year == {"type": "integer", "minimum": 0, "maximum": 2147483647}
    revoke = document["paths"]["/v1/tokens/current"]["delete"]["responses"]
    assert "401" in revoke and "404" not in revoke and "422" not in revoke
    complete = document["paths"]["/v1/tasks/{id}/complete"]["post"]
    assert {"401", "404", "413", "422"} <= set(complete["responses"])
    data = complete["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert data["additionalProperties"] == {"$ref": "#/components/schemas/Storable"}
    login = document["paths"]["/v1/tokens"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert login["properties"]["username"]["minLength"] == 1


def test_a_query_parameter_given_twice_is_refused_not_read_as_its_first(app, demo):
    office = bearer(app.test_client(), "office")
    response = app.test_client().get("/api/v1/processes?year=&year=x", headers=office)
    assert response.status_code == 422 and list(response.get_json()["error"]["fields"]) == ["year"]
    assert app.test_client().get("/api/v1/processes?year=2012", headers=office).status_code == 200
