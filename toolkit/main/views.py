"""The home page: what the toolkit is for, the event, the letters."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

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
def health() -> Response:
    """For the proxy or load balancer: 200 when this process reaches its database (and Redis,
    when configured), else 503 naming the part that fails, so traffic goes to a process that
    works. Cheap enough to be asked every few seconds: a SELECT 1 and a PING, nothing more."""
    parts = {"database": _database_answers()}
    if current_app.config.get("REDIS_URL"):
        parts["redis"] = _redis_answers()
    healthy = all(state == "ok" for state in parts.values())
    response = jsonify({"status": "ok" if healthy else "unavailable", **parts})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"  # a cached "ok" would hide an outage
    return response


def _database_answers() -> str:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        current_app.logger.warning("health: the database does not answer: %s", exc)
        return "unreachable"
    return "ok"


def _redis_answers() -> str:
    from redis import Redis  # noqa: PLC0415 - only sites with Redis need it
    from redis.exceptions import RedisError  # noqa: PLC0415

    client = current_app.extensions.get("toolkit.health_redis")
    if client is None:  # one client per app; short timeouts, so a dead Redis answers quickly
        client = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=1,
                                socket_timeout=1)  # fmt: skip
        current_app.extensions["toolkit.health_redis"] = client
    try:
        client.ping()
    except RedisError as exc:
        current_app.logger.warning("health: Redis does not answer: %s", exc)
        return "unreachable"
    return "ok"
