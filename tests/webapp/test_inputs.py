"""No input gives a 500 (issue 14, item 2): the inputs an outside tester sends, generated for every route
of the URL map and every field type of every task form and web form.

- integers beyond an Integer column in a path (404) or a query (422 naming it, or the page's own 400);
- a NUL in a path (404) or a query (422); NUL and unpaired surrogates in every text field (named);
- sNaN, NaN, Infinity, 1e999 and a third decimal in every decimal field (named);
- JSON nested 1 000 deep (422), over the size limit (413), with NaN, huge integers or surrogates (422),
  on every JSON route, signed in or not;
- a grid with a repeated row (422 naming the row), and drafts held to completion's limits.

Written for both databases: the NUL is PostgreSQL's 500, and the checks stand before the database.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from flask_wtf import FlaskForm as _FlaskForm
from sqlalchemy import select
from wtforms import DecimalField, FieldList, FormField
from wtforms.fields.core import UnboundField

from models.db import db
from models.scheme import Indicator, SchemeYear
from models.workflow import InboxTask, TaskStatus
from tests.conftest import bearer
from tests.snapshots import simulate_once
from webapp.forms import FlaskForm
from webapp.inputs import INT_MAX, json_too_deep
from workflows import forms
from workflows.forms.values import FormData

BIG = [INT_MAX + 1, 2**63, 2**64]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNSTORABLE = ["a\x00b", "a\ud800b"]
BAD_DECIMALS = ["sNaN", "NaN", "-Infinity", "Infinity", "1e999", "999.999", "0.001"]


def _url(rule, **values) -> str:
    """The rule's path with each argument given (ints as numbers, the rest as text)."""
    path = rule.rule
    for name, converter in rule._converters.items():
        value = values.get(name, values.get(type(converter).__name__, "x"))
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
    return path


def _int_args(rule) -> list[str]:
    return [name for name, c in rule._converters.items() if type(c).__name__ == "BoundedInt"]


@pytest.fixture
def clients(app, login):
    """The office signed in (pages), and its bearer token (API)."""
    office = login("office")
    return office, bearer(app.test_client(), "office")


def _send(client, headers, method, url, **kwargs):
    return client.open(url, method=method, headers=headers if url.startswith("/api/") else None, **kwargs)


# ---------------------------------------------------------------- integers and text in paths and queries


def test_an_integer_beyond_its_column_in_any_path_is_a_404(app, clients):
    office, token = clients
    rules = [r for r in app.url_map.iter_rules() if _int_args(r)]
    assert len(rules) >= 19
    for rule in rules:
        for big in BIG:
            url = _url(rule, **dict.fromkeys(_int_args(rule), big))
            for method in sorted(rule.methods & set(METHODS)):
                response = _send(office, token, method, url)
                assert response.status_code in (404, 405), (method, url, response.status_code)


def _get_rules(app):
    return [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]


def test_a_query_integer_beyond_its_column_is_refused_on_every_page(app, clients):
    office, token = clients
    query = "&".join(f"{name}={2**64}" for name in ("year", "page", "version", "with", "definition_id"))
    for rule in _get_rules(app):
        url = _url(rule, year=2012, BoundedInt=1)
        response = _send(office, token, "GET", f"{url}?{query}")
        assert response.status_code < 500, (url, response.status_code)
    for url, name in (
        ("/api/v1/tasks", "year"),
        ("/api/v1/processes", "year"),
        ("/api/v1/processes/1/migration", "definition_id"),
    ):
        for big in BIG:
            refused = office.get(f"{url}?{name}={big}", headers=token)
            assert refused.status_code == 422, (url, refused.status_code)
            assert name in refused.get_json()["error"]["fields"]
    assert office.get(f"/notifications/?page={2**64}").status_code == 422
    assert office.get(f"/inbox/?page={2**64}").status_code == 400
    assert office.get(f"/indicators/2012/compare?with={2**64}").status_code == 422


def test_a_nul_in_a_path_is_a_404_and_in_a_query_a_422_naming_it(app, clients):
    office, token = clients
    for rule in _get_rules(app):
        texts = [n for n in rule._converters if n not in _int_args(rule)]
        if texts:
            url = _url(rule, year=2012, BoundedInt=1, **dict.fromkeys(texts, "a%00b"))
            assert _send(office, token, "GET", url).status_code == 404, url
        url = _url(rule, year=2012, BoundedInt=1)
        response = _send(office, token, "GET", f"{url}?q=a%00b&process=%00")
        assert response.status_code in (404, 422), (url, response.status_code)
    refused = office.get("/api/v1/tasks?process=a%00b", headers=token)
    assert refused.status_code == 422 and "process" in refused.get_json()["error"]["fields"]


# ---------------------------------------------------------------- every field type of every form


def _form_classes(app) -> list[type]:
    """Every registered task form and every web form (the FlaskForms of the blueprints)."""
    found = {  # the product's forms (test modules register forms of their own in the session)
        d.form_class for d in forms.REGISTRY.values() if d.form_class.__module__.startswith("workflows.")
    }
    pending = [FlaskForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls not in (FlaskForm, _FlaskForm):
            found.add(cls)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__name__}")


def _leaves(form_class: type, prefix: str = ""):
    """(flat name, unbound field) of every leaf field; a grid is its first row."""
    for name in dir(form_class):  # as WTForms' FormMeta finds the fields
        unbound = getattr(form_class, name)
        if name.startswith("_") or not isinstance(unbound, UnboundField):
            continue
        if issubclass(unbound.field_class, FieldList):
            inner = unbound.args[0] if unbound.args else None
            if isinstance(inner, UnboundField) and issubclass(inner.field_class, FormField):
                yield from _leaves(inner.args[0], f"{prefix}{name}-0-")
            elif isinstance(inner, type):  # Rows(RowForm)
                yield from _leaves(inner, f"{prefix}{name}-0-")
            else:
                yield f"{prefix}{name}-0", unbound
        elif issubclass(unbound.field_class, FormField):
            yield from _leaves(unbound.args[0], f"{prefix}{name}-")
        else:
            yield f"{prefix}{name}", unbound


def _validated(form_class, data: dict[str, str]):
    form = form_class(formdata=FormData({k: [v] for k, v in data.items()}))
    form.validate()
    return form


def _cell(form, flat: str):
    """The bound field a flat name names (rows-0-score), building a grid's entries."""
    from workflows.forms.binding import _field

    return _field(form, flat)


def _holds(value, bad: str) -> bool:
    if isinstance(value, str):
        return bad in value
    if isinstance(value, list | tuple):
        return any(_holds(v, bad) for v in value)
    return False


def test_every_field_of_every_form_refuses_nul_and_unpaired_surrogates_naming_it(app):
    classes = _form_classes(app)
    assert len(classes) > 20
    types = set()
    with app.test_request_context():
        for form_class in classes:
            names = [n for n, _u in _leaves(form_class)]
            for bad in UNSTORABLE:
                form = _validated(form_class, dict.fromkeys(names, bad))
                for flat in names:
                    field = _cell(form, flat)
                    assert field is not None, (form_class.__name__, flat)
                    types.add(field.type)
                    label = str(field.label.text)
                    if _holds(field.data, bad) or _holds(field.raw_data, bad):
                        assert field.errors, (form_class.__name__, flat, "kept the bad text without a word")
                    if field.errors and _holds(field.raw_data, bad) and field.type != "FileField":
                        assert any(label in str(e) and "NUL" in str(e) for e in field.errors), (
                            form_class.__name__,
                            flat,
                            field.errors,
                        )
    assert {"StringField", "TextAreaField", "DisplayField", "SelectField", "DecimalField"} <= types


def test_every_decimal_field_takes_only_finite_numbers_with_its_places(app):
    decimals = [
        (form_class, flat)
        for form_class in _form_classes(app)
        for flat, unbound in _leaves(form_class)
        if issubclass(unbound.field_class, DecimalField)
    ]
    assert len(decimals) >= 2  # the indicator editor's weight, a declared indicator's proposed weight
    with app.test_request_context():
        for form_class, flat in decimals:
            for bad in BAD_DECIMALS:
                field = _cell(_validated(form_class, {flat: bad}), flat)
                assert field.errors and str(field.label.text) in str(field.errors[0]), (
                    flat,
                    bad,
                    field.errors,
                )
            field = _cell(_validated(form_class, {flat: "12.50"}), flat)
            assert field.data == Decimal("12.50") and not any("decimals" in str(e) for e in field.errors)


def test_the_indicator_editor_refuses_a_signalling_nan_and_a_third_decimal(app, login):
    office = login("office")
    page = office.get("/indicators/2012/indicator/I004").get_data(as_text=True)
    form = dict(re.findall(r'<input [^>]*name="(\w+)"[^>]*value="([^"]*)"', page))
    key_point = re.search(r'<option selected value="(\d+)"', page.split('name="key_point"')[1]).group(1)
    owner = re.search(r'<option selected value="(\w+)"', page.split('name="owner"')[1]).group(1)
    with app.app_context():
        before = db.session.scalar(select(Indicator.weight).where(Indicator.code == "I004"))
    for bad in BAD_DECIMALS:
        data = {"key_point": key_point, "name": form["name"], "weight": bad, "owner": owner}
        response = office.post("/indicators/2012/indicator/I004", data=data)
        assert response.status_code in (200, 422), (bad, response.status_code)
        assert "invalid-feedback" in response.get_data(as_text=True) or response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Indicator.weight).where(Indicator.code == "I004")) == before


# ---------------------------------------------------------------- JSON bodies


def _json_rules(app):
    return [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
    ]


def test_the_depth_scan_skips_strings_and_finds_the_nesting():
    assert json_too_deep(b"[" * 33 + b"]" * 33, 32)
    assert not json_too_deep(b'{"a": "' + b"[" * 5000 + b'"}', 32)
    assert not json_too_deep(json.dumps({"data": {"rows": [{"a": 1}] * 5000}}).encode(), 32)


def test_every_json_route_bounds_depth_size_and_values_signed_in_or_not(app, client):
    app.config["JSON_MAX_BYTES"] = 64 * 1024
    routes = _json_rules(app)
    assert any(rule.rule == "/api/v1/tokens" for rule, _m in routes) and len(routes) >= 10
    deep = "[" * 1000 + "]" * 1000
    for rule, method in routes:
        url = _url(rule, year=2012, BoundedInt=1)

        def send(body: str, url: str = url, method: str = method):
            return client.open(url, method=method, data=body, content_type="application/json")

        too_deep = send('{"data": ' + deep + "}")
        assert too_deep.status_code == 422 and too_deep.get_json()["error"]["code"] == "invalid", url
        too_large = send(json.dumps({"xml": "x" * (64 * 1024)}))
        assert too_large.status_code == 413 and too_large.get_json()["error"]["code"] == "too_large", url
        for body, place in (
            ('{"username": "a\\ud800b", "password": "x"}', "username"),
            ('{"data": {"rows": [{"narrative": "a\\u0000b"}]}}', "data-rows-0-narrative"),
            ('{"year": 18446744073709551616}', "year"),
            ('{"data": {"score": 1e999}}', "data-score"),
        ):
            refused = send(body)
            assert refused.status_code == 422, (url, body, refused.status_code)
            assert place in refused.get_json()["error"]["fields"], (url, refused.get_json())
        for body in ('{"score": NaN}', '{"score": -Infinity}'):
            assert send(body).status_code == 422, (url, body)


# ---------------------------------------------------------------- a grid: repeated rows, text, drafts


@pytest.fixture
def self_report(app, demo):
    """An open self-report of a city (117 rows), its user's name and the grid's rows as the page sends them."""
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.self_report")
        task = next(
            t
            for t in db.session.scalars(
                select(InboxTask).where(
                    InboxTask.form_key == "round.self_report", InboxTask.status == TaskStatus.OPEN
                )
            )
            if t.org.code == "dalian"
        )
        assert db.session.scalar(select(SchemeYear.year).where(SchemeYear.id == task.instance.scheme_year_id))
        return task.task_guid


def _rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(rows-\d+-(?:code|indicator))" value="([^"]*)"', page))


def test_a_repeated_row_in_a_grid_is_a_422_naming_the_row(app, login, self_report):
    client = login("dalian")
    data = {"action": "complete", **_rows(client.get(f"/tasks/{self_report}").get_data(as_text=True))}
    data.update({f"rows-{n}-completion": "100%" for n in range(117)})
    data["rows-5-code"] = data["rows-2-code"]  # row 6 names row 3's indicator again
    refused = client.post(f"/tasks/{self_report}", data=data)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and ("第 6 行与第 3 行重复" in text or "Row 6 repeats row 3" in text)
    token = bearer(app.test_client(), "dalian")
    rows = [{"code": data[f"rows-{n}-code"], "completion": "100%"} for n in range(117)]
    api = app.test_client().post(
        f"/api/v1/tasks/{self_report}/complete", json={"data": {"rows": rows}}, headers=token
    )
    assert api.status_code == 422 and "rows-5-code" in api.get_json()["error"]["fields"]
    with app.app_context():
        assert InboxTask.by_guid(self_report).status == TaskStatus.OPEN


def test_text_that_cannot_be_stored_is_named_on_its_cell(app, login, self_report):
    client = login("dalian")
    data = {"action": "complete", **_rows(client.get(f"/tasks/{self_report}").get_data(as_text=True))}
    data.update({f"rows-{n}-completion": "100%" for n in range(117)})
    data["rows-4-narrative"] = "完成\x00"
    refused = client.post(f"/tasks/{self_report}", data=data)
    assert refused.status_code == 422 and "NUL" in refused.get_data(as_text=True)
    data["action"] = "draft"
    assert client.post(f"/tasks/{self_report}", data=data).status_code == 422


def test_a_draft_obeys_the_limits_a_completion_does(app, login, self_report):
    client = login("dalian")
    data = {"action": "draft", **_rows(client.get(f"/tasks/{self_report}").get_data(as_text=True))}
    data["rows-0-narrative"] = "说" * (5 * 1024 * 1024 // 3)  # 5 MB of UTF-8
    refused = client.post(f"/tasks/{self_report}", data=data)
    assert refused.status_code == 422 and "2000" in refused.get_data(as_text=True)
    data["rows-0-narrative"] = "说" * 2001
    assert client.post(f"/tasks/{self_report}", data=data).status_code == 422
    token = bearer(app.test_client(), "dalian")
    rows = [{"code": data[f"rows-{n}-code"], "narrative": "说" * 2001 if n == 3 else ""} for n in range(117)]
    api = app.test_client().put(
        f"/api/v1/tasks/{self_report}/draft", json={"data": {"rows": rows}}, headers=token
    )
    assert api.status_code == 422 and list(api.get_json()["error"]["fields"]) == ["rows-3-narrative"]
    # what a draft is for still works: invalid input within the limits is kept as typed
    data["rows-0-narrative"] = "说" * 2000
    data["rows-1-completion"] = ""
    assert client.post(f"/tasks/{self_report}", data=data).status_code == 302
    with app.app_context():
        assert InboxTask.by_guid(self_report).draft["rows"][0]["narrative"] == "说" * 2000
