"""The outbox service: queue, deliver by SMTP (a real aiosmtpd server) or as .eml, retry."""

from __future__ import annotations

import os
import re
import stat
import threading
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from tests.smtp import body_text, mail_config, smtp_server  # noqa: F401
from toolkit.extensions import db
from toolkit.mail.delivery import format_addresses, parse_addresses, parse_header_addresses
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.mail.outbox import (
    Composed,
    DeliveryReport,
    OutboxError,
    backoff,
    count_by_status,
    count_failed,
    deliver_pending,
    deliver_soon,
    format_address,
    queue_message,
    register_composer,
    wait_for_deliveries,
)

ARABIC_NAME = "منظمة المجتمع المدني"
CHINESE_SUBJECT = "请确认您的签名：开放互联网"
PDF_BYTES = b"%PDF-1.4\n% a small test file\n" + bytes(range(256)) * 8


def utc(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes (stored as UTC); PostgreSQL returns aware ones."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@pytest.fixture
def outbox_dir(app, tmp_path: Path) -> Path:
    """Where .eml files go in these tests (never the real instance folder)."""
    folder = tmp_path / "outbox"
    app.config["OUTBOX_DIR"] = str(folder)
    return folder


def queue(app, **fields) -> int:
    """Queue one message and commit it; returns its id."""
    values = {"to": "grace@example.org", "subject": "Hello", "text": "Hello there.", "kind": "test"}
    values.update(fields)
    with app.app_context():
        message = queue_message(db.session, **values)
        db.session.commit()
        return message.id


def flush(app, **options) -> DeliveryReport:
    with app.app_context():
        return deliver_pending(db.session, app.config, **options)


def load(app, message_id: int) -> OutboxMessage:
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge(message)
        return message


# --- queueing ----------------------------------------------------------------------------


def test_queue_adds_to_the_session_and_the_caller_commits(app, outbox_dir):
    with app.app_context():
        message = queue_message(
            db.session, to=["a@example.org", f"{ARABIC_NAME} <b@example.org>"],
            subject="Line one\r\nBcc: evil@example.org", text="Body", kind="password-reset",
        )  # fmt: skip
        assert message in db.session.new
        db.session.rollback()
        assert db.session.scalar(select(OutboxMessage)) is None

    message_id = queue(app, to=["a@example.org", f"{ARABIC_NAME} <b@example.org>"],
                       subject="Line one\r\nBcc: evil@example.org")  # fmt: skip
    message = load(app, message_id)
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 0
    assert message.to_addresses == f"a@example.org, {ARABIC_NAME} <b@example.org>"
    assert message.subject == "Line one Bcc: evil@example.org"  # no header injection


@pytest.mark.parametrize(
    "to",
    ["", "not an address", "a@example.org\nBcc: b@example.org", "x@", "@example.org", []],
)
def test_unusable_recipients_are_refused(app, to):
    with app.app_context(), pytest.raises(OutboxError):
        queue_message(db.session, to=to, subject="s", text="t")


@pytest.mark.parametrize("address", [
    "a@example.org", " amina.diallo@mail.example.sn ", "o'brien+itu@example.co.uk",
    "x_y-z{1}@sub-domain.example.org", "A!#$%&*/=?^`|~@EXAMPLE.ORG", "a@xn--80ak6aa92e.com",
])  # fmt: skip
def test_plain_addresses_are_split_as_the_header_parser_would(address):
    """The fast path for bare addresses gives exactly what the email package's parser gives."""
    fast = parse_addresses(address)
    assert [(a.display_name, a.username, a.domain) for a in fast] == [
        (a.display_name, a.username, a.domain) for a in parse_header_addresses(address)
    ]
    assert format_addresses(fast) == format_addresses(parse_header_addresses(address))


@pytest.mark.parametrize("address", [
    "a..b@example.org", "a@example", "a@-example.org", "a@example.org.", ".a@example.org",
    "a b@example.org", "a@b@example.org", "Jane <jane@example.org>", "ünï@example.org",
])  # fmt: skip
def test_other_addresses_take_the_header_parser(address):
    """Anything that is not a plain dot-atom address is decided by the full parser."""
    try:
        expected = parse_header_addresses(address)
    except ValueError:
        with pytest.raises(ValueError):
            parse_addresses(address)
        return
    assert parse_addresses(address) == expected


def test_format_address_quotes_names_with_commas(app, outbox_dir):
    entry = format_address("Doe, Jane", "jane@example.org")
    assert entry == '"Doe, Jane" <jane@example.org>'
    message = load(app, queue(app, to=[entry, "b@example.org"]))
    assert message.to_addresses == '"Doe, Jane" <jane@example.org>, b@example.org'


# --- no SMTP server: .eml files ----------------------------------------------------------


def test_without_smtp_messages_are_written_as_eml_files(app, outbox_dir):
    app.config["MAIL_DEFAULT_SENDER"] = f"{ARABIC_NAME} <noreply@example.org>"
    message_id = queue(
        app,
        to="张伟 <zhang@example.org>",
        subject=CHINESE_SUBJECT,
        text="نص الرسالة\nSecond line.",
        html="<p>نص الرسالة</p>",
        reply_to="Organizers <team@example.org>",
        kind="signature-confirm",
        attachments=[("letter.pdf", "application/pdf", PDF_BYTES)],
    )
    assert flush(app) == DeliveryReport(sent=1)

    message = load(app, message_id)
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    path = Path(message.eml_path)
    assert path.parent == outbox_dir
    assert re.fullmatch(rf"\d{{8}}-\d{{6}}-{message_id}-signature-confirm\.eml", path.name)
    assert stat.S_IMODE(os.stat(outbox_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert list(outbox_dir.iterdir()) == [path]  # no partial files left behind

    raw = path.read_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii()  # RFC 2047 encoded words, not raw UTF-8
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Subject"] == CHINESE_SUBJECT
    assert parsed["From"].addresses[0].display_name == ARABIC_NAME
    assert parsed["To"].addresses[0].display_name == "张伟"
    assert parsed["Reply-To"] == "Organizers <team@example.org>"
    assert parsed["Message-ID"] == message.message_id
    assert parsed["Date"].datetime is not None
    assert body_text(parsed) == "نص الرسالة\nSecond line.\n"
    assert "نص الرسالة" in body_text(parsed, "html")
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "letter.pdf"
    assert attachment.get_content() == PDF_BYTES
    assert "نص الرسالة".encode() in raw  # the text stays readable in the file


def test_unwritable_outbox_dir_is_retried(app, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app.config["OUTBOX_DIR"] = str(blocker / "outbox")
    message_id = queue(app)
    assert flush(app) == DeliveryReport(retrying=1)
    message = load(app, message_id)
    assert message.status == MessageStatus.QUEUED
    assert "cannot write to" in message.last_error


# --- SMTP --------------------------------------------------------------------------------


def test_delivery_through_a_real_smtp_server(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    app.config["MAIL_DEFAULT_SENDER"] = "Advocacy Toolkit <noreply@example.org>"
    message_id = queue(
        app,
        to=[f"{ARABIC_NAME} <org@example.org>", "李明 <li@example.org>"],
        subject=CHINESE_SUBJECT + " / تأكيد التوقيع",
        text="Please confirm: https://example.org/c/abc\nشكرا",
        html="<p>Please <a href='https://example.org/c/abc'>confirm</a>. 谢谢</p>",
        reply_to="campaign@example.org",
        attachments=[("رسالة.pdf", "application/pdf", PDF_BYTES)],
    )
    assert flush(app) == DeliveryReport(sent=1)

    [received] = smtp_server.wait_for(1)
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "noreply@example.org"
    assert sorted(envelope.rcpt_tos) == ["li@example.org", "org@example.org"]
    assert not envelope.smtp_utf8
    assert envelope.content.isascii()  # 7-bit safe for any server
    assert b"=?utf-8?" in envelope.content.split(b"\r\n\r\n", 1)[0]

    assert received["Subject"] == CHINESE_SUBJECT + " / تأكيد التوقيع"
    names = [address.display_name for address in received["To"].addresses]
    assert names == [ARABIC_NAME, "李明"]
    assert received["Reply-To"] == "campaign@example.org"
    assert received["Auto-Submitted"] == "auto-generated"
    message = load(app, message_id)
    assert received["Message-ID"] == message.message_id
    assert message.eml_path is None
    assert body_text(received) == "Please confirm: https://example.org/c/abc\nشكرا\n"
    assert "谢谢" in body_text(received, "html")
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "رسالة.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF_BYTES


def test_international_domain_is_sent_as_idna(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    queue(app, to="info@例子.中国")
    assert flush(app).sent == 1
    smtp_server.wait_for(1)
    assert smtp_server.envelopes[0].rcpt_tos == ("info@xn--fsqu00a.xn--fiqs8s",)
    assert not smtp_server.envelopes[0].smtp_utf8


def test_non_ascii_local_part_uses_smtputf8_or_fails_clearly(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    first = queue(app, to="张伟 <张伟@example.org>", subject="SMTPUTF8")
    assert flush(app).sent == 1
    [received] = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0].smtp_utf8
    assert smtp_server.envelopes[0].rcpt_tos == ("张伟@example.org",)
    assert received["To"].addresses[0].username == "张伟"
    assert load(app, first).status == MessageStatus.SENT

    smtp_server.stop()
    smtp_server.smtputf8 = False
    smtp_server.start()
    second = queue(app, to="张伟@example.org")
    assert flush(app) == DeliveryReport(failed=1)
    message = load(app, second)
    assert message.status == MessageStatus.FAILED
    assert "SMTPUTF8" in message.last_error


def test_retry_after_the_server_was_down(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    smtp_server.stop()
    message_id = queue(app, subject="Reset your password")
    start = datetime.now(UTC)

    assert flush(app, now=start) == DeliveryReport(retrying=1)
    message = load(app, message_id)
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 1
    assert "connection refused" in message.last_error
    assert str(smtp_server.port) in message.last_error
    assert utc(message.next_attempt_at) == start + timedelta(seconds=30)

    smtp_server.start()
    assert flush(app, now=start + timedelta(seconds=10)) == DeliveryReport()  # still waiting
    assert smtp_server.messages == []

    assert flush(app, now=start + timedelta(seconds=31)) == DeliveryReport(sent=1)
    assert flush(app, now=start + timedelta(hours=2), ignore_backoff=True) == DeliveryReport()
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "Reset your password"
    message = load(app, message_id)
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert len(smtp_server.messages) == 1


def test_backoff_doubles_up_to_an_hour(app):
    config = {"MAIL_RETRY_BASE_SECONDS": 30}
    waits = [backoff(config, attempts).total_seconds() for attempts in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_gives_up_after_max_attempts(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    smtp_server.stop()
    message_id = queue(app)
    now = datetime.now(UTC)
    reports = [flush(app, now=now + timedelta(hours=step)) for step in range(4)]
    assert reports == [
        DeliveryReport(retrying=1), DeliveryReport(retrying=1), DeliveryReport(failed=1),
        DeliveryReport(),
    ]  # fmt: skip
    message = load(app, message_id)
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 3
    assert message.last_error.startswith("gave up after 3 attempts: cannot connect")
    with app.app_context():
        assert count_failed(db.session) == 1
        assert count_by_status(db.session) == {"queued": 0, "sending": 0, "sent": 0, "failed": 1}


def test_a_permanently_refused_recipient_fails_at_once(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    smtp_server.refuse["gone@example.org"] = "550 5.1.1 No such mailbox"
    smtp_server.refuse["busy@example.org"] = "450 4.2.1 Try later"
    gone = queue(app, to="gone@example.org")
    busy = queue(app, to="busy@example.org")
    assert flush(app) == DeliveryReport(failed=1, retrying=1)
    message = load(app, gone)
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 1
    assert "refused permanently" in message.last_error
    assert "550 5.1.1 No such mailbox" in message.last_error
    message = load(app, busy)
    assert message.status == MessageStatus.QUEUED
    assert "refused for now" in message.last_error
    assert smtp_server.messages == []


def test_some_recipients_refused_is_sent_and_noted(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    smtp_server.refuse["gone@example.org"] = "550 5.1.1 No such mailbox"
    message_id = queue(app, to=["here@example.org", "gone@example.org"])
    assert flush(app) == DeliveryReport(sent=1)
    smtp_server.wait_for(1)
    assert smtp_server.envelopes[0].rcpt_tos == ("here@example.org",)
    message = load(app, message_id)
    assert message.status == MessageStatus.SENT
    assert "gone@example.org: 550" in message.last_error


def test_one_connection_failure_fails_the_batch_fast(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    smtp_server.stop()
    for _ in range(5):
        queue(app)
    assert flush(app) == DeliveryReport(retrying=5)


def test_two_flushers_at_once_send_each_message_once(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    count = 30
    for number in range(count):
        queue(app, subject=f"message {number}")
    barrier = threading.Barrier(2)
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []

    def flusher() -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                barrier.wait()
                reports.append(deliver_pending(session, app.config))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=flusher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(report.sent for report in reports) == count
    received = smtp_server.wait_for(count)
    subjects = sorted(message["Subject"] for message in received)
    assert subjects == sorted(f"message {number}" for number in range(count))
    with app.app_context():
        assert count_by_status(db.session)["sent"] == count


def test_a_crashed_flushers_message_is_taken_again_after_ten_minutes(app, outbox_dir):
    now = datetime.now(UTC)
    crashed = queue(app, subject="crashed")
    busy = queue(app, subject="busy")
    with app.app_context():
        db.session.get(OutboxMessage, crashed).status = MessageStatus.SENDING.value
        db.session.get(OutboxMessage, crashed).next_attempt_at = now - timedelta(minutes=11)
        db.session.get(OutboxMessage, busy).status = MessageStatus.SENDING.value
        db.session.get(OutboxMessage, busy).next_attempt_at = now + timedelta(minutes=5)
        db.session.commit()
    assert flush(app, now=now, ignore_backoff=True) == DeliveryReport(sent=1)
    assert load(app, crashed).status == MessageStatus.SENT
    assert load(app, busy).status == MessageStatus.SENDING


_leases: list[tuple[str, datetime]] = []


@register_composer("test-lease-probe")
def _lease_probe(session: Session, message: OutboxMessage) -> Composed:  # noqa: ARG001
    """Writes the message while it is claimed, noting the claim as the sender sees it."""
    _leases.append((message.status, utc(message.next_attempt_at)))
    return Composed(subject="Probe", text="Written when sent.")


def test_a_claim_lasts_the_configured_lease(app, outbox_dir):
    """MAIL_LEASE_SECONDS: how long a flusher that died keeps its messages from the others."""
    app.config["MAIL_LEASE_SECONDS"] = 30
    _leases.clear()
    message_id = queue(app, text="", composer="test-lease-probe", compose_args={})
    now = datetime.now(UTC)
    assert flush(app, now=now) == DeliveryReport(sent=1)
    [(status, until)] = _leases
    assert status == MessageStatus.SENDING
    assert timedelta(seconds=30) <= until - now < timedelta(seconds=31)
    assert load(app, message_id).subject == "Probe"


_writes_while_composing: list[str] = []


@register_composer("test-write-probe")
def _write_probe(session: Session, message: OutboxMessage) -> Composed:
    """While the sender composes (after a query, as real composers make), another connection
    writes to the very row: it must not wait for the sender, who has written nothing yet."""
    session.execute(select(OutboxMessage.id).where(OutboxMessage.id == message.id))
    url = session.get_bind().url
    sqlite = url.get_backend_name() == "sqlite"
    other = create_engine(url, connect_args={"timeout": 0} if sqlite else {}, poolclass=NullPool)
    try:
        with other.begin() as connection:
            if not sqlite:
                connection.execute(text("SET LOCAL lock_timeout = '200ms'"))
            connection.execute(
                update(OutboxMessage.__table__)
                .where(OutboxMessage.__table__.c.id == message.id)
                .values(last_error="")
            )
        _writes_while_composing.append("written")
    except OperationalError as exc:
        _writes_while_composing.append(f"blocked: {exc.orig}")
    finally:
        other.dispose()
    return Composed(subject="Probe", text="Written when sent.")


def test_the_sender_holds_no_lock_while_it_composes(app, outbox_dir):
    """On SQLite one writer blocks all others: a sender that wrote before composing would hold
    every signature back for as long as it composes and sends each message."""
    _writes_while_composing.clear()
    message_id = queue(app, text="", composer="test-write-probe", compose_args={})
    assert flush(app) == DeliveryReport(sent=1)
    assert _writes_while_composing == ["written"]
    assert load(app, message_id).status == MessageStatus.SENT


_restarts: list[int] = []


@register_composer("test-server-restart")
def _restart_probe(session: Session, message: OutboxMessage) -> Composed:  # noqa: ARG001
    """The first time: the database server drops the sender's connection while it composes
    (as a restart does), and the composer's next query finds it gone."""
    if not _restarts:
        pid = session.connection().connection.driver_connection.info.backend_pid
        _restarts.append(pid)
        outside = create_engine(session.get_bind().url, poolclass=NullPool)
        with outside.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        outside.dispose()
        session.execute(select(OutboxMessage.id).where(OutboxMessage.id == message.id))
    return Composed(subject="Probe", text="Written when sent.")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server restarts
def test_a_lost_database_connection_hands_the_batch_back_at_once(app, outbox_dir):
    """Not after the ten-minute lease: the mail goes as soon as the database answers again,
    and the lost connection is not counted as a failed attempt of the message."""
    _restarts.clear()
    first = queue(app, text="", composer="test-server-restart", compose_args={})
    second = queue(app, subject="queued behind it")
    with pytest.raises(OperationalError) as raised:
        flush(app)
    assert raised.value.connection_invalidated
    assert len(_restarts) == 1
    for message_id in (first, second):
        message = load(app, message_id)
        assert message.status == MessageStatus.QUEUED
        assert message.attempts == 0
        assert utc(message.next_attempt_at) <= datetime.now(UTC)
    assert flush(app) == DeliveryReport(sent=2)
    assert {load(app, m).status for m in (first, second)} == {MessageStatus.SENT}


def test_with_redis_unreachable_deliver_soon_logs_and_the_mail_waits(app, outbox_dir, caplog):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    message_id = queue(app)
    with app.test_request_context("/"):
        deliver_soon()  # would queue a flush job for `toolkit worker`: Redis is away
    assert wait_for_deliveries(1)  # and no thread was started instead
    assert "could not start background delivery" in caplog.text
    assert load(app, message_id).status == MessageStatus.QUEUED
    app.extensions.pop("toolkit.redis").close()


def test_deliver_soon_sends_in_the_background(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    message_id = queue(app, subject="soon")
    with app.test_request_context("/"):
        deliver_soon()
    assert wait_for_deliveries(10)
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "soon"
    assert load(app, message_id).status == MessageStatus.SENT


def test_a_burst_of_requests_sends_each_message_once(app, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    for number in range(3):
        queue(app, subject=f"burst {number}")
        with app.test_request_context("/"):
            deliver_soon()
            deliver_soon()
    assert wait_for_deliveries(10)
    received = smtp_server.wait_for(3)
    assert sorted(message["Subject"] for message in received) == ["burst 0", "burst 1", "burst 2"]
    with app.app_context():
        assert count_by_status(db.session)["sent"] == 3


def test_deliver_soon_never_raises(app, smtp_server, caplog):  # noqa: F811
    deliver_soon()  # no app context: logged, not raised
    assert "could not start background delivery" in caplog.text

    mail_config(app, smtp_server)
    smtp_server.stop()
    message_id = queue(app)
    with app.app_context():
        deliver_soon()
    assert wait_for_deliveries(10)
    assert load(app, message_id).status == MessageStatus.QUEUED
