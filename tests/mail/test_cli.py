"""`toolkit mail send` and `toolkit mail test`, against .eml files and a real SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.smtp import body_text, mail_config, smtp_server  # noqa: F401
from toolkit import create_app
from toolkit.extensions import db
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.mail.outbox import deliver_soon, queue_message, wait_for_deliveries


@pytest.fixture
def outbox_dir(app, tmp_path: Path) -> Path:
    folder = tmp_path / "outbox"
    app.config["OUTBOX_DIR"] = str(folder)
    return folder


def queue(app, subject: str = "Hello", **fields) -> int:
    with app.app_context():
        message = queue_message(
            db.session, to="grace@example.org", subject=subject, text="Hi.", **fields
        )
        db.session.commit()
        return message.id


def statuses(app) -> dict[str, str]:
    with app.app_context():
        return {m.subject: m.status for m in db.session.scalars(select(OutboxMessage))}


def test_send_with_an_empty_outbox(runner, outbox_dir):
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent 0, retrying later 0, failed 0")


def test_send_writes_eml_files_without_a_server(app, runner, outbox_dir):
    queue(app, "one")
    queue(app, "two")
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 2, retrying later 0, failed 0" in result.output
    assert str(outbox_dir) in result.output
    assert len(list(outbox_dir.glob("*.eml"))) == 2
    assert statuses(app) == {"one": "sent", "two": "sent"}


def test_send_all_ignores_the_backoff(app, runner, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    message_id = queue(app, "waiting")
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        message.attempts = 2
        message.next_attempt_at = datetime.now(UTC) + timedelta(minutes=30)
        db.session.commit()

    result = runner.invoke(args=["mail", "send"])
    assert "sent 0," in result.output
    assert statuses(app) == {"waiting": "queued"}

    result = runner.invoke(args=["mail", "send", "--all"])
    assert result.exit_code == 0, result.output
    assert f"sent 1, retrying later 0, failed 0; to 127.0.0.1:{smtp_server.port}" in result.output
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "waiting"


def test_send_reports_retries_when_the_server_is_down(app, runner, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    smtp_server.stop()
    queue(app, "later")
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 0, retrying later 1, failed 0" in result.output


def test_test_message_without_a_server_is_written_to_a_file(app, runner, outbox_dir):
    result = runner.invoke(args=["mail", "test", "Someone@Example.org"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"written to {outbox_dir}/")
    assert "(no MAIL_SERVER is set)" in result.output
    [path] = outbox_dir.glob("*-test.eml")
    assert "To: Someone@example.org" in path.read_text()
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert (message.kind, message.status) == ("test", MessageStatus.SENT)


def test_test_message_through_smtp(app, runner, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    result = runner.invoke(args=["mail", "test", "grace@example.org"])
    assert result.exit_code == 0, result.output
    assert result.output == f"sent to grace@example.org through 127.0.0.1:{smtp_server.port}\n"
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "Test message from the Advocacy Toolkit"
    assert "the toolkit can send email" in body_text(received)


def test_test_message_reports_the_error_in_one_line(app, runner, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    smtp_server.stop()
    result = runner.invoke(args=["mail", "test", "grace@example.org"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: not sent: cannot connect to 127.0.0.1:")
    assert "connection refused" in line


def test_test_message_refuses_a_bad_address(app, runner, outbox_dir):
    result = runner.invoke(args=["mail", "test", "not-an-address"])
    assert result.exit_code == 1
    assert result.output == "Error: not a valid address: An email address must have an @-sign.\n"
    assert statuses(app) == {}


def test_worker_sends_as_mail_is_queued_and_stops_cleanly_on_sigterm(app, database_url, tmp_path):
    """The worker is a real process on the same database; SIGTERM ends it with exit code 0."""

    outbox = tmp_path / "worker-outbox"
    env = {**os.environ, "TOOLKIT_DATABASE_URL": database_url, "TOOLKIT_SECRET_KEY": "test",
           "TOOLKIT_OUTBOX_DIR": str(outbox), "TOOLKIT_MAIL_DELIVERY": "worker"}  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "toolkit", "mail", "worker", "--interval", "0.1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        queue(app, "first")
        queue(app, "second")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(outbox.glob("*.eml"))) < 2:
            time.sleep(0.1)
        assert statuses(app) == {"first": "sent", "second": "sent"}
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "stopped after sending 2" in output
    assert len(list(outbox.glob("*.eml"))) == 2


def test_worker_mode_leaves_sending_to_the_worker(app, client, outbox_dir):
    """With MAIL_DELIVERY=worker a request only queues: nothing is sent in the web process."""
    app.config["MAIL_DELIVERY"] = "worker"
    queue(app, "queued only")
    with app.test_request_context():
        deliver_soon()
    assert wait_for_deliveries(5)
    assert statuses(app) == {"queued only": "queued"}
    assert not outbox_dir.exists() or not list(outbox_dir.glob("*.eml"))


def test_an_unknown_delivery_mode_is_refused_with_a_message(tmp_path):
    with pytest.raises(ValueError, match="TOOLKIT_MAIL_DELIVERY must be one of background, worker"):
        create_app({"MAIL_DELIVERY": "pigeon", "SECRET_KEY": "x", "TESTING": True,
                    "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})  # fmt: skip
