"""A real SMTP server for tests (aiosmtpd on 127.0.0.1 and a free port), and its fixture.

Use it from a test module with
`from tests.smtp import body_text, mail_config, smtp_server  # noqa: F401`, then::

    def test_mail(app, smtp_server):
        mail_config(app, smtp_server)
        ...  # queue and deliver
        [message] = smtp_server.wait_for(1)
        assert message["Subject"] == "Hello"
        assert "https://" in body_text(message)

`stop()` and `start()` take the server down and bring it back on the same port, to test retries.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from flask import Flask

from toolkit.mail.outbox import wait_for_deliveries

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Envelope:
    """What the server was told over SMTP, apart from the message itself."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    smtp_utf8: bool
    content: bytes


class _Handler:
    """aiosmtpd handler: refuse the addresses asked for, keep everything else."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        refusal = self.server.refuse.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.server._received(envelope)
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's Controller, remembering its sessions so stop() can close their sockets."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session = super().factory()
        self.sessions.append(session)
        return session

    async def close_sessions(self) -> None:
        """Hang up on clients still connected (aiosmtpd's stop() would leak their sockets)."""
        for session in self.sessions:
            transport = getattr(session, "transport", None)
            if transport is not None and not transport.is_closing():
                transport.close()
        await asyncio.sleep(0.05)  # let connection_lost run and the sockets close


class SmtpServer:
    """A running test SMTP server: where it listens and what it has received."""

    def __init__(self, host: str = HOST, port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        # address -> SMTP reply, e.g. {"gone@example.org": "550 5.1.1 No such mailbox"}
        self.refuse: dict[str, str] = {}
        self.smtputf8 = True  # advertise SMTPUTF8 (set False, then stop() and start())
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen on the same host and port as before."""
        if self._controller is not None:
            return
        controller = _Controller(
            _Handler(self), hostname=self.host, port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and hang up on connected clients: connections fail until start()."""
        controller, self._controller = self._controller, None
        if controller is not None:
            future = asyncio.run_coroutine_threadsafe(controller.close_sessions(), controller.loop)
            future.result(timeout=5)
            controller.stop()

    def _received(self, envelope) -> None:  # noqa: ANN001 - aiosmtpd's Envelope
        content = envelope.original_content or envelope.content
        if envelope.smtp_utf8:
            message = Parser(policy=policy.default).parsestr(content.decode("utf-8"))
        else:
            message = BytesParser(policy=policy.default).parsebytes(content)
        record = Envelope(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            smtp_utf8=bool(envelope.smtp_utf8),
            content=content,
        )
        with self._lock:
            self.messages.append(message)
            self.envelopes.append(record)

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """The messages received, once there are at least ``count`` (AssertionError if not)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} message(s) within {timeout} s, got {len(self.messages)}"
                )
            time.sleep(0.02)


def free_port(host: str = HOST) -> int:
    """A port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def body_text(message: EmailMessage, subtype: str = "plain") -> str:
    """A message's text (or html) body with line breaks as "\\n" (MIME text uses CRLF)."""
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content().replace("\r\n", "\n")


def mail_config(app: Flask, server: SmtpServer) -> None:
    """Point the app's mail at the test server."""
    app.config["MAIL_SERVER"] = server.host
    app.config["MAIL_PORT"] = server.port
    app.config["MAIL_TIMEOUT"] = 5


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 and a free port, for one test.

    At the end, background deliveries the test started (deliver_soon) finish before the server
    stops, so no thread is cut off mid-message.
    """
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        wait_for_deliveries(timeout=10)
        server.stop()
