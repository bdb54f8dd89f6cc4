"""View decorators for role checks; object-level checks live on the models (`can_view`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from models.org import Role


def roles_required(*roles: Role) -> Callable:
    """Signed-in users holding one of the roles pass; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_any_role(roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
