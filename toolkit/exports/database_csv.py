"""CSV lines composed by the database: the bytes csv_chunks writes, several times faster.

Cell by cell in Python, a million rows take seconds: every cell becomes a Python object, is
checked for a formula, then quoted by the csv module. Here the database writes each line by the
writers' rules (every field quoted, quotes doubled, an apostrophe before a formula, "yes"/"no",
ISO 8601 times, CRLF): SQLite with printf, PostgreSQL with its string functions. Python only joins
the lines. A large SQLite export is read in ranges of ids, shared between this process and
helper processes (sqlite_helper.py), one per CPU, and written in order.

tests/campaigns/test_exports_database.py compares both paths byte for byte on awkward data. One
limit: SQLite's printf ends a cell at a NUL character, which the signing and paper forms refuse
(as every control character) and PostgreSQL cannot store.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import IO

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from toolkit.exports.sqlite_helper import BATCH, LENGTH
from toolkit.exports.writers import FORMULA_STARTS, csv_head

CHUNK_ROWS = 20_000  # rows per range read on SQLite: about 5 MB of CSV
PG_BATCH = 5_000  # lines per fetch from PostgreSQL's server-side cursor
MAX_PROCESSES = 4
HELPER = Path(__file__).with_name("sqlite_helper.py")
_SQLITE_ARGS = 100  # SQLite takes at most 127 arguments per function call
_DATE_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US'
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu",
                        "Etc/Zulu", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "Greenwich",
                        "Etc/Greenwich"})  # fmt: skip


def _sql(text: str) -> ColumnElement:
    """A constant written into the SQL (no bound parameter per cell and per row)."""
    return literal_column(text)


def readable(column: ColumnElement, dialect: str) -> ColumnElement:
    """A column as the Python writers read it.

    SQLite keeps times as text ('2026-11-28 15:05:00.123456'); turning that text into ISO 8601
    in the query gives exactly what datetime.isoformat() would, without a parse and a format
    per cell in Python. Other databases return datetimes, which the writers format.
    """
    if dialect == "sqlite" and isinstance(column.type, DateTime):
        return func.replace(func.replace(column, " ", "T"), ".000000", "").label(column.name)
    return column


def _kind(cell: ColumnElement) -> str:
    if isinstance(cell.type, Boolean):
        return "boolean"
    if isinstance(cell.type, DateTime):
        return "datetime"
    return "text"


def _nullable(cell: ColumnElement) -> bool:
    return not isinstance(cell, Column) or cell.nullable


# SQLite ----------------------------------------------------------------------------------------


def _sqlite_text(cell: ColumnElement) -> ColumnElement:
    """Text with the apostrophe before a formula (printf's %w doubles the quotes).

    `cell < 'A'` is one comparison that every dangerous first character passes (all are below
    'A'), so most cells, starting with a letter, skip the function call.
    """
    codes = [_sql(str(ord(char))) for char in FORMULA_STARTS]
    value = func.ifnull(cell, _sql("''")) if _nullable(cell) else cell
    formula = and_(cell < _sql("'A'"), func.unicode(cell).in_(codes))
    return case((formula, _sql("''''").op("||")(cell)), else_=value)


def _sqlite_integer(cell: ColumnElement) -> ColumnElement:
    """A whole number: only a minus sign can start a formula."""
    return case((cell < _sql("0"), _sql("''''").op("||")(cell)), else_=cell)


def _sqlite_boolean(cell: ColumnElement) -> ColumnElement:
    """yes/no by Python's truth, as SQLAlchemy reads a SQLite boolean; NULL is empty."""
    false = or_(cell == _sql("0"), cell == _sql("''"))
    return case((cell.is_(None), _sql("''")), (false, _sql("'no'")), else_=_sql("'yes'"))


def _sqlite_times(cells: Sequence[ColumnElement]) -> ColumnElement:
    """Adjacent times as one printf ('2026-11-28 15:05:00.000000","...') made ISO 8601.

    readable() does the same per cell: the separators hold no space and no '.000000' can span
    one, so one pair of replace() calls serves them all. SQLAlchemy stores SQLite times as
    digits and separators only, so they need no quoting and never start a formula.
    """
    joined = func.printf(literal('","'.join(["%s"] * len(cells))), *cells)
    spaced = func.replace(joined, _sql("' '"), _sql("'T'"))
    return func.replace(spaced, _sql("'.000000'"), _sql("''"))


def _sqlite_printf(parts: list[tuple[str, ColumnElement]], end: str = "") -> ColumnElement:
    """printf(format, args) for (format, argument) pairs, nested past SQLite's argument limit."""
    if len(parts) > _SQLITE_ARGS:
        groups = [parts[i : i + _SQLITE_ARGS] for i in range(0, len(parts), _SQLITE_ARGS)]
        parts = [("%s", _sqlite_printf(group)) for group in groups]
    fmt = ",".join(fmt for fmt, _ in parts) + end
    return func.printf(literal(fmt), *(arg for _, arg in parts))


def _sqlite_line(cells: Sequence[ColumnElement]) -> ColumnElement:
    """One CSV line, CRLF included, as a BLOB (bytes, with no decoding in Python)."""
    parts: list[tuple[str, ColumnElement]] = []
    times: list[ColumnElement] = []
    for cell in [*cells, None]:
        if cell is not None and _kind(cell) == "datetime":
            times.append(cell)
            continue
        if times:
            parts.append(('"%s"', _sqlite_times(times)))
            times = []
        if cell is None:
            break
        if _kind(cell) == "boolean":
            parts.append(('"%s"', _sqlite_boolean(cell)))
        elif isinstance(cell.type, Integer):
            parts.append(('"%s"', _sqlite_integer(cell)))
        else:
            parts.append(('"%w"', _sqlite_text(cell)))
    return cast(_sqlite_printf(parts, end="\r\n"), LargeBinary)


# PostgreSQL ------------------------------------------------------------------------------------


def _postgres_text(cell: ColumnElement) -> ColumnElement:
    text = cell if isinstance(cell.type, String) else cast(cell, Text)
    formula = func.left(text, 1).in_(FORMULA_STARTS)
    inert = case((formula, _sql("''''").op("||")(text)), else_=text)
    return func.replace(inert, _sql("'\"'"), _sql("'\"\"'"))


def _postgres_boolean(cell: ColumnElement) -> ColumnElement:
    return case((cell.is_(True), _sql("'yes'")), (cell.is_(False), _sql("'no'")))


def _postgres_time(cell: ColumnElement, zone: str) -> ColumnElement:
    """datetime.isoformat() of the value psycopg returns: the time in the connection's zone.

    psycopg gives each time in the zone it reads from the server (UTC when Python does not know
    that zone's name), so the time is written in that zone, with its offset to the second.
    """
    local = func.timezone(zone, cell)
    stamp = func.replace(func.to_char(local, _DATE_FORMAT), _sql("'.000000'"), _sql("''"))
    if zone in _UTC_ZONES:  # the usual server setting: no offset to work out per time
        return stamp.op("||")(_sql("'+00:00'"))
    seconds = cast(extract("epoch", local - func.timezone("UTC", cell)), Integer)
    magnitude = func.make_interval(0, 0, 0, 0, 0, 0, func.abs(seconds))
    offset = (
        case((seconds < 0, _sql("'-'")), else_=_sql("'+'"))
        .op("||")(func.to_char(magnitude, _sql("'HH24:MI'")))
        .op("||")(
            case(
                (func.mod(seconds, 60) != 0, func.to_char(magnitude, _sql("':SS'"))),
                else_=_sql("''"),
            )
        )
    )
    return stamp.op("||")(offset)


def _postgres_line(cells: Sequence[ColumnElement], zone: str) -> ColumnElement:
    """One CSV line as bytea (UTF-8, whatever the server's encoding)."""
    values = []
    for cell in cells:
        kind = _kind(cell)
        if kind == "boolean":
            values.append(_postgres_boolean(cell))
        elif kind == "datetime":
            values.append(_postgres_time(cell, zone))
        else:
            values.append(_postgres_text(cell))
    from sqlalchemy.dialects.postgresql import array  # noqa: PLC0415 - only for PostgreSQL

    joined = func.array_to_string(array(values, type_=Text), _sql("'\",\"'"), _sql("''"))
    line = _sql("'\"'").op("||")(joined).op("||")(_sql("E'\"\\r\\n'"))
    return func.convert_to(line, _sql("'UTF8'"))


def _postgres_zone(connection: Connection) -> str:
    tzinfo = getattr(connection.connection.driver_connection.info, "timezone", None)
    return getattr(tzinfo, "key", "UTC")


# Reading ---------------------------------------------------------------------------------------


def csv_file(
    session: Session,
    header: Sequence[str],
    cells: Sequence[ColumnElement],
    key: Column,
    scope: Sequence[ColumnElement],
    filters: Sequence[ColumnElement] = (),
    processes: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[bytes]:
    """The CSV file csv_chunks(header, rows) would write for these cells, in chunks of bytes.

    Rows are those of key's table matching scope and filters, ordered by key (an integer
    primary key). scope should be cheap to count (an indexed column): on SQLite it bounds the
    ranges of about chunk_rows rows that are read one at a time. processes: how many read a
    SQLite file at once (default: one per CPU, up to MAX_PROCESSES; 1: this process only, in
    the session's transaction).
    """
    connection = session.connection()
    yield csv_head(header).encode()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        line = _postgres_line(cells, _postgres_zone(connection))
        query = select(line).where(*scope, *filters).order_by(key)
        result = connection.execute(query, execution_options={"yield_per": PG_BATCH})
        try:
            for lines in result.scalars().partitions():
                yield b"".join(lines)
        finally:
            result.close()
    elif dialect == "sqlite":
        yield from _sqlite_chunks(connection, cells, key, scope, filters, processes, chunk_rows)
    else:
        raise ValueError(f"No CSV composer for {dialect}.")


def _sqlite_chunks(
    connection: Connection,
    cells: Sequence[ColumnElement],
    key: Column,
    scope: Sequence[ColumnElement],
    filters: Sequence[ColumnElement],
    processes: int | None,
    chunk_rows: int,
) -> Iterator[bytes]:
    """Range after range, this process reading one in n and each helper one of the others."""
    low, high = bindparam("range_low", type_=Integer), bindparam("range_high", type_=Integer)
    query = select(_sqlite_line(cells)).where(*scope, *filters, key >= low, key < high)
    sql, params, low_at, high_at = _compile(query.order_by(key), connection.dialect)
    ranges = _ranges(connection, key, scope, chunk_rows)
    database = _database_file(connection)
    count = min(processes or os.cpu_count() or 1, MAX_PROCESSES, len(ranges)) if database else 1
    job = {"database": database, "sql": sql, "params": params, "bounds": [low_at, high_at]}
    helpers = [_Helper({**job, "ranges": ranges[n::count]}) for n in range(1, count)]
    try:
        cursor = connection.connection.driver_connection.cursor()  # in the session's transaction
        for index, (start, stop) in enumerate(ranges):
            if index % count:
                yield helpers[index % count - 1].read()
                continue
            params[low_at], params[high_at] = start, stop
            cursor.execute(sql, params)
            while lines := cursor.fetchmany(BATCH):
                yield b"".join(map(itemgetter(0), lines))
    finally:
        for helper in helpers:
            helper.close()


def _compile(query: Select, dialect: Dialect) -> tuple[str, list, int, int]:
    """SQL and positional parameters for the DB-API (SQLite's sqlite3), as SQLAlchemy binds them.

    Returns the positions of the range's low and high ids among the parameters.
    """
    compiled = query.compile(dialect=dialect)
    params = []
    for name in compiled.positiontup or ():
        value = compiled.params[name]
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        params.append(process(value) if process and value is not None else value)
    names = list(compiled.positiontup or ())
    return str(compiled), params, names.index("range_low"), names.index("range_high")


def _ranges(
    connection: Connection, key: Column, scope: Sequence[ColumnElement], chunk_rows: int
) -> list[tuple[int, int]]:
    """Ranges of key [low, high) holding about chunk_rows rows in scope each."""
    low, high, count = connection.execute(
        select(func.min(key), func.max(key), func.count()).where(*scope)
    ).one()
    if not count:
        return []
    parts = math.ceil(count / chunk_rows)
    width = math.ceil((high - low + 1) / parts)
    return [(start, min(start + width, high + 1)) for start in range(low, high + 1, width)]


def _database_file(connection: Connection) -> str | None:
    """The SQLite database's file as a read-only URI other processes can open, if it is one.

    None for a database in memory, or one opened with URI options (left to this process).
    """
    url = connection.engine.url
    if url.query or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve().as_uri() + "?mode=ro"


class _Helper:
    """A helper process reading its share of the ranges (sqlite_helper.py), in order."""

    def __init__(self, job: dict) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(HELPER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            self.process.stdin.write(json.dumps(job).encode() + b"\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # it has stopped: read() reports why

    def read(self) -> bytes:
        """The next range's lines."""
        (size,) = LENGTH.unpack(self._exactly(LENGTH.size))
        return self._exactly(size)

    def _exactly(self, size: int) -> bytes:
        data = _read(self.process.stdout, size)
        if len(data) < size:
            self.process.wait()
            error = self.process.stderr.read().decode(errors="replace")[-2000:]
            code = self.process.returncode
            raise RuntimeError(f"The CSV helper process stopped ({code}): {error}")
        return data

    def close(self) -> None:
        """Stop it if it still runs (the export was left early) and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()


def _read(stream: IO[bytes], size: int) -> bytes:
    parts = []
    while size:
        part = stream.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)
