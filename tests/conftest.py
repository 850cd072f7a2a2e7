"""Shared fixtures: an app on a real, migrated database (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL

from toolkit import create_app
from toolkit.config import PROJECT_ROOT
from toolkit.contacts.directory import CONTACT_POINTS_FILE, load_member_states
from toolkit.contacts.spreadsheet import apply_import, plan_import
from toolkit.events.catalog import load_events
from toolkit.extensions import db

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "TOOLKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def require(condition: bool, reason: str) -> None:
    """Skip when a real part is absent on a laptop; in CI (CI=true) its absence is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def base_config(database_url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "RATELIMIT_ENABLED": False,
        "COUNT_REFRESH_SECONDS": 0,  # exact counts; tests of the batched count set their own
        "CAMPAIGN_CACHE_SECONDS": 0,  # read on every request; tests of the copy set their own
        "OUTBOX_DIR": str(instance / "outbox"),
        "DOCUMENTS_DIR": str(instance / "documents"),
        "JOBS_DIR": str(instance / "jobs"),
    }


def _prepare(database_url: str, instance: Path) -> None:
    """Migrate a database with the real migrations and load the shipped data into it."""
    app = create_app(base_config(database_url, instance))
    with app.app_context():
        upgrade()
        load_events(db.session, PROJECT_ROOT / "letter_templates")
        load_member_states(db.session, PROJECT_ROOT / "contacts")
        plan = plan_import(
            db.session, (PROJECT_ROOT / "contacts" / CONTACT_POINTS_FILE).read_bytes()
        )
        apply_import(db.session, plan)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string()}: {exc}"


def _admin_engine():
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    url: URL = make_url(POSTGRES_URL).set(database=name)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, loaded SQLite file, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    _prepare(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated, loaded PostgreSQL database that each test's database is copied from."""
    problem = _postgres_available()
    require(problem is None, problem or "")
    name = f"toolkit_tpl_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _prepare(_pg_url(name), Path("/tmp"))
        yield name
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test: a SQLite file, or a PostgreSQL copy."""
    if request.param == "sqlite":
        path = tmp_path / "toolkit.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = "toolkit_t_" + re.sub(r"\W", "", uuid.uuid4().hex[:12])
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _pg_url(name)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _finish_background_work() -> None:
    """Let mail deliveries started by a test end before its database goes away."""
    from toolkit.mail.outbox import wait_for_deliveries

    wait_for_deliveries()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh database; CSRF on, as in production."""
    app = create_app(base_config(database_url, tmp_path))
    yield app
    _finish_background_work()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sqlite_app(sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite only, for tests whose subject is not the database (PDFs, browser)."""
    path = tmp_path / "toolkit.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(base_config(f"sqlite:///{path}", tmp_path))
    yield app
    _finish_background_work()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token a real browser would get from the form page."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token in the form"
    return match.group(1)


PASSWORD = "correct horse battery staple"


def make_user(app: Flask, email: str, role: str = "organizer", password: str = PASSWORD) -> int:
    """An account made through the accounts service; returns its id."""
    from toolkit.accounts.service import create_user

    with app.app_context():
        user = create_user(db.session, email, password, role)
        db.session.commit()
        return user.id


def login(client: FlaskClient, email: str, password: str = PASSWORD):
    """Log in through the real login form, CSRF token and all."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})
