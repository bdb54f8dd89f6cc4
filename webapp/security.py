"""Sessions (Flask-Login bound to server-side `UserSession` rows), the active role, and response headers."""

from __future__ import annotations

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user

from models.i18n import lazy_gettext as _l
from models.org import Role, User, UserSession
from webapp.domain.accounts import operations as accounts
from webapp.domain.accounts import sessions

# What a user who must replace a temporary password may still reach.
TEMPORARY_PASSWORD_ALLOWS = frozenset({"auth.change_password", "auth.logout", "static", "auth.set_language"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def active_role() -> Role | None:
    """The role the user is working in now: the one chosen in the top bar, else their first."""
    if not current_user.is_authenticated:
        return None
    roles = current_user.roles
    chosen = session.get("role")
    if chosen in roles:
        return Role(chosen)
    return roles[0] if roles else None


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(key: str) -> User | None:
        """The user of the open server-side session the cookie's key names (see `sign_in`)."""
        row = sessions.session_for_key(key, app.permanent_session_lifetime)
        g.user_session = row
        return row.user if row is not None else None

    @app.before_request
    def remember_role() -> None:
        g.active_role = active_role()

    @app.before_request
    def temporary_password_first():
        """A user holding an administrator's temporary password chooses their own before anything else."""
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in TEMPORARY_PASSWORD_ALLOWS
            and request.blueprint != "api"
        ):
            flash(_l("Choose your own password before you continue."), "warning")
            return redirect(url_for("auth.change_password"))
        return None

    @app.context_processor
    def inject_role() -> dict:
        return {"active_role": g.get("active_role"), "Role": Role}

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        hsts = app.config.get("STRICT_TRANSPORT_SECURITY")  # set only when served over HTTPS
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", hsts)
        return response


def sign_in(user: User) -> None:
    """Start a server-side session for the user and sign this browser into it: the cookie carries
    the session's key, not the user's id, so ending the session refuses every copy of the cookie."""
    key, row = sessions.start_session(user, address=request.remote_addr, user_agent=request.user_agent.string)
    login_user(user)
    session["_user_id"] = key  # in place of user.get_id(): what load_user reads
    g.user_session = row


def current_session() -> UserSession | None:
    """The server-side session of this request's signed-in user, if any."""
    if not current_user.is_authenticated:
        return None
    return g.get("user_session")


def throttle_policy() -> accounts.ThrottlePolicy:
    """The login slow-down's settings, for the sign-in page and the token endpoint alike."""
    cfg = current_app.config
    return accounts.ThrottlePolicy(
        window_seconds=cfg["LOGIN_FAILURE_WINDOW"],
        pair_free_failures=cfg["LOGIN_PAIR_FREE_FAILURES"],
        pair_base_delay_seconds=cfg["LOGIN_PAIR_BASE_DELAY"],
        max_delay_seconds=cfg["LOGIN_MAX_DELAY"],
        address_max_failures=cfg["LOGIN_ADDRESS_MAX_FAILURES"],
        account_busy_failures=cfg["LOGIN_ACCOUNT_BUSY_FAILURES"],
        account_delay_seconds=cfg["LOGIN_ACCOUNT_DELAY"],
    )
