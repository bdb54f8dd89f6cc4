"""Shared fixtures: an app per test on one database per session, demo data, and signed-in clients.

The suite runs on SQLite by default and on PostgreSQL when JIXIAO_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from models import org
from models.db import db
from webapp import create_app
from workflows import engine, forms

DEMO_PASSWORD = "Demo-pass-2012!"
SECRET_KEY = "test-secret-key-0123456789abcdef"
WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"

# The suite signs in thousands of times: its password hashes are scrypt at 1/32 of the cost the product
# uses (about 3 ms instead of 0.1 s a check). What it was is kept for tests/models/test_passwords.py.
PRODUCT_PASSWORD_HASH_METHOD = org.PASSWORD_HASH_METHOD
org.PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


@event.listens_for(Engine, "connect")
def _commit_without_waiting_for_the_disk(dbapi_connection, _record) -> None:
    """On PostgreSQL a test's commit need not wait for the WAL to reach the disk (6.8 → 0.5 ms a commit
    here): what it gives up is durability across a crash of the server, which no test needs."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        dbapi_connection.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("JIXIAO_TEST_DATABASE_URL") or "sqlite:///" + str(
        tmp_path_factory.mktemp("db") / "test.sqlite"
    )


def make_app(database_url: str, instance_path, **overrides) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "DEMO_PASSWORD_FILE": str(instance_path / "demo-password.txt"),
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def _schema(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    app = make_app(database_url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url: str, _schema, tmp_path, monkeypatch) -> Iterator[Callable[..., Flask]]:
    """Build apps on the session's database; every table is emptied after the test."""
    monkeypatch.setenv("JIXIAO_INSTANCE_PATH", str(tmp_path))
    made: list[Flask] = []

    def build(**overrides) -> Flask:
        app = make_app(database_url, tmp_path, **overrides)
        made.append(app)
        return app

    yield build
    for app in made[:1]:
        with app.app_context():
            db.session.rollback()
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(app_factory) -> Flask:
    """The app, with no context pushed: each test-client request gets its own, as in production."""
    return app_factory()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context for tests that call services and models directly."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def demo(app: Flask):
    """Load the demo organisation, users and 2012 indicator system."""
    from tests.snapshots import load_demo_once
    from webapp.demo.load import load_demo

    with app.app_context():
        return load_demo_once(
            lambda: sorted(user.username for user in load_demo(DEMO_PASSWORD, "test").logins)
        )


@pytest.fixture
def login(app: Flask, demo) -> Callable[..., FlaskClient]:
    """Return a callable: login("shenyang") gives a test client signed in as that demo user."""

    def sign_in(username: str, password: str = DEMO_PASSWORD) -> FlaskClient:
        c = app.test_client()
        response = c.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, f"login of {username} failed: {response.status_code}"
        return c

    return sign_in


def deploy_workflows(at: datetime = datetime(2012, 1, 1, tzinfo=UTC)) -> None:
    """Deploy every diagram of workflows/ together, for every year (inside an app context; committed)."""
    for path in sorted(WORKFLOWS.glob("*.bpmn")):
        engine.deploy(path.read_bytes(), source_name=path.name, known_forms=forms.known_keys(), at=at)
    db.session.commit()


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf_token in the page"
    return match.group(1)


def bearer(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    """The Authorization header of a fresh API token for the demo user."""
    response = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
