"""Rate limits are shared by every app process through Redis, and survive Redis going away.

Two apps made by create_app stand for two processes behind one proxy: the signing form's limit
per IP address (10 a minute) is reached after 10 posts counted across both, whichever answers
the 11th. With memory:// storage each counts alone, so the same 11 posts all go through.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from limits.storage import MemoryStorage, RedisStorage

from tests.campaigns.helpers import make_campaign, sign
from tests.conftest import base_config, require
from toolkit import create_app
from toolkit.extensions import db, limiter
from toolkit.mail.outbox import wait_for_deliveries

REDIS_URL = os.environ.get("TOOLKIT_TEST_RATELIMIT_REDIS_URL", "redis://127.0.0.1:6379/6")
TOO_MANY = "You have sent this form many times in a short while."
LIMITS = {"RATELIMIT_ENABLED": True, "SIGN_LIMIT_PER_IP": "10 per minute"}  # the default


@pytest.fixture
def key_prefix() -> Iterator[str]:
    """A prefix of this test's own for the limiter's keys in Redis db 6, removed at the end."""
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        problem = None
    except RedisError as exc:
        problem = f"Redis not reachable at {REDIS_URL}: {exc}"
    require(problem is None, problem or "")
    prefix = f"toolkit-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


def two_apps(database_url: str, tmp_path: Path, **config: object) -> list[Flask]:
    """Two app instances on the same database, rate limits on, as two processes would be."""
    return [
        create_app({**base_config(database_url, tmp_path / name), **LIMITS, **config})
        for name in ("first", "second")
    ]  # fmt: skip


def close(apps: list[Flask]) -> None:
    """As the app fixture does: mail threads end, then each app's connections are closed."""
    wait_for_deliveries()
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def post_alternately(apps: list[Flask], times: int) -> list:
    """Sign `times` times from the same IP address, each post to the next app in turn."""
    clients = [app.test_client() for app in apps]
    return [
        sign(clients[i % len(clients)], name=f"Signer {i}", email=f"signer{i}@example.org")
        for i in range(times)
    ]


def test_the_per_ip_limit_is_shared_by_two_apps_through_redis(database_url, tmp_path, key_prefix):
    apps = two_apps(database_url, tmp_path, RATELIMIT_STORAGE_URI=REDIS_URL,
                    RATELIMIT_KEY_PREFIX=key_prefix)  # fmt: skip
    try:
        make_campaign(apps[0], require_confirmation=False, require_moderation=False)
        responses = post_alternately(apps, 11)
        assert [r.status_code for r in responses[:10]] == [302] * 10
        last = responses[10]
        assert last.status_code == 429  # answered by the first app, which saw only 6 posts
        page = last.get_data(as_text=True)
        assert TOO_MANY in page and "Traceback" not in page
        # the second app refuses too: the count is the one in Redis
        assert post_alternately(apps[1:], 1)[0].status_code == 429
    finally:
        close(apps)


def test_with_memory_storage_each_app_counts_alone(database_url, tmp_path):
    apps = two_apps(database_url, tmp_path, RATELIMIT_STORAGE_URI="memory://")
    try:
        make_campaign(apps[0], require_confirmation=False, require_moderation=False)
        responses = post_alternately(apps, 11)
        assert [r.status_code for r in responses] == [302] * 11  # 6 and 5: under 10 each
        more = post_alternately(apps[:1], 5)  # the first app alone reaches its own 10
        assert [r.status_code for r in more] == [302] * 4 + [429]
    finally:
        close(apps)


def test_redis_url_alone_puts_the_limits_in_redis(sqlite_app, tmp_path, key_prefix):
    config = base_config(sqlite_app.config["DATABASE_URL"], tmp_path)
    app = create_app({**config, "RATELIMIT_ENABLED": True, "REDIS_URL": REDIS_URL})
    with app.app_context():
        assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
        assert isinstance(limiter.storage, RedisStorage)
    with sqlite_app.app_context():  # the other app in this process keeps its own settings
        assert not limiter.enabled
    memory = create_app({**config, "RATELIMIT_ENABLED": True})
    with memory.app_context():
        assert isinstance(limiter.storage, MemoryStorage)
    with app.app_context():
        assert isinstance(limiter.storage, RedisStorage)


def test_an_unreachable_redis_falls_back_to_limits_in_memory(sqlite_app, tmp_path):
    """Redis down (nothing listens on port 1): signing goes on, no error page, and the limit
    still holds, counted by the process itself."""
    config = base_config(sqlite_app.config["DATABASE_URL"], tmp_path)
    app = create_app({**config, **LIMITS, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/6"})  # fmt: skip
    try:
        make_campaign(app, require_confirmation=False, require_moderation=False)
        responses = post_alternately([app], 11)
        assert [r.status_code for r in responses] == [302] * 10 + [429]
        assert TOO_MANY in responses[10].get_data(as_text=True)
    finally:
        close([app])
