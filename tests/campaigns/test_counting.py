"""The batched public count: stored, retaken once per window by one request, made exact by
`recount`, and never an error when the database is busy."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from tests.campaigns.helpers import make_campaign
from tests.conftest import base_config
from toolkit import create_app
from toolkit.campaigns.counting import public_count, recount
from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.service import get_campaign
from toolkit.campaigns.signing import count_signatures
from toolkit.db import utcnow
from toolkit.extensions import db

WINDOW = 60  # seconds: longer than any test, so only the tests move the clock


def add_signatures(app, n: int, *, status: str = "confirmed", slug: str = "let-us-in") -> None:
    """n signatures written straight to the database, as many web processes would."""
    with app.app_context():
        campaign = get_campaign(db.session, slug)
        start = db.session.query(Signature).count()
        for i in range(start, start + n):
            email = f"s{i}@example.org"
            db.session.add(Signature(campaign_id=campaign.id, name=f"Signer {i}", email=email,
                                     email_normalized=email, status=status, country="KE"))  # fmt: skip
        db.session.commit()


def age_stored_count(app, seconds: float, slug: str = "let-us-in") -> None:
    """Make the stored figure look older, as time passing would."""
    with app.app_context():
        campaign = get_campaign(db.session, slug)
        campaign.public_count_at = utcnow() - timedelta(seconds=seconds)
        db.session.commit()


def read(app, slug: str = "let-us-in", max_age: float = WINDOW) -> int:
    """The public count as a fresh request would read it."""
    with app.app_context():
        return public_count(db.session, get_campaign(db.session, slug), max_age=max_age)


def stored(app, slug: str = "let-us-in") -> tuple[int | None, object]:
    with app.app_context():
        row = db.session.execute(
            select(Campaign.public_count, Campaign.public_count_at).where(Campaign.slug == slug)
        ).one()
        return row.public_count, row.public_count_at


def test_the_stored_figure_is_shown_within_the_window(app):
    make_campaign(app)
    add_signatures(app, 3)
    add_signatures(app, 2, status="pending")  # not counted, as in count_signatures
    assert read(app) == 3  # never counted: counted now and stored
    assert stored(app)[0] == 3
    add_signatures(app, 4)
    assert read(app) == 3  # within the window: the stored figure, no COUNT
    with app.app_context():
        assert count_signatures(db.session, get_campaign(db.session, "let-us-in")) == 7


def test_the_figure_is_retaken_after_the_window(app):
    make_campaign(app)
    add_signatures(app, 3)
    assert read(app) == 3
    add_signatures(app, 4)
    age_stored_count(app, WINDOW + 1)
    before = utcnow()
    assert read(app) == 7
    count, taken_at = stored(app)
    assert count == 7
    assert taken_at.replace(tzinfo=None) >= before.replace(tzinfo=None)
    # a small window, really waited out
    add_signatures(app, 1)
    time.sleep(0.3)
    assert read(app, max_age=0.2) == 8


def test_the_api_uses_the_batched_count(app, client):
    app.config["COUNT_REFRESH_SECONDS"] = WINDOW
    make_campaign(app)
    add_signatures(app, 2)
    assert client.get("/api/v1/campaigns/let-us-in").get_json()["signatures"] == 2
    add_signatures(app, 5)
    assert client.get("/api/v1/campaigns/let-us-in").get_json()["signatures"] == 2
    age_stored_count(app, WINDOW + 1)
    assert client.get("/api/v1/campaigns/let-us-in").get_json()["signatures"] == 7
    app.config["COUNT_REFRESH_SECONDS"] = 0  # exact on every read
    add_signatures(app, 1)
    assert client.get("/api/v1/campaigns/let-us-in").get_json()["signatures"] == 8


def test_recount_makes_every_figure_exact(app):
    make_campaign(app)
    make_campaign(app, "second", kind="petition")
    make_campaign(app, "never-read")
    add_signatures(app, 3)
    add_signatures(app, 2, slug="second")
    assert (read(app), read(app, "second")) == (3, 2)
    add_signatures(app, 4)
    add_signatures(app, 1, slug="second", status="withdrawn")
    with app.app_context():
        changes = recount(db.session)
        db.session.commit()
        assert [(c.slug, before, after) for c, before, after in changes] == [
            ("let-us-in", 3, 7), ("never-read", None, 0), ("second", 2, 2)
        ]  # fmt: skip
    assert read(app) == 7  # exact, and fresh: no COUNT needed
    assert stored(app, "never-read")[0] == 0


def test_recount_cli_prints_stored_and_exact_figures(app, runner):
    make_campaign(app)
    make_campaign(app, "second")
    add_signatures(app, 1)
    assert read(app) == 1
    add_signatures(app, 1233)
    result = runner.invoke(args=["signatures", "recount"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "let-us-in: stored 1, exact 1,234 (off by +1,233)",
        "second: stored none, exact 0",
        "2 campaign(s) recounted.",
    ]
    assert stored(app)[0] == 1234
    result = runner.invoke(args=["signatures", "recount", "--campaign", "let-us-in"])
    assert result.output.splitlines() == [
        "let-us-in: stored 1,234, exact 1,234", "1 campaign(s) recounted."
    ]  # fmt: skip
    result = runner.invoke(args=["signatures", "recount", "--campaign", "nope"])
    assert result.exit_code == 1 and "no campaign 'nope'" in result.output


def _count_statements(engine, seen: list[str]) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def remember(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        if statement.lstrip().upper().startswith("SELECT COUNT") and "signatures" in statement:
            seen.append(statement)


def test_concurrent_readers_in_two_processes_recount_once(app, database_url, tmp_path: Path):
    """Two apps (as two processes) on one database, 16 readers at the moment the figure goes
    stale: none errs, each shows the old or the new figure, and exactly one of them counts."""
    other = create_app({**base_config(database_url, tmp_path / "other"),
                        "COUNT_REFRESH_SECONDS": WINDOW})  # fmt: skip
    app.config["COUNT_REFRESH_SECONDS"] = WINDOW
    try:
        make_campaign(app)
        add_signatures(app, 10)
        assert read(app) == 10
        add_signatures(app, 5)
        age_stored_count(app, WINDOW + 1)
        counts: list[str] = []
        for each in (app, other):
            with each.app_context():
                _count_statements(db.engine, counts)
        results: list[int] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(16)

        def reader(each) -> None:  # noqa: ANN001 - a Flask app
            try:
                with each.app_context():
                    campaign = get_campaign(db.session, "let-us-in")
                    barrier.wait()
                    results.append(public_count(db.session, campaign))
                    db.session.remove()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=reader, args=(app if i % 2 else other,))
                   for i in range(16)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(results) == 16 and set(results) <= {10, 15} and 15 in results
        assert len(counts) == 1, counts
        assert stored(app)[0] == 15 and read(app) == 15
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_busy_database_shows_the_stored_figure_without_waiting(app, client, database_url):
    """A writer holds the campaign (SQLite: the whole file) while the figure is stale: the count
    is served at once from what is stored, never an error page."""
    app.config["COUNT_REFRESH_SECONDS"] = WINDOW
    make_campaign(app)
    add_signatures(app, 2)
    assert read(app) == 2
    add_signatures(app, 3)
    age_stored_count(app, WINDOW + 1)
    with app.app_context():
        campaign_id = get_campaign(db.session, "let-us-in").id
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE campaigns SET goal = 1 WHERE id = ?", (campaign_id,))
    else:
        engine = create_engine(url)
        holder = engine.connect()
        holder.execute(text("SELECT id FROM campaigns WHERE id = :id FOR UPDATE"),
                       {"id": campaign_id})  # fmt: skip
    try:
        started = time.monotonic()
        response = client.get("/api/v1/campaigns/let-us-in")
        took = time.monotonic() - started
        assert response.status_code == 200
        assert response.get_json()["signatures"] == 2
        assert took < 3, f"the count waited {took:.1f} s for the writer"
    finally:
        holder.rollback()
        holder.close()
        if url.get_backend_name() != "sqlite":
            engine.dispose()
    # the writer gone, the next read retakes the figure
    assert client.get("/api/v1/campaigns/let-us-in").get_json()["signatures"] == 5
