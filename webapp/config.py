"""Layered configuration: defaults → instance/config.py → JIXIAO_* environment → test overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ENV_PREFIX = "JIXIAO_"

# Values no production server may run with.
WEAK_SECRET_KEYS = frozenset({"", "dev", "development", "secret", "changeme", "change-me", "test"})
DEV_SECRET_KEY = "jixiao-development-only-secret-key"  # noqa: S105 - used only when ENV=development
MIN_SECRET_KEY_LENGTH = 16


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message says which and what to do."""


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "ENV": "production",
        "SECRET_KEY": None,
        "DATABASE_URL": "sqlite:///" + str(Path(instance_path) / "jixiao.sqlite"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": False,
        # Served over HTTPS (JIXIAO_HTTPS=true; off for the http dev server): cookies only over TLS,
        # https links, and Strict-Transport-Security for HSTS_MAX_AGE seconds (subdomains too).
        "HTTPS": False,
        "HSTS_MAX_AGE": 365 * 24 * 3600,
        "HSTS_INCLUDE_SUBDOMAINS": True,
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host (JIXIAO_PROXIES=1
        # behind one nginx). With 0 those headers are ignored; behind a proxy, leaving it 0 makes every
        # user one address to the login slow-down and the session list.
        "PROXIES": 0,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Larger requests are refused with 413 before they are read (evidence files are at most 10 MB).
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "DEFAULT_SCHEME": "ln-cities",
        # The login slow-down (docs/architecture.md, "Life of a request"). It slows an account down
        # only from the addresses that failed for it, so it can never lock a user out from elsewhere.
        # Failures count within this many seconds:
        "LOGIN_FAILURE_WINDOW": 15 * 60,
        # One account from one address: after n ≥ LOGIN_PAIR_FREE_FAILURES failures the next attempt
        # waits LOGIN_PAIR_BASE_DELAY × 2^(n − LOGIN_PAIR_FREE_FAILURES) s (1, 2, 4, … s), at most
        # LOGIN_MAX_DELAY.
        "LOGIN_PAIR_FREE_FAILURES": 3,
        "LOGIN_PAIR_BASE_DELAY": 1,
        "LOGIN_MAX_DELAY": 15 * 60,
        # One address, across accounts: this many failures refuse it until the window drops it below.
        "LOGIN_ADDRESS_MAX_FAILURES": 100,
        # One account, from all addresses: this many failures mean it is under attack, and then an
        # address that has failed for it waits at least LOGIN_ACCOUNT_DELAY seconds between attempts.
        # An address with no failures for it still has the right password accepted.
        "LOGIN_ACCOUNT_BUSY_FAILURES": 20,
        "LOGIN_ACCOUNT_DELAY": 30,
        "DEMO_PASSWORD": None,
        "DEMO_PASSWORD_FILE": str(Path(instance_path) / "demo-password.txt"),
        # E-mail copies of notifications go out only when MAIL_SERVER is set (JIXIAO_MAIL_SERVER, …).
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_USE_TLS": False,
        "MAIL_FROM": None,
        "MAIL_BASE_URL": "",  # e.g. https://jixiao.example.gov.cn, for absolute links in e-mails
        # Days off besides weekends (ISO dates; a list, or comma-separated in JIXIAO_HOLIDAYS): the
        # monitor's "red 2 working days after the deadline" skips them.
        "HOLIDAYS": [],
    }


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """Read JIXIAO_* variables; 'true'/'false' and integers are converted, everything else stays text."""
    values: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "TEST_DATABASE_URL":
            continue
        name = key[len(ENV_PREFIX) :]
        lowered = raw.strip().lower()
        if lowered in {"true", "false"}:
            values[name] = lowered == "true"
        elif raw.strip().isdigit() and name not in {"SECRET_KEY", "DEMO_PASSWORD", "MAIL_PASSWORD"}:
            values[name] = int(raw.strip())
        else:
            values[name] = raw
    return values


def holidays(config: Mapping[str, Any]) -> frozenset[date]:
    """HOLIDAYS as dates: a list, or ISO dates separated by commas (JIXIAO_HOLIDAYS)."""
    configured = config.get("HOLIDAYS") or []
    if isinstance(configured, str):
        configured = configured.split(",")
    return frozenset(date.fromisoformat(str(d).strip()) for d in configured if str(d).strip())


def _flag(value: Any) -> bool:
    """A yes/no setting: true, 1, yes, on (any case), or a truthy Python value."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def https(config: dict[str, Any]) -> None:
    """Behind HTTPS: Secure session and remember cookies, https URLs, and the HSTS header's value
    (STRICT_TRANSPORT_SECURITY, sent by webapp.security); none of it over plain http."""
    config["HTTPS"] = _flag(config.get("HTTPS"))
    if not config["HTTPS"]:
        config["STRICT_TRANSPORT_SECURITY"] = None
        return
    config["PREFERRED_URL_SCHEME"] = "https"
    config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = True
    hsts = f"max-age={int(config['HSTS_MAX_AGE'])}"
    config["STRICT_TRANSPORT_SECURITY"] = hsts + (
        "; includeSubDomains" if config["HSTS_INCLUDE_SUBDOMAINS"] else ""
    )


def proxies(config: dict[str, Any]) -> None:
    """PROXIES as a whole number of trusted proxies, or a sentence saying what it must be."""
    value = config.get("PROXIES") or 0
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0 or count > 5 or isinstance(value, bool):
        raise ConfigError(
            f"JIXIAO_PROXIES must be the number of reverse proxies in front of the app (0 to 5), not {value!r}."
        )
    config["PROXIES"] = count


def finalize(config: dict[str, Any]) -> None:
    """Derive the settings extensions read and refuse unsafe ones with a sentence."""
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    https(config)
    proxies(config)
    env = config.get("ENV")
    if env not in {"production", "development"}:
        raise ConfigError(f"JIXIAO_ENV must be 'production' or 'development', not {env!r}.")
    key = config.get("SECRET_KEY")
    if not key and env == "development":
        config["SECRET_KEY"] = DEV_SECRET_KEY
        return
    if config.get("TESTING"):
        return
    if not key or str(key).strip().lower() in WEAK_SECRET_KEYS or len(str(key)) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            "Jixiao refuses to start in production without a real secret key: set JIXIAO_SECRET_KEY "
            f"(or SECRET_KEY in instance/config.py) to a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters, e.g. the output of `python3 -c 'import secrets; print(secrets.token_hex(32))'`, "
            "or set JIXIAO_ENV=development on a developer machine."
        )
    if key == DEV_SECRET_KEY:
        raise ConfigError("The development secret key cannot be used in production; set JIXIAO_SECRET_KEY.")
