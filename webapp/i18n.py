"""Locale and time zone: Chinese by default, English on request, times in Asia/Shanghai."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_datetime

from models.rules.scoring import display
from webapp.extensions import babel
from webapp.numbering import points

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def select_locale() -> str:
    chosen = session.get("lang") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


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
