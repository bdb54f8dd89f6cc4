"""Locale and time zone: Chinese by default, English on request, times in Asia/Shanghai."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_datetime

from models.rules.scoring import display
from webapp.extensions import babel
from webapp.numbering import points

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
API_PREFIX = "/api/"  # the task API's clients carry no session: they say their language per request


def select_locale() -> str:
    """The web's chosen language (the session), the API client's Accept-Language; else Chinese."""
    if has_request_context() and request.path.startswith(API_PREFIX):
        return asked_language(request.accept_languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def asked_language(accepted: Iterable[tuple[str, float]]) -> str | None:
    """The first language the client accepts (best quality first) that we speak, by its primary tag:
    "zh", "zh-TW" and "zh-CN" are our Chinese, "en-GB" our English (werkzeug's best_match would take
    "en;q=0.5" over "zh;q=0.9" for want of an exact "zh_CN")."""
    ours = current_app.config["LANGUAGES"]
    for tag, quality in accepted:
        primary = tag.replace("_", "-").split("-")[0].lower()
        if quality <= 0:
            continue
        if primary == "*":
            return None
        for language in ours:
            if language.split("_")[0].lower() == primary:
                return language
    return None


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.jinja_env.globals["current_locale"] = select_locale
    app.jinja_env.filters["points"] = points
    app.jinja_env.filters["score"] = lambda value: (
        f"{display(Decimal(str(value))):.2f}" if value not in (None, "") else ""
    )
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )
