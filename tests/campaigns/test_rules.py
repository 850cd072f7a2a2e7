"""A web process's copy of a campaign's signing rules (toolkit/campaigns/rules.py).

The copy spares the busiest request a campaign query; it must never let a signature past a
campaign that was closed, paused, past its deadline or deleted meanwhile by another process
(here: straight in the database, as another machine would).
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from psycopg import pq
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.engine import Engine

from tests.campaigns.helpers import make_campaign, sign
from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.service import get_campaign
from toolkit.db import utcnow
from toolkit.extensions import db
from toolkit.mail.models import OutboxMessage


@pytest.fixture
def cached(app):
    app.config["CAMPAIGN_CACHE_SECONDS"] = 3600
    return app


def elsewhere(app, **values: object) -> None:
    """Change the campaign as another process would: in the database, behind this one's back."""
    with app.app_context():
        table = Campaign.__table__
        db.session.execute(update(table).where(table.c.slug == "let-us-in").values(**values))
        db.session.commit()


def stored(app) -> tuple[list[str], int]:
    """The signers' emails and the number of queued mails."""
    with app.app_context():
        emails = db.session.scalars(select(Signature.email).order_by(Signature.id)).all()
        return list(emails), db.session.scalar(select(func.count()).select_from(OutboxMessage))


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"state": "closed"}, 409, "This campaign is closed"),
        ({"signing_paused": True}, 409, "Signing is paused for a short while"),
        ({"deadline": "past"}, 409, "The deadline for signing has passed"),
        ({}, 404, "There is no campaign at this address."),  # deleted
    ],
    ids=["closed", "paused", "deadline", "deleted"],
)
def test_a_stale_copy_never_lets_a_signature_past_the_database(
    cached, client, change, status, says
):
    app = cached
    make_campaign(app)
    assert sign(client, email="first@example.org").status_code == 302  # the copy is now warm
    if change.get("deadline") == "past":
        change = {"deadline": utcnow() - timedelta(minutes=1)}
    if change:
        elsewhere(app, **change)
    else:
        with app.app_context():
            db.session.execute(delete(Campaign.__table__))
            db.session.commit()

    response = sign(client, email="second@example.org")
    assert response.status_code == status
    assert says in response.get_data(as_text=True)
    emails, mails = stored(app)
    assert "second@example.org" not in emails  # nothing stored, no mail queued
    assert mails == 1  # the first signer's confirmation only
    # The refusal also dropped the stale copy: the public page and the next try agree.
    assert sign(client, email="third@example.org").status_code == status


def test_reopening_elsewhere_takes_signatures_again(cached, client):
    app = cached
    make_campaign(app, require_confirmation=False)
    assert sign(client, email="first@example.org").status_code == 302
    elsewhere(app, state="closed")
    assert sign(client, email="second@example.org").status_code == 409
    elsewhere(app, state="open")
    assert sign(client, email="second@example.org").status_code == 302
    assert stored(app)[0] == ["first@example.org", "second@example.org"]


def test_the_form_follows_a_change_elsewhere_within_the_cache_time(cached, client):
    app = cached
    make_campaign(app, require_confirmation=False)
    assert sign(client, email="first@example.org").status_code == 302
    elsewhere(app, field_rules={"country": "required", "organization": "required"})
    # Within CAMPAIGN_CACHE_SECONDS this process still asks what it asked before ...
    assert sign(client, email="second@example.org", kind="individual", organization="").status_code == 302  # fmt: skip
    # ... and once its copy is that old, it asks what the organizer asks now.
    app.config["CAMPAIGN_CACHE_SECONDS"] = 0.2
    time.sleep(0.3)
    sign(client, email="warm@example.org", kind="individual", organization="")  # fresh copy
    response = sign(client, email="third@example.org", kind="individual", organization="")
    assert response.status_code == 422
    assert "third@example.org" not in stored(app)[0]


def test_a_change_made_in_this_process_is_seen_at_once(cached, client):
    app = cached
    make_campaign(app, require_confirmation=False)
    assert sign(client, email="first@example.org").status_code == 302
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        campaign.field_rules = {"country": "required", "organization": "required"}
        db.session.commit()
    response = sign(client, email="second@example.org", kind="individual", organization="")
    assert response.status_code == 422 and "This field is required." in response.get_data(
        as_text=True
    )


@contextmanager
def sent_to_the_database(engine: Engine) -> Iterator[list[tuple[str, str]]]:
    """What this thread's connections send to the database, as the driver reports it:
    SQLite's statement trace, or libpq's protocol trace (PostgreSQL). Entries are (kind,
    text): ("statement", sql) on SQLite; on PostgreSQL, the client's protocol messages (a
    round trip ends with "Sync" in the extended protocol, or is one "Query" in the simple
    one) and ("trace", the whole trace). The pool's liveness check comes before checkout,
    so it is not seen here."""
    sent: list[tuple[str, str]] = []
    thread = threading.get_ident()  # the test client runs the request here
    traces: dict[int, object] = {}

    def checkout(dbapi_connection, _record, _proxy) -> None:  # noqa: ANN001
        if threading.get_ident() != thread:  # not the mail sent in the background
            return
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(lambda sql: sent.append(("statement", sql)))
        else:
            trace = tempfile.TemporaryFile()
            dbapi_connection.pgconn.trace(trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            traces[id(dbapi_connection)] = trace

    def checkin(dbapi_connection, _record) -> None:  # noqa: ANN001
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(None)
            return
        trace = traces.pop(id(dbapi_connection), None)
        if trace is None:
            return
        dbapi_connection.pgconn.untrace()
        trace.seek(0)
        text = trace.read().decode(errors="replace")
        sent.append(("trace", " ".join(text.split())))
        for line in text.splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and fields[0] == "F":  # from the client
                sent.append((fields[2], " ".join(" ".join(fields[3:]).split())))
        trace.close()

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield sent
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


def test_with_a_warm_copy_a_signature_is_stored_without_reading_the_campaign(cached, client):
    """SQLite: two inserts (in the write turn); PostgreSQL: one statement, one round trip."""
    app = cached
    make_campaign(app)
    assert sign(client, email="first@example.org").status_code == 302
    with app.app_context():
        engine = db.engine
    with sent_to_the_database(engine) as sent:
        assert sign(client, email="second@example.org").status_code == 302
    if app.config["DATABASE_URL"].startswith("postgresql"):
        round_trips = [entry for entry in sent if entry[0] in ("Sync", "Query")]
        (trace,) = [text for kind, text in sent if kind == "trace"]
        assert len(round_trips) == 1, sent
        assert '"WITH new_signature AS (INSERT INTO signatures' in trace
        assert "new_mail0 AS (INSERT INTO outbox_messages" in trace
    else:
        statements = [" ".join(text.split()[:3]) for _kind, text in sent]
        assert [text for text in statements if text not in ("BEGIN", "COMMIT")] == [
            "INSERT INTO signatures",
            "INSERT INTO outbox_messages",
        ], statements
    assert stored(app) == (["first@example.org", "second@example.org"], 2)


def test_a_campaign_created_after_a_miss_takes_signatures_at_once(cached, client):
    assert sign(client, email="early@example.org").status_code == 404  # no such campaign yet
    make_campaign(cached, require_confirmation=False)  # made in this process
    assert sign(client, email="first@example.org").status_code == 302
