"""Who may see organizer pages: 302 to login for the anonymous, 403 for a role that may not."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user, login_required

from toolkit.accounts.models import Role

F = TypeVar("F", bound=Callable)


def role_required(*roles: Role) -> Callable[[F], F]:
    """Allow logged-in accounts with one of these roles; others get 403."""
    allowed = {role.value for role in roles}

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: object, **kwargs: object):  # noqa: ANN202 - a view's return
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


organizer_required = role_required(Role.ORGANIZER, Role.ADMIN)
admin_required = role_required(Role.ADMIN)
