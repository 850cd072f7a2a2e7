"""The baseline for bench/signing.py: a Flask endpoint that only inserts a row.

Served by gunicorn exactly like the toolkit (`gunicorn bench.bare_app:app`), on the same
database (BENCH_DATABASE: a SQLite file; or BENCH_DATABASE_URL: a PostgreSQL URL), with the
driver the toolkit uses, so the ratio shows what the toolkit's signing adds.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, request

app = Flask(__name__)
DATABASE = os.environ.get("BENCH_DATABASE", "/tmp/bench.sqlite3")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "")
_local = threading.local()


def _sqlite() -> sqlite3.Connection:
    """One connection per thread, with the same pragmas as the toolkit."""
    db = sqlite3.connect(DATABASE, timeout=10, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS bare_rows (id INTEGER PRIMARY KEY, name TEXT, email TEXT UNIQUE)"
    )
    return db


def _postgres():  # noqa: ANN202 - a psycopg connection
    import psycopg

    db = psycopg.connect(DATABASE_URL.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True)  # fmt: skip
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS bare_rows "
            "(id SERIAL PRIMARY KEY, name TEXT, email TEXT UNIQUE)"
        )
    except psycopg.errors.UniqueViolation:
        pass  # another connection made it at the same moment
    return db


def connection():  # noqa: ANN201 - a DB-API connection
    if not hasattr(_local, "db"):
        _local.db = _postgres() if DATABASE_URL.startswith("postgresql") else _sqlite()
    return _local.db


@app.post("/insert")
def insert() -> tuple[str, int]:
    if DATABASE_URL.startswith("postgresql"):
        statement = "INSERT INTO bare_rows (name, email) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    else:
        statement = "INSERT OR IGNORE INTO bare_rows (name, email) VALUES (?, ?)"
    connection().execute(statement, (request.form.get("name", ""), request.form.get("email", "")))
    return "", 302
