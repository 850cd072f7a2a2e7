"""CSV lines composed by the database, for any columns: the Python writer's bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from tests.campaigns.helpers import make_campaign
from toolkit.campaigns.models import Signature
from toolkit.exports.database_csv import _Helper, csv_file, readable
from toolkit.exports.writers import csv_chunks
from toolkit.extensions import db

NAMES = ["=1", 'Jean "JJ"', "数字权利网络", "شبكة", "Ольга", "line\nbreak", "", "+1", "-", "Zoë"]


def test_more_cells_than_sqlite_printf_takes_arguments(app):
    """130 cells: SQLite's printf takes at most 127 arguments, so the line is built in parts."""
    campaign_id = make_campaign(app)
    table = Signature.__table__.c
    cells = [table.name, table.id, table.list_publicly, table.created_at, table.email] * 26
    header = [f"c{n}" for n in range(len(cells))]
    with app.app_context():
        db.session.execute(insert(Signature), [
            {"campaign_id": campaign_id, "name": name, "email": None if i % 2 else name,
             "list_publicly": i % 3 == 0, "status": "approved"} for i, name in enumerate(NAMES)
        ])  # fmt: skip
        db.session.commit()
        dialect = db.session.connection().dialect.name
        scope = [Signature.campaign_id == campaign_id]
        rows = db.session.execute(
            select(*(readable(cell, dialect) for cell in cells)).where(*scope).order_by(table.id)
        )
        expected = "".join(csv_chunks(header, rows)).encode()
        data = b"".join(csv_file(db.session, header, cells, key=table.id, scope=scope))
    assert data == expected
    assert data.count(b"\r\n") == len(NAMES) + 1  # the header and each row


def test_a_helper_process_that_fails_says_why(tmp_path):
    missing = (tmp_path / "missing.sqlite3").as_uri() + "?mode=ro"
    helper = _Helper({"database": missing, "sql": "SELECT 1", "params": [0, 0], "bounds": [0, 1],
                      "ranges": [[1, 2]]})  # fmt: skip
    try:
        with pytest.raises(RuntimeError, match="unable to open database file"):
            helper.read()
    finally:
        helper.close()


def _children() -> set[int]:
    """This process's child processes, running or ended but not yet waited for (Linux /proc)."""
    found = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        found.update(
            map(int, Path(f"/proc/{os.getpid()}/task/{task}/children").read_text().split())
        )
    return found


def test_helper_processes_end_with_the_export_even_when_it_is_left_early(sqlite_app):
    campaign_id = make_campaign(sqlite_app)
    table = Signature.__table__.c
    with sqlite_app.app_context():
        db.session.execute(insert(Signature), [
            {"campaign_id": campaign_id, "name": f"Signer {i}", "status": "approved"}
            for i in range(200)
        ])  # fmt: skip
        db.session.commit()
        scope = [Signature.campaign_id == campaign_id]
        before = _children()
        chunks = csv_file(db.session, ["name"], [table.name], key=table.id, scope=scope,
                          processes=3, chunk_rows=10)  # fmt: skip
        assert next(chunks).endswith(b'"name"\r\n')
        assert next(chunks).startswith(b'"Signer 0"\r\n')
        assert len(_children() - before) == 2
        chunks.close()  # as when the file cannot be written, or a download is cut
        assert _children() - before == set()
        whole = b"".join(csv_file(db.session, ["name"], [table.name], key=table.id, scope=scope,
                                  processes=3, chunk_rows=10))  # fmt: skip
        assert whole.count(b"\r\n") == 201 and _children() - before == set()
