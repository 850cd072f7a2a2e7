"""`toolkit mail send` flushes the outbox; `toolkit mail test` checks that mail gets out."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from toolkit.db import utcnow
from toolkit.extensions import db
from toolkit.mail.delivery import destination
from toolkit.mail.models import MessageStatus
from toolkit.mail.outbox import (
    OutboxError,
    deliver_message,
    deliver_pending,
    deliver_until,
    queue_message,
)
from toolkit.validation import normalize_email

mail_cli = AppGroup("mail", help="The outbox: send queued messages, send a test message.")

TEST_TEXT = """\
This is a test message from the Advocacy Toolkit, sent at {when} (UTC).

If you can read it, the toolkit can send email: password resets, signature
confirmations and updates will reach people.
"""


def _database_error(exc: SQLAlchemyError) -> click.ClickException:
    """One line instead of a traceback (an unmigrated database, a server that is down)."""
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return click.ClickException(
        f"the database could not be used: {detail} (try `toolkit db upgrade`)"
    )


@mail_cli.command("send")
@click.option(
    "--all", "ignore_backoff", is_flag=True, help="Also send messages waiting to be retried."
)
def send(ignore_backoff: bool) -> None:
    """Send the queued messages now and print how many went."""
    config = current_app.config
    try:
        report = deliver_pending(db.session, config, limit=100_000, ignore_backoff=ignore_backoff)
    except SQLAlchemyError as exc:
        raise _database_error(exc) from exc
    where = destination(config)
    if not config.get("MAIL_SERVER") and report.sent:
        where = f"{where} (no MAIL_SERVER is set: messages are written as .eml files)"
    click.echo(
        f"sent {report.sent}, retrying later {report.retrying}, failed {report.failed}; to {where}"
    )


@mail_cli.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Seconds to wait when the outbox is empty (default: MAIL_WORKER_INTERVAL).",
)
def worker(interval: float | None) -> None:
    """Send mail as it is queued, until stopped (SIGTERM or Ctrl-C ends it cleanly).

    For TOOLKIT_MAIL_DELIVERY=worker on one machine (with Redis, `toolkit worker` also sends):
    web processes then only queue messages. A message being sent when the worker stops is
    finished first; one claimed by a worker that was killed is sent again after its claim
    expires (TOOLKIT_MAIL_LEASE_SECONDS).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    wait = interval if interval is not None else float(config["MAIL_WORKER_INTERVAL"])
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:  # noqa: ARG001
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    click.echo(f"mail worker: sending to {destination(config)}; stop with Ctrl-C")
    try:
        sent = deliver_until(app, stopping, wait)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"mail worker: stopped after sending {sent}")


@mail_cli.command("test")
@click.argument("address")
def test(address: str) -> None:
    """Send a test message to ADDRESS at once and say where it went."""
    config = current_app.config
    try:
        address = normalize_email(address)
    except ValueError as exc:
        raise click.ClickException(f"not a valid address: {exc}") from exc
    try:
        message = queue_message(
            db.session,
            to=address,
            subject="Test message from the Advocacy Toolkit",
            text=TEST_TEXT.format(when=utcnow().strftime("%Y-%m-%d %H:%M:%S")),
            kind="test",
        )
        db.session.commit()
        message = deliver_message(db.session, config, message.id)
    except OutboxError as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise _database_error(exc) from exc
    if message is None:  # another flusher took it first: it is on its way
        click.echo(f"queued for {address}; another process is sending it")
        return
    if message.status != MessageStatus.SENT.value:
        later = " (it stays in the outbox and will be retried)"
        if message.status == MessageStatus.FAILED.value:
            later = ""
        raise click.ClickException(f"not sent: {message.last_error}{later}")
    if message.eml_path:
        click.echo(f"written to {message.eml_path} (no MAIL_SERVER is set)")
    else:
        click.echo(f"sent to {address} through {destination(config)}")
