"""The public count under a surge: a figure kept on the campaign and retaken by one request at a
time, at most every COUNT_REFRESH_SECONDS.

Why: a viral campaign's page is read thousands of times a second, and a COUNT over its
signatures on every view makes the database the bottleneck (the UK Parliament's petitions site
fell over that way in 2019). Here a view reads the figure stored on the campaign row it has
already loaded; once the figure is older than the refresh interval, one request claims the
recount with a conditional UPDATE, counts, and stores the result, while every other request
goes on showing the stored figure. Nobody waits on anybody: on PostgreSQL the claim skips a row
another transaction holds, and on SQLite a busy database means the stored figure is shown.

The exact count (`signing.count_signatures`) stays what dashboards, exports and letters use;
`recount` (`toolkit signatures recount`) makes the stored figures exact at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.signing import COUNTED, count_signatures
from toolkit.db import utcnow

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 5.0  # seconds; the app's COUNT_REFRESH_SECONDS when there is an app
SQLITE_WAIT_MS = 250  # how long the recount waits for a busy SQLite file before giving up

_campaigns = Campaign.__table__
# One recount at a time per campaign in this process: the others show the stored figure rather
# than each taking a second database connection to ask for the claim.
_gates: dict[tuple[int, int], threading.Lock] = {}


def public_count(session: Session, campaign: Campaign, *, max_age: float | None = None) -> int:
    """The count people see: the stored figure while it is younger than ``max_age`` seconds
    (default: COUNT_REFRESH_SECONDS), otherwise retaken. 0 counts exactly on every read."""
    if max_age is None:
        max_age = configured_max_age()
    if max_age <= 0:
        return count_signatures(session, campaign)
    now = utcnow()
    stored, taken_at = campaign.public_count, _aware(campaign.public_count_at)
    if stored is not None and taken_at is not None and now - taken_at < timedelta(seconds=max_age):
        return stored
    engine = session.get_bind().engine
    gate = _gates.setdefault((id(engine), campaign.id), threading.Lock())
    if not gate.acquire(blocking=False):  # another thread of this process is at it
        figure = stored
    else:
        try:
            figure = _retake(engine, session, campaign, now, max_age)
        except OperationalError as exc:  # a busy SQLite file, a server going away: no error page
            log.warning("public count of %s not retaken (%s): showing the stored figure",
                        campaign.slug, exc.orig)  # fmt: skip
            figure = stored
        finally:
            gate.release()
    if figure is None:  # never counted, and the recount could not be done now
        with session.no_autoflush:
            return count_signatures(session, campaign)
    return figure


def recount(
    session: Session, campaign: Campaign | None = None
) -> list[tuple[Campaign, int | None, int]]:
    """Make the stored public counts exact now, for one campaign or all: (campaign, stored
    before, exact) each. The caller commits."""
    query = select(Signature.campaign_id, func.count()).where(Signature.status.in_(COUNTED))
    if campaign is not None:
        campaigns = [campaign]
        query = query.where(Signature.campaign_id == campaign.id)
    else:
        campaigns = list(session.scalars(select(Campaign).order_by(Campaign.slug)))
    exact: dict[int, int] = dict(session.execute(query.group_by(Signature.campaign_id)).all())
    now = utcnow()
    changes = []
    for each in campaigns:
        before, after = each.public_count, exact.get(each.id, 0)
        each.public_count, each.public_count_at = after, now
        changes.append((each, before, after))
    return changes


def configured_max_age() -> float:
    """COUNT_REFRESH_SECONDS of the app at hand (services run without one too)."""
    from flask import current_app, has_app_context  # noqa: PLC0415 - config only, no request

    if not has_app_context():
        return DEFAULT_MAX_AGE
    return float(current_app.config.get("COUNT_REFRESH_SECONDS", DEFAULT_MAX_AGE))


def _retake(
    engine: Engine, session: Session, campaign: Campaign, now: datetime, max_age: float
) -> int | None:
    """Claim the recount; the one request that wins counts and stores the figure. A request
    that loses gets the figure stored now (None if there is none yet).

    Runs on a connection of its own, committed at once, so the caller's transaction is neither
    written to nor held up, and the claim is visible to every other process straight away.
    """
    stale = or_(_campaigns.c.public_count_at.is_(None),
                _campaigns.c.public_count_at < now - timedelta(seconds=max_age))  # fmt: skip
    with engine.connect() as connection, _short_waits(connection):
        claimed = connection.execute(
            update(_campaigns)
            .where(_campaigns.c.id.in_(_free_row(campaign.id, stale)))
            .values(public_count_at=now)
        ).rowcount
        connection.commit()
        if claimed != 1:
            return connection.scalar(
                select(_campaigns.c.public_count).where(_campaigns.c.id == campaign.id)
            )
        with session.no_autoflush:  # a read: the caller's pending changes stay unflushed
            figure = count_signatures(session, campaign)
        # Only if nobody claimed a later recount meanwhile (theirs is the newer figure).
        connection.execute(
            update(_campaigns)
            .where(_campaigns.c.id.in_(_free_row(campaign.id,
                                                 _campaigns.c.public_count_at == now)))
            .values(public_count=figure)
        )  # fmt: skip
        connection.commit()
    # The caller's object shows the new figure without being marked as changed.
    set_committed_value(campaign, "public_count", figure)
    set_committed_value(campaign, "public_count_at", now)
    return figure


def _free_row(campaign_id: int, condition):  # noqa: ANN001, ANN202 - SQL expressions
    """The campaign's id when the condition holds and no other transaction holds its row
    (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite, which locks the whole file, renders no clause)."""
    return (
        select(_campaigns.c.id)
        .where(_campaigns.c.id == campaign_id, condition)
        .with_for_update(skip_locked=True)
    )


@contextmanager
def _short_waits(connection: Connection) -> Iterator[None]:
    """SQLite: wait a moment, not the usual seconds, for a writer; the figure can wait."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
    connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
    try:
        yield
    finally:
        connection.rollback()  # anything a failed statement left open
        connection.exec_driver_sql(f"PRAGMA busy_timeout={previous}")


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
