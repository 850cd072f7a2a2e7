"""/healthz for the proxy: 200 when the database (and Redis, when set) answers, else 503 naming
the part that fails; never cached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import base_config, require
from toolkit import create_app
from toolkit.extensions import db

REDIS_URL = os.environ.get("TOOLKIT_TEST_RATELIMIT_REDIS_URL", "redis://127.0.0.1:6379/6")


def redis_reachable() -> str | None:
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        return None
    except RedisError as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    finally:
        client.close()


def health(app):
    response = app.test_client().get("/healthz")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers
    return response.status_code, response.get_json()


def test_healthy_on_each_database(app):
    assert health(app) == (200, {"status": "ok", "database": "ok"})


def test_redis_is_checked_when_configured(app):
    problem = redis_reachable()
    require(problem is None, problem or "")
    app.config["REDIS_URL"] = REDIS_URL
    assert health(app) == (200, {"status": "ok", "database": "ok", "redis": "ok"})


def test_an_unreachable_redis_makes_it_503(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/6"  # nothing listens on port 1
    assert health(app) == (503, {"status": "unavailable", "database": "ok",
                                 "redis": "unreachable"})  # fmt: skip


@pytest.mark.parametrize(
    "database_url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/test", "sqlite:////nonexistent-folder/x.sqlite3"],
    ids=["postgresql-down", "sqlite-unopenable"],
)
def test_an_unreachable_database_makes_it_503(database_url: str, tmp_path: Path):
    app = create_app(base_config(database_url, tmp_path))
    try:
        status, body = health(app)
        assert (status, body) == (503, {"status": "unavailable", "database": "unreachable"})
    finally:
        with app.app_context():
            db.engine.dispose()
