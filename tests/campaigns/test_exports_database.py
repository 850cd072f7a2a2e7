"""The CSV export written by the database is byte for byte the one the Python writer makes."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from tests.campaigns.helpers import make_campaign
from toolkit.campaigns.exports import ExportRequest, columns, export_csv, export_rows
from toolkit.campaigns.models import Signature
from toolkit.campaigns.service import get_campaign
from toolkit.exports.writers import csv_chunks
from toolkit.extensions import db

# Every formula start, quotes, commas, line breaks inside a cell, the six UN languages' scripts,
# empty text, and text that only looks like what the export writes.
AWKWARD = [
    "=1+1", "+33 1 23 45 67", "-2", "@SUM(A1)", "\tTab", "\rReturn", '=HYPERLINK("http://x","y")',
    'Jean "JJ", Jr', '"quoted"', "a,b", "line one\nline two", "line\r\nwith CRLF", "", " ",
    "'already", "Amina Diallo", "شبكة الحقوق الرقمية", "数字权利网络", "Ольга Петрова",
    "Réseau numérique", "Red de Derechos Digitales", "Zoë Ångström", "नेटवर्क", "😀 emoji", "=",
    "-", "yes", "2026-11-28 15:05:00.000000", "A", "@", "0", "9 to 5",
]  # fmt: skip
ANSWERS = ["=ACME", "Открытость", 'He said "no"', "", None, 12, -3, 12.5, 1e20, True, ["=a", "b"],
           {"k": "=v"}, "line\nbreak"]  # fmt: skip
STATUSES = ["approved", "pending", "confirmed", "rejected", "withdrawn", "approved", "=odd"]
MOMENTS = [
    datetime(2026, 11, 28, 15, 5, 0, 123456, tzinfo=UTC),
    datetime(2026, 11, 28, 15, 5, 0, tzinfo=UTC),  # no microseconds: ISO 8601 leaves them out
    datetime(2012, 12, 3, 9, 0, 0, 1, tzinfo=UTC),
    datetime(1850, 1, 1, 0, 0, 0, tzinfo=UTC),  # local mean time: offsets to the second
    None,
]
QUESTIONS = [
    {"name": "employer", "label": "Your employer", "required": False, "max_length": 200},
    {"name": "why", "label": "Why do you sign?", "required": False, "max_length": 200},
]
REQUESTS = [
    ExportRequest(),
    ExportRequest(shape="presentable"),
    ExportRequest(status="approved"),
    ExportRequest(status="=odd"),
    ExportRequest(kind="organization", country="ke"),
    ExportRequest(country="=1"),
]


def awkward_rows(campaign_id: int, count: int, start: int = 0) -> list[dict]:
    """Signatures where every column takes its turn at every awkward value."""
    texts, short = cycle(AWKWARD), cycle([value for value in AWKWARD if len(value) <= 8])
    rows = []
    for i in range(start, start + count):
        moment = MOMENTS[i % len(MOMENTS)]
        rows.append({
            "campaign_id": campaign_id, "status": STATUSES[i % len(STATUSES)],
            "kind": "organization" if i % 3 else next(short),
            "name": next(texts), "email": None if i % 4 == 0 else next(texts),
            "email_normalized": None, "organization": next(texts), "role": next(texts),
            "city": next(texts), "country": ["KE", "=1", "", "SN", "\t", "-"][i % 6],
            "list_publicly": i % 2 == 0, "receive_updates": i % 3 == 0,
            "language": "ar" if i % 5 else next(short), "source": ["web", "paper"][i % 2],
            "rejection_reason": next(texts) if i % 6 == 0 else "",
            "extra": {"employer": ANSWERS[i % len(ANSWERS)]} if i % 7 else {"why": next(texts)},
            "created_at": moment or MOMENTS[0], "confirmed_at": moment,
            "approved_at": MOMENTS[(i + 1) % len(MOMENTS)],
            "rejected_at": moment if i % 2 else None, "withdrawn_at": None,
        })  # fmt: skip
    return rows


def reference(campaign, request: ExportRequest) -> bytes:
    """The export as the Python writer makes it, cell by cell."""
    header = columns(request, campaign)
    rows = export_rows(db.session, campaign, request, batch=7)
    return "".join(csv_chunks(header, rows)).encode()


def fast(campaign, request: ExportRequest, **options: int) -> bytes:
    return b"".join(export_csv(db.session, campaign, request, **options))


def add_awkward(app, slug: str = "let-us-in", count: int = 120, **changes: object) -> None:
    campaign_id = make_campaign(app, slug, custom_fields=QUESTIONS, **changes)
    with app.app_context():
        db.session.execute(insert(Signature), awkward_rows(campaign_id, count))
        # A negative id: the one number that would start a formula.
        db.session.execute(insert(Signature), [{**awkward_rows(campaign_id, 1)[0], "id": -7}])
        db.session.commit()


def test_same_bytes_as_the_python_writer_on_awkward_data(app):
    add_awkward(app)
    make_campaign(app, "nobody-signed")
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        for request in REQUESTS:
            expected = reference(campaign, request)
            assert fast(campaign, request) == expected, request
        # Several ranges, read by this process and two helper processes (SQLite).
        assert fast(campaign, ExportRequest(), processes=3, chunk_rows=9) == reference(
            campaign, ExportRequest()
        )
        empty = get_campaign(db.session, "nobody-signed")
        assert fast(empty, ExportRequest()) == reference(empty, ExportRequest())
        assert fast(empty, ExportRequest()).startswith(b'\xef\xbb\xbf"id","status"')
        text_ = fast(campaign, ExportRequest()).decode("utf-8-sig")
    assert '"\'=1+1"' in text_ and '"\'\tTab"' in text_ and '"line one\nline two"' in text_
    assert '"\'-7","' in text_ and ('"2026-11-28T15:05:00",' in text_
                                  or '"2026-11-28T15:05:00+00:00",' in text_)  # fmt: skip
    assert '"Jean ""JJ"", Jr"' in text_ and text_.endswith("\r\n")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_same_bytes_in_every_postgresql_time_zone(app):
    add_awkward(app, count=40)
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        # psycopg returns times in the server's zone; one it cannot name, it reads as UTC.
        for zone in ("Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "<-00:30>+00:30"):
            db.session.execute(text(f"SET TIME ZONE '{zone}'"))
            assert fast(campaign, ExportRequest()) == reference(campaign, ExportRequest()), zone


def test_the_command_writes_the_same_file(app, runner, tmp_path: Path):
    add_awkward(app, count=60)
    output = tmp_path / "out.csv"
    result = runner.invoke(args=["signatures", "export", "--campaign", "let-us-in",
                                 "--country", "ke", "--output", str(output)])  # fmt: skip
    assert result.exit_code == 0, result.output
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        assert output.read_bytes() == reference(campaign, ExportRequest(country="ke"))


def test_memory_stays_flat(sqlite_app):
    """Ten times the rows, not ten times the memory: one range of lines is held at a time."""

    def peak(slug: str, count: int) -> int:
        campaign_id = make_campaign(sqlite_app, slug)
        with sqlite_app.app_context():
            rows = list(islice(cycle(awkward_rows(campaign_id, 200)), count))
            db.session.execute(insert(Signature), rows)
            db.session.commit()
            campaign = get_campaign(db.session, slug)
            tracemalloc.start()
            for _chunk in export_csv(db.session, campaign, ExportRequest(), processes=1,
                                     chunk_rows=500):  # fmt: skip
                pass
            result = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return result

    small, large = peak("small", 1_000), peak("large", 10_000)
    assert large < 1.5 * small


@pytest.mark.parametrize("shape", ["middle"])
def test_a_bad_shape_is_refused_before_anything_is_read(app, shape: str):
    from toolkit.campaigns.exports import ExportError

    make_campaign(app)
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        with pytest.raises(ExportError):
            export_csv(db.session, campaign, ExportRequest(shape=shape))


def test_times_hold_their_microseconds(app):
    campaign_id = make_campaign(app)
    moment = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    with app.app_context():
        db.session.execute(insert(Signature), [
            {"campaign_id": campaign_id, "name": f"S{i}", "status": "approved",
             "created_at": moment + timedelta(microseconds=i)} for i in range(3)
        ])  # fmt: skip
        db.session.commit()
        campaign = get_campaign(db.session, "let-us-in")
        lines = fast(campaign, ExportRequest()).decode("utf-8-sig").split("\r\n")[1:-1]
    created = [line.split('","')[13] for line in lines]
    suffix = "+00:00" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else ""
    assert created == [f"2026-11-28T09:30:00{micro}{suffix}" for micro in ("", ".000001",
                                                                           ".000002")]  # fmt: skip
