"""The API's URLs answer every error as JSON in the API's shape ({"error": {"code", "message",
"fields"}}), a 405 with `Allow` (TRACE included); the pages keep the friendly error page."""

from __future__ import annotations

import pytest

from tests.conftest import bearer


def _error(response) -> dict:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    return response.get_json()["error"]


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing", "/api/nothing/here", "/api", "/api/v1/tasks/x/y/z"]
)
def test_an_api_url_no_route_matches_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "not_found" and error["fields"] == {}
    assert error["message"] == "API 中没有该资源。"


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH"])
def test_a_method_an_api_url_does_not_take_is_a_json_405_with_allow(client, method):
    response = client.open("/api/openapi.json", method=method)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed == {"GET", "HEAD", "OPTIONS"}
    error = _error(response)
    assert error["code"] == "method_not_allowed"
    assert set(error["allowed_methods"]) == allowed
    assert error["message"] == "该资源不允许使用此请求方法。"


def test_trace_on_a_token_route_says_what_it_allows(client):
    response = client.open("/api/v1/tokens", method="TRACE")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert "TRACE" not in response.headers["Allow"]
    assert _error(response)["code"] == "method_not_allowed"


def test_an_unknown_task_with_a_token_is_still_the_apis_own_404(app, demo):
    client = app.test_client()
    response = client.get("/api/v1/tasks/no-such-guid", headers=bearer(client, "office"))
    assert response.status_code == 404 and "code" in _error(response)


def test_pages_keep_the_friendly_error_page(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "您访问的页面不存在" in missing.get_data(as_text=True)
    traced = client.open("/login", method="TRACE")
    assert traced.status_code == 405 and traced.mimetype == "text/html"
    assert {m.strip() for m in traced.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS", "POST"}


def test_a_path_that_only_starts_like_the_api_is_a_page(client):
    response = client.get("/apixyz")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_routing_errors_match_the_documents_error_schema(client):
    from jsonschema import Draft202012Validator

    schema = client.get("/api/openapi.json").get_json()["components"]["schemas"]["Error"]
    for response in (client.get("/api/v1/nothing"), client.open("/api/v1/tokens", method="TRACE")):
        assert not list(Draft202012Validator(schema).iter_errors(response.get_json())), response.status
