"""Log in, log out, reset a forgotten password."""

from __future__ import annotations

from flask import Blueprint

from toolkit.accounts.models import User
from toolkit.extensions import db, login_manager

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The logged-in organizer, from the id kept in the session."""
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))
