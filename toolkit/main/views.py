"""The home page: what the toolkit is for, the event, the letters."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from toolkit.events.catalog import event_view, get_event, list_events
from toolkit.extensions import db
from toolkit.i18n import current_language, page_locale
from toolkit.letters.catalog import get_catalog

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> str:
    """Home: the featured event and every letter one can write."""
    catalog = get_catalog(current_app.config["LETTER_TEMPLATES_DIR"]).in_language(
        current_language()
    )
    events = list_events(db.session)
    featured = get_event(db.session, current_app.config["DEFAULT_EVENT"])
    return render_template(
        "main/index.html",
        templates=list(catalog.templates.values()),
        events=[event_view(event, page_locale()) for event in events],
        featured=event_view(featured, page_locale()) if featured else None,
    )


@bp.get("/healthz")
def health() -> tuple[dict, int]:
    """For a reverse proxy: the app answers."""
    return {"status": "ok"}, 200
