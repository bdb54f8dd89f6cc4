"""The bell in the top bar, the list of a user's notifications, and marking them read."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models.db import utcnow
from webapp.domain import notifications as notification_service
from webapp.inputs import form_int, query_int
from webapp.lifecycle import page
from webapp.notifications import bp


def _safe_link(link: str) -> str | None:
    """Stored links are paths on this site; anything else is not followed."""
    if link.startswith("/") and not link.startswith(("//", "/\\")):
        return link
    return None


@bp.app_template_global("notification_bell")
def notification_bell() -> dict:
    """The unread count and the latest few, once per request (the top bar renders on every page)."""
    if not current_user.is_authenticated:
        return {"count": 0, "latest": []}
    if "notification_bell" not in g:
        g.notification_bell = {
            "count": notification_service.unread_count(current_user),
            "latest": notification_service.latest(current_user),
        }
    return g.notification_bell


@bp.app_template_filter("notification_text")
def notification_text(notification) -> str:
    return notification_service.render(notification)


@bp.app_template_filter("notification_kind")
def notification_kind(kind: str) -> str:
    return notification_service.kind_title(kind)


@bp.route("/")
@login_required
@page
def index():
    page = max(query_int("page") or 1, 1)
    pagination = notification_service.list_page(current_user, page)
    return render_template("notifications/index.html", pagination=pagination)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
@page
def read(notification_id: int):
    """Mark one read; with `open`, go on to what it is about."""
    notification = notification_service.mark_read(notification_id, current_user, utcnow())
    target = _safe_link(notification.link) if request.form.get("open") else None
    if target:
        return redirect(target)
    page = max(form_int("page") or 1, 1)
    return redirect(url_for("notifications.index", page=page if page > 1 else None))


@bp.route("/read-all", methods=["POST"])
@login_required
@page
def read_all():
    notification_service.mark_all_read(current_user, utcnow())
    return redirect(url_for("notifications.index"))
