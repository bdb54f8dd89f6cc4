"""Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import config as config_module


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration layers, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("JIXIAO_INSTANCE_PATH") or None,
    )
    app.config.update(config_module.defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config_module.from_environment(os.environ))
    if test_config:
        app.config.update(test_config)
    config_module.finalize(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    from webapp import errors, i18n, inputs, security, templating
    from webapp.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(__file__), "migrations"),
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    csrf.init_app(app)
    i18n.init_app(app)
    security.init_app(app, login_manager)
    errors.init_app(app)
    inputs.init_app(app)  # the bounded <int:> converter, before any route is added
    templating.init_app(app)

    from webapp.admin import bp as admin_bp
    from webapp.api import bp as api_bp
    from webapp.auth import bp as auth_bp
    from webapp.cycle import bp as cycle_bp
    from webapp.evidence import bp as evidence_bp
    from webapp.help import bp as help_bp
    from webapp.home import bp as home_bp
    from webapp.inbox import bp as inbox_bp
    from webapp.indicators import bp as indicators_bp
    from webapp.monitor import bp as monitor_bp
    from webapp.notifications import bp as notifications_bp
    from webapp.orgs import bp as orgs_bp
    from webapp.results import bp as results_bp
    from webapp.tasks import bp as tasks_bp

    csrf.exempt(api_bp)  # bearer tokens, not cookies: nothing for a forged cross-site form to ride on
    for bp in (
        auth_bp,
        home_bp,
        inbox_bp,
        tasks_bp,
        cycle_bp,
        monitor_bp,
        evidence_bp,
        orgs_bp,
        indicators_bp,
        results_bp,
        admin_bp,
        notifications_bp,
        help_bp,
        api_bp,
    ):
        app.register_blueprint(bp)

    from webapp.cli import register_commands
    from webapp.domain.register import register_all

    register_all()

    register_commands(app)
    if app.config["PROXIES"]:
        # the client's address and scheme as the trusted proxies forwarded them (config.proxies)
        count = app.config["PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]
    return app
