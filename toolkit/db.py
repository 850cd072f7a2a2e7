"""Database helpers shared by every domain: SQLite pragmas, its write turn, timestamps, and
statements prepared for the DB-API."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Executable

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


def engine_of(bind: Session | scoped_session | Engine) -> Engine:
    """The engine a session (or a request's scoped session) works on.

    A request's scoped session that has not been used yet is not opened for this: Flask-
    SQLAlchemy's sessions take the app's engine, which its extension gives directly (the
    signing request then builds no Session at all).
    """
    if isinstance(bind, Engine):
        return bind
    if isinstance(bind, scoped_session) and not bind.registry.has():
        extension = bind.session_factory.kw.get("db")  # Flask-SQLAlchemy's sessionmaker
        if extension is not None:
            return extension.engine
    return bind.get_bind()


_turns: dict[str, _Turn] = {}
_turns_lock = threading.Lock()


@contextmanager
def write_turn(bind: Session | scoped_session | Engine) -> Iterator[None]:
    """Wait for this database's write turn, for a short write transaction (SQLite only).

    SQLite takes one writer at a time. A writer that finds the file busy sleeps in SQLite's
    busy handler (1 ms, then 2, 5, 10 ...) even when the lock frees a few microseconds
    later, and the sleeps add up under a surge of signatures. Writers that queue here
    instead (a thread lock, then an flock(2) on ``<database>-writer.lock``, which the kernel
    releases if the process dies) are woken the moment the turn is free. Elsewhere (the
    PostgreSQL server handles its own queueing) this does nothing.
    """
    url = engine_of(bind).url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or not fcntl:
        yield
        return
    turn = _turns.get(url.database)
    if turn is None:
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


# --- statements run on the DB-API connection ------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A SQLAlchemy statement compiled once for one database, to run on a DB-API cursor.

    For the one write a surge repeats thousands of times a second (a signature), where
    SQLAlchemy's work around each execution (checking out, beginning, building an execution
    context, processing results, committing through the session) costs several times what
    the database does. The SQL, the parameter order and the type conversions are still
    SQLAlchemy's own: ``parameters`` applies each column type's bind processor, as an
    execution through the engine would.
    """

    sql: str
    names: tuple[str, ...]  # each parameter's bind name, in the statement's order
    keys: tuple[str, ...] | None  # how the SQL names them (escaped); None: positional
    processors: Mapping[str, Callable[[Any], Any]]  # by bind name
    fixed: Mapping[str, Any]  # values the statement carries itself (a literal compared to)

    def parameters(self, values: Mapping[str, Any]) -> tuple | dict:
        """The DB-API parameters for ``values`` (by bind name), converted as SQLAlchemy would."""
        converted = []
        for name in self.names:
            value = values[name] if name in values else self.fixed[name]
            processor = self.processors.get(name)
            converted.append(processor(value) if processor is not None else value)
        if self.keys is None:
            return tuple(converted)
        return dict(zip(self.keys, converted, strict=True))


def prepare(statement: Executable, dialect: Dialect) -> Prepared:
    """Compile ``statement`` for ``dialect`` once: its SQL, its parameters in order, and each
    parameter's bind processor (``TypeEngine.bind_processor``, as an execution applies it)."""
    compiled = statement.compile(dialect=dialect)
    defaulted = [column.name for column in getattr(compiled, "insert_prefetch", ())]
    if defaulted:  # an execution would compute these; a prepared statement cannot
        raise ValueError(f"give every column a value; missing: {', '.join(defaulted)}")
    escaped = dict(compiled.escaped_bind_names or {})
    required = {name: None for name, bind in compiled.binds.items() if bind.required}
    state = compiled.construct_expanded_state(required)
    if state.positiontup is not None:  # bind names, in order (repeated where used twice)
        names, keys = tuple(state.positiontup), None
    else:  # keyed as the SQL names them
        unescaped = {escaped_name: name for name, escaped_name in escaped.items()}
        keys = tuple(state.parameters)
        names = tuple(unescaped.get(key, key) for key in keys)
    processors = {}
    for name in names:
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    return Prepared(
        sql=state.statement,
        names=names,
        keys=keys,
        processors=processors,
        fixed={
            name: state.parameters[escaped.get(name, name)]
            for name in names
            if name not in required
        },
    )


@contextmanager
def dbapi_connection(engine: Engine) -> Iterator[PoolProxiedConnection]:
    """A pooled DB-API connection (checked as the engine's pool checks it, pre-ping included),
    given back when done; a connection that broke is discarded, not given back."""
    connection = engine.raw_connection()
    try:
        yield connection
    except engine.dialect.loaded_dbapi.Error as exc:
        lost = engine.dialect.is_disconnect(exc, connection.dbapi_connection, None)
        _end(connection, exc if lost else None)
        # As SQLAlchemy raises it (IntegrityError for a unique constraint, ...), without the
        # parameters: they hold a signer's address.
        raise DBAPIError.instance(None, None, exc, engine.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=engine.dialect,
                                  hide_parameters=True) from exc  # fmt: skip
    except BaseException:
        _end(connection, None)
        raise
    finally:
        connection.close()


def _end(connection: PoolProxiedConnection, lost: BaseException | None) -> None:
    """Roll back a failed connection's transaction, or discard the connection when it is
    lost or cannot even roll back; the error being raised is kept either way."""
    if lost is None:
        try:
            connection.rollback()
            return
        except Exception as exc:  # noqa: BLE001 - a connection that cannot roll back is lost
            lost = exc
    connection.invalidate(lost)
