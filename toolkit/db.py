"""Database helpers shared by every domain: SQLite pragmas, its write turn, timestamps."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: only the thread lock then
    fcntl = None  # type: ignore[assignment]


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


class _Turn:
    """A file's write turn in this process: a thread lock, then an flock on a lock file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.thread_lock = threading.Lock()
        self.fd: int | None = None
        self.pid = 0

    def descriptor(self) -> int | None:
        if self.fd is None or self.pid != os.getpid():  # opened again in a forked child
            if self.fd is not None:  # the parent's, inherited: the child takes its own
                os.close(self.fd)
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self.fd = None  # a read-only folder: SQLite's own locking still serializes
            self.pid = os.getpid()
        return self.fd


_turns: dict[str, _Turn] = {}
_turns_lock = threading.Lock()


@contextmanager
def write_turn(session: Session) -> Iterator[None]:
    """Wait for this database's write turn, for a short write transaction (SQLite only).

    SQLite takes one writer at a time. A writer that finds the file busy sleeps in SQLite's
    busy handler (1 ms, then 2, 5, 10 ...) even when the lock frees a few microseconds
    later, and the sleeps add up under a surge of signatures. Writers that queue here
    instead (a thread lock, then an flock(2) on ``<database>-writer.lock``, which the kernel
    releases if the process dies) are woken the moment the turn is free. Elsewhere (the
    PostgreSQL server handles its own queueing) this does nothing.
    """
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or not fcntl:
        yield
        return
    with _turns_lock:
        turn = _turns.setdefault(url.database, _Turn(f"{url.database}-writer.lock"))
    with turn.thread_lock:
        fd = turn.descriptor()
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
