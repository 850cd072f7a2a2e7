"""Database helpers shared by every domain: SQLite pragmas and timestamps."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine


def utcnow() -> datetime:
    """Now, in UTC: every stored time is UTC."""
    return datetime.now(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
    """SQLite: enforce foreign keys, and let readers and one writer work at once (WAL)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL's recommended durability: safe from corruption and application crashes; a power
        # cut may lose the last moments' transactions. One fsync per checkpoint, not per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
