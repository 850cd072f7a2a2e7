"""`toolkit doctor`: each check says OK, WARN or FAIL with what to do; any FAIL exits with 1."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from tests.conftest import base_config, require
from tests.smtp import free_port, mail_config, smtp_server  # noqa: F401 - a fixture
from toolkit import create_app
from toolkit.config import PROJECT_ROOT
from toolkit.contacts.directory import CONTACT_POINT_COLUMNS
from toolkit.contacts.spreadsheet import apply_import, plan_import
from toolkit.extensions import db

REDIS_URL = os.environ.get("TOOLKIT_TEST_RATELIMIT_REDIS_URL", "redis://127.0.0.1:6379/6")
TOOLKIT = Path(sys.executable).with_name("toolkit")
HEADER = ",".join(CONTACT_POINT_COLUMNS)


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """create_app, with each app's database connections closed at the end of the test."""
    made: list[Flask] = []

    def make(config: dict) -> Flask:
        made.append(create_app(config))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def doctor(app) -> tuple[int, dict[str, list[str]], str]:
    """Run `toolkit doctor` on the app: exit code, {topic: ["STATUS message", ...]}, output."""
    result = app.test_cli_runner().invoke(args=["doctor"])
    topics: dict[str, list[str]] = {}
    for line in result.output.splitlines()[:-1]:
        status, rest = line.split(maxsplit=1)
        topic, message = rest.split(": ", 1)
        topics.setdefault(topic, []).append(f"{status} {message}")
    return result.exit_code, topics, result.output


def statuses(topics: dict[str, list[str]]) -> dict[str, str]:
    return {topic: lines[0].split()[0] for topic, lines in topics.items()}


def redis_answers() -> None:
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        problem = None
    except RedisError as exc:
        problem = f"Redis not reachable at {REDIS_URL}: {exc}"
    finally:
        client.close()
    require(problem is None, problem or "")


def make_healthy(app, server) -> None:  # noqa: ANN001 - a tests.smtp.SmtpServer
    """What a well-set public site looks like."""
    mail_config(app, server)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32), BASE_URL="https://petition.example.org",
        SESSION_COOKIE_SECURE=True, PROXY_COUNT=1, REDIS_URL=REDIS_URL,
        RATELIMIT_STORAGE_URI=REDIS_URL,
    )  # fmt: skip


def add_contact_point(app) -> None:
    """The shipped data has no contact points; a site imports its coalition's."""
    row = "KE,ministry,Ministry of Information,,,,info@ministry.example,,,https://example.org,,"
    with app.app_context():
        apply_import(db.session, plan_import(db.session, f"{HEADER}\n{row}\n".encode()))
        db.session.commit()


def test_a_healthy_configuration_passes(app, smtp_server):  # noqa: F811
    redis_answers()
    make_healthy(app, smtp_server)
    add_contact_point(app)
    code, topics, output = doctor(app)
    assert code == 0, output
    found = statuses(topics)
    assert list(found) == ["database", "migrations", "data", "redis", "rate limits", "mail",
                           "fonts", "secret key", "base URL", "cookies"]  # fmt: skip
    assert found.pop("fonts") in ("OK", "WARN")  # a machine without a font still works
    assert set(found.values()) == {"OK"}, output
    assert "latest revision" in topics["migrations"][0]
    assert "answers EHLO" in topics["mail"][0]
    assert topics["rate limits"] == ["OK shared by every process through Redis"]


def test_missing_data_says_what_to_load(app):
    code, topics, _ = doctor(app)
    assert topics["data"][0].startswith("WARN no contact points")
    assert "toolkit contacts import FILE.csv" in topics["data"][0]
    with app.app_context():
        db.session.execute(text("DELETE FROM member_states"))
        db.session.commit()
    code, topics, _ = doctor(app)
    assert code == 1
    assert topics["data"] == [
        "FAIL no member states are loaded (country menus are empty): run `toolkit data load`"
    ]


def test_an_unmigrated_database_fails_and_names_the_command(make_app, tmp_path: Path):
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    app = make_app({**base_config(f"sqlite:///{path}", tmp_path), "SECRET_KEY": "x" * 40})
    code, topics, output = doctor(app)
    assert code == 1
    assert topics["migrations"] == [
        "FAIL the database is not migrated (no tables yet): run `toolkit db upgrade`"
    ]
    assert "data" not in topics  # nothing to count before the tables exist
    assert output.splitlines()[-1].startswith("1 problem(s) to fix")


def test_a_database_behind_the_code_names_both_revisions(make_app, tmp_path: Path):
    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    head = script.get_revision(script.get_current_head())
    path = tmp_path / "old.sqlite3"
    app = make_app(base_config(f"sqlite:///{path}", tmp_path))
    with app.app_context():
        upgrade(revision=head.down_revision)
        db.engine.dispose()
    code, topics, _ = doctor(app)
    assert code == 1
    assert topics["migrations"] == [
        f"FAIL the database is at {head.down_revision}; this code needs {head.revision}: "
        "run `toolkit db upgrade`"
    ]


def test_a_missing_database_file_is_not_created(make_app, tmp_path: Path):
    path = tmp_path / "nothing-here.sqlite3"
    app = make_app(base_config(f"sqlite:///{path}", tmp_path))
    code, topics, _ = doctor(app)
    assert code == 1 and topics["database"][0].startswith("FAIL no database file at")
    assert "toolkit db upgrade" in topics["database"][0]
    assert not path.exists()


def test_an_unreachable_database_fails(make_app, tmp_path: Path):
    app = make_app(base_config("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/x", tmp_path))
    code, topics, output = doctor(app)
    assert code == 1
    assert topics["database"][0].startswith("FAIL cannot connect to postgresql+psycopg://")
    assert "TOOLKIT_DATABASE_URL" in topics["database"][0]
    assert "hunter2" not in output  # passwords are never printed


def test_an_unreachable_redis_fails_and_says_what_to_do(app):
    app.config.update(
        REDIS_URL="redis://127.0.0.1:1/6", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/6"
    )
    code, topics, _ = doctor(app)
    assert code == 1
    [line] = topics["redis"]
    assert line.startswith("FAIL cannot reach redis://127.0.0.1:1/6")
    assert "start Redis or correct TOOLKIT_REDIS_URL" in line
    assert "rate limits" not in topics  # said once, under redis


def test_an_unreachable_rate_limit_storage_fails(app):
    app.config["RATELIMIT_STORAGE_URI"] = "redis://:pw@127.0.0.1:1/6"
    code, topics, output = doctor(app)
    assert code == 1
    assert topics["rate limits"][0].startswith("FAIL cannot reach the rate-limit storage")
    assert "TOOLKIT_RATELIMIT_STORAGE_URI" in topics["rate limits"][0]
    assert ":pw@" not in output


def test_an_unreachable_smtp_server_fails(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    code, topics, _ = doctor(app)
    assert code == 1
    [line] = topics["mail"]
    assert line.startswith("FAIL cannot connect to") and "connection refused" in line
    assert "check TOOLKIT_MAIL_SERVER and TOOLKIT_MAIL_PORT" in line


def test_without_a_mail_server_mail_goes_to_files(app):
    code, topics, _ = doctor(app)
    assert "messages are written as .eml files to" in topics["mail"][0]
    assert app.config["OUTBOX_DIR"] in topics["mail"][0]


def test_secret_keys_default_short_or_generated(app, make_app, tmp_path: Path):
    # the tests' own key, a known value
    code, topics, _ = doctor(app)
    assert code == 1
    assert topics["secret key"][0].startswith("FAIL SECRET_KEY is a well-known value")
    assert "set TOOLKIT_SECRET_KEY to the output of python3 -c" in topics["secret key"][0]
    app.config["SECRET_KEY"] = "short-but-unusual"
    code, topics, _ = doctor(app)
    assert topics["secret key"][0].startswith("WARN SECRET_KEY has 17 characters")
    # a key generated into the instance folder, with Redis: other machines will not have it
    config = base_config(app.config["DATABASE_URL"], tmp_path)
    del config["SECRET_KEY"]
    generated = make_app({**config, "REDIS_URL": "redis://127.0.0.1:1/6"})
    code, topics, _ = doctor(generated)
    assert topics["secret key"][0].startswith("WARN SECRET_KEY was generated into")
    assert "TOOLKIT_SECRET_KEY" in topics["secret key"][0]


def test_addresses_and_cookies(app):
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    postgres = app.config["DATABASE_URL"].startswith("postgresql")
    code, topics, output = doctor(app)
    assert code == 0, output
    if postgres:  # a public site, with links in mail pointing at 127.0.0.1
        assert topics["base URL"][0].startswith("WARN TOOLKIT_BASE_URL is http://127.0.0.1:5000")
        assert topics["mail"][0].startswith("WARN")
        assert topics["rate limits"][0].startswith("WARN counted in each process's memory")
        assert output.splitlines()[-1].startswith("Nothing to fix;")
    else:
        assert topics["base URL"] == ["OK http://127.0.0.1:5000"]
    app.config["BASE_URL"] = "https://petition.example.org"
    code, topics, _ = doctor(app)
    assert code == 0
    assert topics["cookies"][0] == (
        "WARN the site is served over HTTPS but the session cookie may travel unencrypted: "
        "set TOOLKIT_SESSION_COOKIE_SECURE=true"
    )
    assert topics["proxy"][0].startswith("WARN TOOLKIT_PROXY_COUNT is 0")
    app.config.update(SESSION_COOKIE_SECURE=True, PROXY_COUNT=1)
    code, topics, _ = doctor(app)
    assert topics["cookies"] == ["OK secure"] and "proxy" not in topics
    app.config["BASE_URL"] = "http://petition.example.org"
    code, topics, _ = doctor(app)
    assert topics["cookies"][0].startswith("WARN SESSION_COOKIE_SECURE is on but")


def run_toolkit(database_url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    environment.update(TOOLKIT_DATABASE_URL=database_url, TOOLKIT_OUTBOX_DIR=str(tmp_path),
                       TOOLKIT_SECRET_KEY=secrets.token_hex(32), **env)  # fmt: skip
    return subprocess.run([str(TOOLKIT), "doctor"], env=environment, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_the_command_exits_with_1_on_a_failure_and_0_otherwise(sqlite_template, tmp_path):
    """The real `toolkit` command, as a deploy script runs it."""
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    failing = run_toolkit(f"sqlite:///{empty}", tmp_path)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "FAIL  migrations: the database is not migrated" in failing.stdout
    ready = tmp_path / "ready.sqlite3"
    shutil.copy(sqlite_template, ready)
    passing = run_toolkit(f"sqlite:///{ready}", tmp_path)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "FAIL" not in passing.stdout
    assert "OK    migrations: the database is at the latest revision" in passing.stdout
