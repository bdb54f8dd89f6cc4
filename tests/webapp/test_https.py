"""Served over HTTPS (JIXIAO_HTTPS): Strict-Transport-Security on every response and session and
remember cookies marked Secure (and SameSite); none of it on the plain-http default."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD
from webapp.config import https

HSTS = "max-age=31536000; includeSubDomains"


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_https_is_off_by_default_for_the_http_dev_server(app, demo):
    assert not app.config["HTTPS"] and not app.config["SESSION_COOKIE_SECURE"]
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    signed_in = client.post("/login", data={"username": "office", "password": DEMO_PASSWORD})
    [cookie] = [c for c in _set_cookies(signed_in) if c.startswith("session=")]
    assert "Secure" not in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie


def test_https_sends_hsts_and_secure_cookies(app_factory, demo):
    app = app_factory(HTTPS=True)
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    client, tls = app.test_client(), "https://localhost"
    assert client.get("/login", base_url=tls).headers["Strict-Transport-Security"] == HSTS
    assert client.get("/api/no-such-thing", base_url=tls).headers["Strict-Transport-Security"] == HSTS
    signed_in = client.post("/login", base_url=tls, data={"username": "office", "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302
    [cookie] = [c for c in _set_cookies(signed_in) if c.startswith("session=")]
    assert "Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize(
    ("raw", "on"),
    [
        ("1", True),
        (1, True),
        ("true", True),
        ("yes", True),
        ("0", False),
        (0, False),
        ("false", False),
        ("", False),
    ],
)
def test_the_https_setting_reads_yes_and_no(raw, on):
    config = {"HTTPS": raw, "HSTS_MAX_AGE": 31536000, "HSTS_INCLUDE_SUBDOMAINS": True}
    https(config)
    assert config["HTTPS"] is on
    assert config["STRICT_TRANSPORT_SECURITY"] == (HSTS if on else None)


def test_hsts_age_and_subdomains_are_settings():
    config = {"HTTPS": True, "HSTS_MAX_AGE": 600, "HSTS_INCLUDE_SUBDOMAINS": False}
    https(config)
    assert config["STRICT_TRANSPORT_SECURITY"] == "max-age=600"
