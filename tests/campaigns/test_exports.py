"""Signature exports read as plain rows: missing emails, organizers' questions, thousands of rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from tests.campaigns.helpers import make_campaign
from toolkit.campaigns.exports import FULL, PRESENTABLE, ExportRequest, columns, export_rows
from toolkit.campaigns.models import Signature
from toolkit.campaigns.service import get_campaign
from toolkit.exports.writers import csv_chunks, json_chunks, safe_cell
from toolkit.extensions import db

QUESTIONS = [
    {"name": "employer", "label": "Your employer", "required": False, "max_length": 200},
    {"name": "why", "label": "Why do you sign?", "required": True, "max_length": 200},
]
DANGEROUS = ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tTab", "\rReturn"]
SCRIPTS = ["Amina Diallo", "Ольга Петрова", "شبكة الحقوق", "数字权利网络", "नेटवर्क", 'Jean "JJ", Jr']


def parse(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def export_csv(app, request: ExportRequest, slug: str = "let-us-in", batch: int = 1000) -> str:
    with app.app_context():
        campaign = get_campaign(db.session, slug)
        header = columns(request, campaign)
        return "".join(csv_chunks(header, export_rows(db.session, campaign, request, batch)))


def add(app, *signatures: Signature) -> None:
    with app.app_context():
        db.session.add_all(signatures)
        db.session.commit()


def test_missing_emails_are_empty_cells(app):
    campaign_id = make_campaign(app)
    add(app,
        Signature(campaign_id=campaign_id, name="On paper", email=None, email_normalized=None,
                  source="paper", status="approved"),
        Signature(campaign_id=campaign_id, name="Online", email="o@example.org",
                  email_normalized="o@example.org", status="approved"))  # fmt: skip
    rows = parse(export_csv(app, ExportRequest()))
    email = rows[0].index("email")
    assert [(row[3], row[email]) for row in rows[1:]] == [
        ("On paper", ""),
        ("Online", "o@example.org"),
    ]
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        data = json.loads("".join(json_chunks(
            columns(ExportRequest(), campaign), export_rows(db.session, campaign, ExportRequest()))))  # fmt: skip
    assert [item["email"] for item in data] == [None, "o@example.org"]


def test_full_list_has_a_column_per_question_and_the_presentable_list_none(
    app, runner, tmp_path: Path
):
    campaign_id = make_campaign(app, custom_fields=QUESTIONS)
    add(app,
        Signature(campaign_id=campaign_id, name="Amina", email="a@example.org",
                  email_normalized="a@example.org", status="approved",
                  extra={"employer": "=ACME", "why": "Открытость", "paper_note": "x"}),
        Signature(campaign_id=campaign_id, name="Ba", email="b@example.org",
                  email_normalized="b@example.org", status="approved", extra={}))  # fmt: skip
    rows = parse(export_csv(app, ExportRequest()))
    assert rows[0] == [*FULL, "employer", "why"]
    assert [row[-2:] for row in rows[1:]] == [["'=ACME", "Открытость"], ["", ""]]
    presentable = parse(export_csv(app, ExportRequest(shape="presentable")))
    assert presentable[0] == list(PRESENTABLE)
    assert all(len(row) == len(PRESENTABLE) for row in presentable)

    output = tmp_path / "out.csv"
    result = runner.invoke(args=["signatures", "export", "--campaign", "let-us-in",
                                 "--output", str(output)])  # fmt: skip
    assert result.exit_code == 0, result.output
    from_cli = parse(output.read_text(encoding="utf-8"))
    assert from_cli[0][-2:] == ["employer", "why"] and from_cli[1][-1] == "Открытость"


def test_thousands_of_rows_round_trip_with_formulas_inert(app):
    campaign_id = make_campaign(app)
    start = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    count = 3000
    names = DANGEROUS + SCRIPTS
    with app.app_context():
        db.session.execute(insert(Signature), [
            {"campaign_id": campaign_id, "name": f"{names[i % len(names)]} {i}",
             "email": None if i % 7 == 0 else f"s{i}@example.org",
             "email_normalized": None if i % 7 == 0 else f"s{i}@example.org",
             "organization": DANGEROUS[i % len(DANGEROUS)] if i % 5 == 0 else f"Network {i}",
             "list_publicly": i % 2 == 0, "status": "approved",
             "created_at": start + timedelta(seconds=i, microseconds=i % 3),
             "approved_at": None if i % 3 == 0 else start + timedelta(days=1)}
            for i in range(count)
        ])  # fmt: skip
        db.session.commit()
        expected = [
            [safe_cell(value) for value in row]
            for row in db.session.execute(
                Signature.__table__.select()
                .with_only_columns(*(Signature.__table__.c[name] for name in FULL))
                .where(Signature.campaign_id == campaign_id)
                .order_by(Signature.id)
            )
        ]
    text = export_csv(app, ExportRequest(), batch=333)
    assert "\r\n" in text and text.count("\r\n") >= count + 1
    rows = parse(text)
    assert rows[0] == list(FULL)
    assert rows[1:] == expected  # the same cells as one safe_cell per value would give
    name, organization = FULL.index("name"), FULL.index("organization")
    for i, row in enumerate(rows[1:]):
        assert (
            row[name]
            == ("'" if i % len(names) < len(DANGEROUS) else "") + f"{names[i % len(names)]} {i}"
        )
        if i % 5 == 0:
            assert row[organization] == "'" + DANGEROUS[i % len(DANGEROUS)]
    assert {row[FULL.index("list_publicly")] for row in rows[1:]} == {"yes", "no"}
    assert sum(row[FULL.index("email")] == "" for row in rows[1:]) == len(range(0, count, 7))
    created = datetime.fromisoformat(rows[1][FULL.index("created_at")])
    assert (created if created.tzinfo else created.replace(tzinfo=UTC)) == start


def test_export_rows_streams_in_batches_in_order(app):
    campaign_id = make_campaign(app)
    with app.app_context():
        db.session.execute(insert(Signature), [
            {"campaign_id": campaign_id, "name": f"Signer {i}", "email": f"{i}@e.org",
             "email_normalized": f"{i}@e.org", "status": "approved" if i % 2 else "pending"}
            for i in range(50)
        ])  # fmt: skip
        db.session.commit()
        campaign = get_campaign(db.session, "let-us-in")
        rows = list(export_rows(db.session, campaign, ExportRequest(shape="presentable"), batch=7))
    assert [row[0] for row in rows] == [f"Signer {i}" for i in range(1, 50, 2)]
