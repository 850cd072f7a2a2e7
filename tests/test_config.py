"""Configuration: defaults, TOOLKIT_* variables, the instance secret key, SQLite pragmas."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from toolkit import create_app
from toolkit.extensions import db


def test_environment_variables_override_defaults(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TOOLKIT_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    monkeypatch.setenv("TOOLKIT_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("TOOLKIT_PDF_TIMEOUT", "12")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.sqlite3"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["PDF_TIMEOUT"] == 12


def test_secret_key_is_generated_once_and_kept_private(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("TOOLKIT_SECRET_KEY", raising=False)
    monkeypatch.setenv("TOOLKIT_DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite3")
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "inst"))
    first = create_app()
    key_file = tmp_path / "inst" / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) == 64
    assert create_app().config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("TOOLKIT_DATABASE_URL", raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "inst"))
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/inst/toolkit.sqlite3"


def test_sqlite_runs_with_wal_and_foreign_keys(sqlite_app):
    with sqlite_app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
