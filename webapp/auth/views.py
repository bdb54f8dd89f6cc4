from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from models.i18n import lazy_gettext as _l
from models.org import Role
from webapp.auth import bp
from webapp.auth.forms import LoginForm, PasswordForm
from webapp.domain import errors
from webapp.domain.accounts import operations as accounts
from webapp.domain.accounts import sessions, tokens
from webapp.lifecycle import page
from webapp.security import current_session, sign_in, throttle_policy


def safe_next(target: str | None) -> str:
    """Only follow same-site relative paths after login."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@page
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.username.data, form.password.data, request.remote_addr or "unknown", throttle_policy()
            )
        except errors.Throttled as exc:
            if exc.details.get("rule") == "address":
                message = _l(
                    "Too many wrong passwords from this address. "
                    "Please wait %(seconds)d seconds before trying again.",
                    seconds=exc.retry_after,
                )
            else:
                message = _l(
                    "Too many wrong passwords for this account from this address. "
                    "Please wait %(seconds)d seconds before trying again.",
                    seconds=exc.retry_after,
                )
            form.form_errors.append(message)
            response = render_template("auth/login.html", form=form)
            return response, 429, {"Retry-After": str(exc.retry_after)}
        if user is not None:
            session.clear()
            sign_in(user)
            return redirect(safe_next(request.args.get("next")))
        form.form_errors.append(_l("The username or password is not correct."))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@page
def logout():
    signed_in = current_session()
    if signed_in is not None:
        sessions.end_session(signed_in)  # on the server: a copy of the cookie is refused too
    logout_user()
    session.clear()
    flash(_l("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@page
def change_password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                form.confirm_password.data,
                keep=current_session(),
            )
        except errors.Invalid as exc:
            for name, messages in exc.fields.items():
                getattr(form, name).errors.extend(messages)
            status = 400
        else:
            flash(
                _l(
                    "Your password has been changed. Your other sessions have been signed out and "
                    "your API tokens revoked."
                ),
                "success",
            )
            return redirect(url_for("home.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form, min_length=accounts.MIN_PASSWORD_LENGTH), status


@bp.route("/account")
@login_required
@page
def account():
    lifetime = current_app.permanent_session_lifetime
    return render_template(
        "auth/account.html",
        sessions=sessions.open_sessions(current_user, lifetime),
        this_session=current_session(),
        tokens=tokens.tokens_of(current_user),
    )


@bp.route("/account/sessions/<int:session_id>/revoke", methods=["POST"])
@login_required
@page
def revoke_session(session_id: int):
    row = sessions.find_session(current_user, session_id)
    sessions.revoke_session(current_user, row)
    if row is current_session():
        logout_user()
        session.clear()
        flash(_l("You have signed out."), "info")
        return redirect(url_for("auth.login"))
    flash(_l("That session has been signed out."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/sessions/revoke-all", methods=["POST"])
@login_required
@page
def sign_out_everywhere():
    sessions.sign_out_everywhere(current_user)
    logout_user()
    session.clear()
    flash(_l("You have signed out everywhere."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
@page
def revoke_token(token_id: int):
    tokens.revoke_token(current_user, tokens.find_token(current_user, token_id))
    flash(_l("The API token has been revoked."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/tokens/revoke-all", methods=["POST"])
@login_required
@page
def revoke_all_tokens():
    revoked = tokens.revoke_all_tokens(current_user)
    flash(_l("API tokens revoked: %(n)d.", n=revoked), "success")
    return redirect(url_for("auth.account"))


@bp.route("/lang/<code>")
@page
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


@bp.route("/role/<code>", methods=["POST"])
@login_required
@page
def set_role(code: str):
    try:
        role = Role(code)
    except ValueError:
        abort(404)
    if not current_user.has_role(role):
        abort(403)
    session["role"] = role.value
    return redirect(url_for("home.index"))
