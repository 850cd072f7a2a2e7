"""CSV lines composed by the database, for any columns: the Python writer's bytes."""

from __future__ import annotations

from sqlalchemy import insert, select

from tests.campaigns.helpers import make_campaign
from toolkit.campaigns.models import Signature
from toolkit.exports.database_csv import csv_file, readable
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
