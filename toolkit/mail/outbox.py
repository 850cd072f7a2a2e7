"""One outbox serves every mail: queue with the change that causes it, deliver with retries."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from toolkit.db import utcnow, write_turn
from toolkit.mail.delivery import (
    Courier,
    DeliveryError,
    encode_attachment,
    format_addresses,
    make_message_id,
    parse_addresses,
)
from toolkit.mail.models import MessageStatus, OutboxMessage

__all__ = [
    "DeliveryReport",
    "Composed",
    "OutboxError",
    "compose",
    "count_by_status",
    "count_failed",
    "deliver_message",
    "deliver_pending",
    "deliver_soon",
    "deliver_until",
    "flush_outbox",
    "format_address",
    "lease",
    "list_messages",
    "queue_message",
    "register_composer",
    "requeue_message",
    "wait_for_deliveries",
]

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
# With Redis: set while a "flush the outbox" job waits in the queue, so a burst of requests
# queues one flush, not one each; it expires in case that job is lost with a Redis restart.
FLUSH_WAITING_KEY = "toolkit:outbox:flush-waiting"
FLUSH_WAITING_SECONDS = 300


class OutboxError(ValueError):
    """Something asked of the outbox cannot be done; the message says why."""


@dataclass(frozen=True)
class DeliveryReport:
    """What one flush did: messages sent, given up on, and left to retry later."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.retrying


def _utc(moment: datetime | None) -> datetime:
    """Aware UTC (SQLite returns naive datetimes, which are UTC here)."""
    if moment is None:
        return utcnow()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- queueing ----------------------------------------------------------------------------


def format_address(name: str, email: str) -> str:
    """A To: entry for a name and an address, quoted as needed (commas in names and all)."""
    username, _, domain = email.strip().rpartition("@")
    return str(Address(" ".join(name.split()), username, domain))


def message_row(
    *,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    kind: str = "",
    attachments: Sequence[tuple[str, str, bytes]] = (),
    not_before: datetime | None = None,
    composer: str | None = None,
    compose_args: Mapping | None = None,
) -> dict:
    """The outbox row for one message, checked: the column values, ready to insert.

    With ``composer`` (a name given to ``register_composer``) the subject and bodies are
    written by that function just before sending, from ``compose_args`` (JSON): a busy form
    then only inserts a row, and the sender does the writing.

    ``not_before`` holds a message back until then (a batch to governments is spread out so
    that no mail server takes it for a flood).

    ``to`` is one address or several ("Name <a@example.org>" or "a@example.org"; build
    entries with format_address when a name may hold commas). Attachments are
    (filename, mimetype, bytes). Raises OutboxError (a ValueError) for an unusable address.
    """
    entries = [to] if isinstance(to, str) else list(to)
    try:
        recipients = [address for entry in entries for address in parse_addresses(entry)]
        reply = parse_addresses(reply_to) if reply_to else ()
    except ValueError as exc:
        raise OutboxError(str(exc)) from exc
    if not recipients:
        raise OutboxError("a message needs at least one recipient")
    now = utcnow()
    return {
        "kind": kind[:64],
        "to_addresses": format_addresses(recipients),
        "reply_to": format_addresses(reply) or None,
        "subject": " ".join(subject.split()),
        "text_body": text,
        "html_body": html or None,
        "attachments": [encode_attachment(*item) for item in attachments],
        "composer": composer,
        "compose_args": dict(compose_args) if compose_args is not None else None,
        "status": MessageStatus.QUEUED.value,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "last_error": "",
        "created_at": now,
    }


def queue_message(session: Session, **message: Any) -> OutboxMessage:
    """Add a message to the session; the caller commits it with the change that causes it.

    Takes the keywords of ``message_row`` and raises OutboxError as it does.
    """
    queued = OutboxMessage(**message_row(**message))
    session.add(queued)
    return queued


def insert_rows(session: Session, rows: Sequence[Mapping]) -> None:
    """Insert rows from ``message_row`` at once, in the session's transaction, without the
    unit of work: for a request that must hold SQLite's write lock as briefly as it can."""
    if rows:
        session.execute(insert(OutboxMessage.__table__), [dict(row) for row in rows])


# --- composing when sent -------------------------------------------------------------------


@dataclass(frozen=True)
class Composed:
    """What a composer wrote: the subject and the bodies."""

    subject: str
    text: str
    html: str | None = None


Composer = Callable[[Session, OutboxMessage], "Composed | None"]
_composers: dict[str, Composer] = {}


def register_composer(name: str) -> Callable[[Composer], Composer]:
    """Name a function that writes a message when it is sent, from the queued row (its
    ``compose_args`` and addresses); it returns None when there is nothing to send any more."""

    def decorate(function: Composer) -> Composer:
        _composers[name] = function
        return function

    return decorate


def compose(session: Session, message: OutboxMessage) -> bool:
    """Write a deferred message's subject and bodies; False when there is nothing to send.

    Runs in an app context (the sender's); links are built from BASE_URL. The text is kept on
    the message, so a retry sends the same words and an admin sees what was sent.
    """
    if not message.composer or message.text_body:
        return True
    function = _composers.get(message.composer)
    if function is None:
        raise OutboxError(f"no composer named {message.composer!r} is registered")
    composed = function(session, message)
    if composed is None:
        return False
    message.subject = " ".join(composed.subject.split())
    message.text_body = composed.text
    message.html_body = composed.html or None
    return True


# --- delivering --------------------------------------------------------------------------


def _due(now: datetime, ignore_backoff: bool) -> ColumnElement[bool]:
    """Messages a flusher may take: queued and due (or any queued), or a crashed flusher's."""
    queued = OutboxMessage.status == MessageStatus.QUEUED.value
    if not ignore_backoff:
        queued = and_(queued, OutboxMessage.next_attempt_at <= now)
    abandoned = and_(
        OutboxMessage.status == MessageStatus.SENDING.value, OutboxMessage.next_attempt_at <= now
    )
    return or_(queued, abandoned)


def lease(config: Mapping) -> timedelta:
    """How long a claimed message is its flusher's (MAIL_LEASE_SECONDS): one not finished by
    then is taken to have lost its flusher (a killed worker) and is sent again."""
    return timedelta(seconds=float(config.get("MAIL_LEASE_SECONDS", 600)))


def _claim(
    session: Session, message_id: int, now: datetime, ignore_backoff: bool, held: timedelta
) -> bool:
    """Take one message with a single conditional UPDATE: of two flushers, exactly one wins."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _due(now, ignore_backoff))
        .values(status=MessageStatus.SENDING.value, next_attempt_at=now + held)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def _claim_batch(
    session: Session, ids: Sequence[int], now: datetime, ignore_backoff: bool, held: timedelta
) -> list[int]:
    """Take many messages with one UPDATE; the lease's end, unique to this flusher, marks them.

    Of two flushers racing for the same rows, each row goes to exactly one: the UPDATE is
    conditional, and each flusher then reads back only the rows carrying its own mark.
    """
    mark = now + held + timedelta(microseconds=secrets.randbelow(999_999) + 1)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _due(now, ignore_backoff))
        .values(status=MessageStatus.SENDING.value, next_attempt_at=mark)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    claimed = session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == MessageStatus.SENDING.value,
            OutboxMessage.next_attempt_at == mark,
        )
        .order_by(OutboxMessage.id)
    )
    result = list(claimed)
    session.commit()
    return result


def backoff(config: Mapping, attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: base, 2 × base, 4 × base … one hour."""
    base = float(config.get("MAIL_RETRY_BASE_SECONDS", 30))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _attempt(
    session: Session, message_id: int, config: Mapping, courier: Courier, now: datetime
) -> MessageStatus:
    """Deliver one claimed message and record what happened (committed)."""
    message = session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if not message.message_id:  # kept across retries (committed with the outcome below)
        message.message_id = make_message_id(config)
    try:
        # Nothing is written before the outcome: a composer's queries would otherwise flush
        # the message id now, and on SQLite hold the write lock through composing and
        # sending, while every signature waits for it.
        with session.no_autoflush:
            composed = compose(session, message)
        if not composed:
            gone = "not sent: what it was about no longer exists"
            return _failed_attempt(session, message, config, now, gone, True)
        delivered = courier.deliver(message, now=now)
    except DeliveryError as exc:
        return _failed_attempt(session, message, config, now, exc.reason, exc.permanent)
    except Exception as exc:  # noqa: BLE001 - a bad row must not stop the rest of the queue
        if _connection_lost(exc):
            raise  # the database went away, not this message: deliver_pending hands it back
        logger.exception("outbox: message %s could not be delivered", message_id)
        reason = f"could not build the message: {type(exc).__name__}: {exc}"
        return _failed_attempt(session, message, config, now, reason[:500], False)
    message.attempts += 1
    message.status = MessageStatus.SENT.value
    message.sent_at = now
    message.eml_path = delivered.eml_path
    if delivered.refused:
        message.last_error = f"sent, but some recipients were refused: {delivered.refused}"[:500]
    session.commit()  # the outcome is the only write: see above
    return MessageStatus.SENT


def _failed_attempt(
    session: Session,
    message: OutboxMessage,
    config: Mapping,
    now: datetime,
    reason: str,
    permanent: bool,
) -> MessageStatus:
    """Retry later with a growing wait, or give up after MAIL_MAX_ATTEMPTS (or at once)."""
    message.attempts += 1
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS", 8))
    if permanent or message.attempts >= max_attempts:
        message.status = MessageStatus.FAILED.value
        if not permanent:
            reason = f"gave up after {message.attempts} attempts: {reason}"
        message.last_error = reason[:500]
    else:
        message.status = MessageStatus.QUEUED.value
        message.next_attempt_at = now + backoff(config, message.attempts)
        message.last_error = reason
    session.commit()
    logger.warning("outbox: message %s not sent (%s): %s", message.id, message.status, reason)
    return MessageStatus(message.status)


def _tally(outcomes: list[MessageStatus]) -> DeliveryReport:
    return DeliveryReport(
        sent=outcomes.count(MessageStatus.SENT),
        failed=outcomes.count(MessageStatus.FAILED),
        retrying=outcomes.count(MessageStatus.QUEUED),
    )


def deliver_pending(
    session: Session,
    config: Mapping,
    *,
    now: datetime | None = None,
    limit: int = 100,
    ignore_backoff: bool = False,
) -> DeliveryReport:
    """Send what is due, one claimed message at a time; safe to run in several places at once.

    Commits as it goes, so give it a session with nothing else pending. Delivery problems
    never raise: they are recorded on the message (a database failure does raise).
    """
    now = _utc(now)
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(_due(now, ignore_backoff))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    )
    session.commit()  # end the read, so each claim starts from what is committed now
    outcomes: list[MessageStatus] = []
    if not ids:
        return DeliveryReport()
    claimed = _claim_batch(session, ids, now, ignore_backoff, lease(config))
    if not claimed:
        return DeliveryReport()
    with Courier(config) as courier:
        for position, message_id in enumerate(claimed):
            try:
                outcomes.append(_attempt(session, message_id, config, courier, now))
            except DBAPIError as exc:
                if _connection_lost(exc):
                    _hand_back(session, claimed[position:])
                raise
    return _tally(outcomes)


def _connection_lost(exc: BaseException) -> bool:
    """The database connection went away (a server restart), as opposed to a bad message."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _hand_back(session: Session, ids: Sequence[int]) -> None:
    """The database connection went away mid-batch (a server restart): this flusher's
    unfinished messages go back to the queue at once, not after their lease (ten minutes), as
    soon as the database answers again. If it does not answer yet, the lease still holds."""
    session.rollback()
    try:
        with write_turn(session):
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == MessageStatus.SENDING.value,
                )
                .values(status=MessageStatus.QUEUED.value, next_attempt_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        logger.warning("outbox: %d claimed messages wait for their lease (%s)", len(ids),
                       str(getattr(exc, "orig", None) or exc).splitlines()[0])  # fmt: skip


def deliver_message(
    session: Session, config: Mapping, message_id: int, *, now: datetime | None = None
) -> OutboxMessage | None:
    """Deliver one message now, backoff or not (for `toolkit mail test`); None if not queued."""
    now = _utc(now)
    if not _claim(session, message_id, now, ignore_backoff=True, held=lease(config)):
        return None
    with Courier(config) as courier:
        _attempt(session, message_id, config, courier, now)
    return session.get(OutboxMessage, message_id)


# --- in-process background delivery -----------------------------------------------------

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


class _BackgroundFlusher:
    """One delivery thread per app and process: a request during a flush asks for one more.

    So a burst of signatures starts one thread and one SMTP connection, not one per request.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.again = False

    def request(self) -> None:
        with self.lock:
            if self.thread is not None:
                self.again = True
                return
            thread = self.thread = threading.Thread(
                target=self._run, name="outbox-delivery", daemon=True
            )
        with _threads_lock:
            _threads.add(thread)
        try:
            thread.start()
        except BaseException:
            with self.lock:
                self.thread = None
            with _threads_lock:
                _threads.discard(thread)
            raise

    def _run(self) -> None:
        try:
            while True:
                self._flush()
                with self.lock:
                    if not self.again:
                        self.thread = None
                        return
                    self.again = False
        finally:
            with self.lock:  # also after an unexpected exit, so later requests start anew
                if self.thread is threading.current_thread():
                    self.thread = None
            with _threads_lock:
                _threads.discard(threading.current_thread())

    def _flush(self) -> None:
        """One flush in a fresh app context; log, never raise."""
        from toolkit.extensions import db  # noqa: PLC0415 - extensions import Flask machinery

        try:
            with self.app.app_context():
                deliver_pending(db.session, self.app.config)
        except Exception:  # noqa: BLE001 - a background thread has no one to raise to
            logger.exception("outbox: background delivery failed")


def deliver_soon() -> None:
    """Have the outbox flushed soon after a request queued mail (and committed it); never raises.

    The in-process default flushes in a daemon thread. With REDIS_URL it queues one "flush
    the outbox" job for `toolkit worker` instead (one at most waits at a time), so no web
    process sends mail. With ``MAIL_DELIVERY = "worker"`` it does nothing: a worker process
    (`toolkit worker` or `toolkit mail worker`) finds the mail itself, so a surge of signatures
    costs the web processes only the insert of each message.
    """
    try:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if app.config.get("MAIL_DELIVERY") == "worker":
            return
        if app.config.get("REDIS_URL"):
            from toolkit.jobs import enqueue_task  # noqa: PLC0415 - jobs import Flask machinery

            enqueue_task(app, flush_outbox, once=FLUSH_WAITING_KEY,
                         once_seconds=FLUSH_WAITING_SECONDS)  # fmt: skip
            return
        flusher = app.extensions.setdefault("toolkit.outbox", _BackgroundFlusher(app))
        flusher.request()
    except Exception:  # noqa: BLE001 - queued mail is safe; a worker or `toolkit mail send` sends it
        logger.exception("outbox: could not start background delivery")


def flush_outbox() -> None:
    """The job deliver_soon queues when Redis is configured: `toolkit worker` sends what is due."""
    from toolkit.extensions import db  # noqa: PLC0415 - extensions import Flask machinery

    deliver_pending(db.session, current_app.config)


def deliver_until(app: Flask, stop: threading.Event, interval: float) -> int:
    """Send mail as it comes due until ``stop`` is set; return how many messages went.

    The loop of `toolkit mail worker` and of `toolkit worker`'s mail thread: a full batch is
    followed at once by the next, an empty outbox is looked at again after ``interval``
    seconds. A database that is away is logged and tried again; it never ends the loop.
    """
    from toolkit.extensions import db  # noqa: PLC0415 - extensions import Flask machinery

    sent = 0
    while not stop.is_set():
        try:
            with app.app_context():
                report = deliver_pending(db.session, app.config, limit=100)
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            logger.warning("outbox: the database could not be used: %s", detail)
            stop.wait(interval)
            continue
        except Exception:  # noqa: BLE001 - a mail loop outlives one bad flush
            logger.exception("outbox: delivery failed")
            stop.wait(interval)
            continue
        sent += report.sent
        if report.total == 0:
            stop.wait(interval)
    return sent


def wait_for_deliveries(timeout: float = 10.0) -> bool:
    """Wait for background deliveries started here (tests, shutdown); True when all ended."""
    deadline = time.monotonic() + timeout
    while True:
        with _threads_lock:
            threads = list(_threads)
        if not threads:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        threads[0].join(remaining)


# --- for the admin pages -----------------------------------------------------------------


def count_failed(session: Session) -> int:
    """Messages given up on, for the admin dashboard."""
    query = select(func.count()).where(OutboxMessage.status == MessageStatus.FAILED.value)
    return session.scalar(query.select_from(OutboxMessage)) or 0


def count_by_status(session: Session) -> dict[str, int]:
    """How many messages are in each state (every state present, zero or not)."""
    counts = {status.value: 0 for status in MessageStatus}
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    for status, count in session.execute(query):
        counts[status] = count
    return counts


def list_messages(
    session: Session, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[OutboxMessage]:
    """Messages newest first, optionally in one state."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(session.scalars(query))


def requeue_message(
    session: Session, message: OutboxMessage, *, now: datetime | None = None
) -> OutboxMessage:
    """Give a failed message a fresh set of attempts (the caller commits, with its audit)."""
    if message.status != MessageStatus.FAILED.value:
        raise OutboxError("Only a failed message can be sent again.")
    message.status = MessageStatus.QUEUED.value
    message.attempts = 0
    message.next_attempt_at = _utc(now)
    return message
