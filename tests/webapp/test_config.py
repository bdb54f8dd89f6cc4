"""Configuration layers: defaults → instance/config.py → JIXIAO_* environment → test overrides."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from models.db import db
from webapp import create_app
from webapp.config import ConfigError, from_environment

GOOD_KEY = "a-real-secret-key-for-this-test-0123"


@pytest.fixture
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("JIXIAO_INSTANCE_PATH", str(tmp_path))
    for name in ("JIXIAO_SECRET_KEY", "JIXIAO_DATABASE_URL", "JIXIAO_ENV", "JIXIAO_DEFAULT_SCHEME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_defaults_use_a_sqlite_file_in_the_instance_folder(instance):
    app = create_app({"SECRET_KEY": GOOD_KEY})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance}/jixiao.sqlite"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_CN"
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_instance_file_overrides_defaults_and_environment_overrides_the_file(instance, monkeypatch):
    (instance / "config.py").write_text(
        f"SECRET_KEY = {GOOD_KEY!r}\nDEFAULT_SCHEME = 'from-file'\nLOGIN_PAIR_FREE_FAILURES = 7\n"
    )
    app = create_app()
    assert app.config["SECRET_KEY"] == GOOD_KEY
    assert app.config["DEFAULT_SCHEME"] == "from-file"

    monkeypatch.setenv("JIXIAO_DEFAULT_SCHEME", "from-env")
    monkeypatch.setenv("JIXIAO_DATABASE_URL", "sqlite:////tmp/elsewhere.sqlite")
    app = create_app()
    assert app.config["DEFAULT_SCHEME"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/elsewhere.sqlite"
    assert app.config["LOGIN_PAIR_FREE_FAILURES"] == 7

    app = create_app({"DEFAULT_SCHEME": "from-test"})
    assert app.config["DEFAULT_SCHEME"] == "from-test"


def test_environment_values_are_typed():
    env = {
        "JIXIAO_SESSION_COOKIE_SECURE": "true",
        "JIXIAO_LOGIN_PAIR_FREE_FAILURES": "9",
        "JIXIAO_SECRET_KEY": "12345",
        "PATH": "/bin",
    }
    assert from_environment(env) == {
        "SESSION_COOKIE_SECURE": True,
        "LOGIN_PAIR_FREE_FAILURES": 9,
        "SECRET_KEY": "12345",
    }


@pytest.mark.parametrize("key", [None, "", "dev", "changeme", "short-key"])
def test_production_refuses_to_start_without_a_real_secret_key(instance, key):
    overrides = {} if key is None else {"SECRET_KEY": key}
    with pytest.raises(ConfigError, match="refuses to start in production without a real secret key"):
        create_app(overrides)


def test_development_runs_without_a_secret_key(instance, monkeypatch):
    monkeypatch.setenv("JIXIAO_ENV", "development")
    app = create_app()
    assert app.config["SECRET_KEY"]


def test_an_unknown_environment_name_is_refused(instance, monkeypatch):
    monkeypatch.setenv("JIXIAO_ENV", "staging")
    with pytest.raises(ConfigError, match="JIXIAO_ENV"):
        create_app({"SECRET_KEY": GOOD_KEY})


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(instance):
    app = create_app({"SECRET_KEY": GOOD_KEY})
    with app.app_context():
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.engine.dispose()


def test_responses_carry_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_oversized_requests_get_a_clear_413(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=1024)
    response = app.test_client().post("/login", data={"username": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "上传的内容过大" in response.get_data(as_text=True)
