"""The baseline for bench/signing.py: a Flask endpoint that only inserts a row.

Served by gunicorn exactly like the toolkit (`gunicorn bench.bare_app:app`), on the same SQLite
file (BENCH_DATABASE), so the ratio shows what the toolkit's signing adds.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, request

app = Flask(__name__)
DATABASE = os.environ.get("BENCH_DATABASE", "/tmp/bench.sqlite3")
_local = threading.local()


def connection() -> sqlite3.Connection:
    """One connection per thread, with the same pragmas as the toolkit."""
    if not hasattr(_local, "db"):
        db = sqlite3.connect(DATABASE, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS bare_rows (id INTEGER PRIMARY KEY, name TEXT, email TEXT UNIQUE)"
        )
        _local.db = db
    return _local.db


@app.post("/insert")
def insert() -> tuple[str, int]:
    connection().execute(
        "INSERT OR IGNORE INTO bare_rows (name, email) VALUES (?, ?)",
        (request.form.get("name", ""), request.form.get("email", "")),
    )
    return "", 302
