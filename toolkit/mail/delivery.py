"""Email leaves the toolkit here and only here: by SMTP, or as .eml files when no server is set."""

from __future__ import annotations

import base64
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from types import TracebackType

from toolkit.mail.models import OutboxMessage

MAX_ERROR_LENGTH = 500
FALLBACK_MIMETYPE = "application/octet-stream"
_MIMETYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
# A bare ASCII address of dot-atoms, as nearly every signer types it: RFC 5322's atext in the
# local part, LDH labels in the domain. Split at "@" rather than run the header parser, which
# costs more than the rest of queueing a message (and gives the same Address for these).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


class DeliveryError(Exception):
    """A message could not leave; ``permanent`` when trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        reason = " ".join(reason.split())[:MAX_ERROR_LENGTH]
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Delivered:
    """Where a message went: an SMTP server, or a file; and any recipients refused on the way."""

    server: str | None = None
    eml_path: str | None = None
    refused: str = ""


# --- addresses ---------------------------------------------------------------------------


def parse_addresses(value: str) -> tuple[Address, ...]:
    """The addresses in a To:-style string, parsed as the email package parses the header.

    Raises ValueError for anything that is not a list of complete addresses.
    """
    if "\r" in value or "\n" in value:
        raise ValueError("an address may not contain a line break")
    plain = value.strip()
    if _PLAIN_ADDRESS_RE.fullmatch(plain):
        username, _, domain = plain.rpartition("@")
        return (Address(username=username, domain=domain),)
    return parse_header_addresses(value)


def parse_header_addresses(value: str) -> tuple[Address, ...]:
    """``parse_addresses`` by the email package's header parser alone (every form of address:
    display names, quoting, groups, non-ASCII). Raises ValueError as it does."""
    if "\r" in value or "\n" in value:
        raise ValueError("an address may not contain a line break")
    try:
        header = policy.default.header_factory("To", value)
        addresses = tuple(header.addresses)
    except Exception as exc:  # noqa: BLE001 - the parser raises IndexError and friends
        raise ValueError(f"not an email address: {value!r}") from exc
    defects = [d for d in header.defects if not isinstance(d, email_errors.NonASCIILocalPartDefect)]
    if defects or any(not a.username or not a.domain for a in addresses):
        raise ValueError(f"not an email address: {value!r}")
    return addresses


def format_addresses(addresses: Iterable[Address]) -> str:
    """Addresses as one To:-style string, display names quoted where needed."""
    return ", ".join(str(address) for address in addresses)


def _ascii_domain(address: Address) -> Address:
    """An internationalized domain as IDNA, so only a non-ASCII local part needs SMTPUTF8."""
    if address.domain.isascii():
        return address
    try:
        domain = address.domain.encode("idna").decode("ascii")
    except UnicodeError:
        return address
    return Address(address.display_name, address.username, domain)


def _header_addresses(value: str) -> tuple[Address, ...]:
    return tuple(_ascii_domain(address) for address in parse_addresses(value))


def _needs_smtputf8(msg: EmailMessage) -> bool:
    """True when an address's local part is not ASCII (no RFC 2047 form exists for it)."""
    for name in ("From", "To", "Reply-To"):
        header = msg[name]
        if header is not None and any(not a.username.isascii() for a in header.addresses):
            return True
    return False


def make_message_id(config: Mapping) -> str:
    """A Message-ID on the sender's domain (no slow lookup of this host's name)."""
    try:
        domain = _header_addresses(config["MAIL_DEFAULT_SENDER"])[0].domain
    except (ValueError, IndexError):
        domain = "localhost"
    return make_msgid(domain=domain)


# --- messages ----------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def encode_attachment(filename: str, mimetype: str, data: bytes) -> dict:
    """An attachment as the outbox stores it (JSON: the bytes in base64)."""
    filename = " ".join(os.path.basename(filename.replace("\\", "/")).split()) or "attachment"
    mimetype = mimetype.strip().lower()
    return {
        "filename": filename,
        "mimetype": mimetype if _MIMETYPE_RE.match(mimetype) else FALLBACK_MIMETYPE,
        "size": len(data),
        "data": base64.b64encode(data).decode("ascii"),
    }


def build_message(
    message: OutboxMessage,
    config: Mapping,
    *,
    message_id: str | None = None,
    eight_bit: bool = False,
) -> EmailMessage:
    """The RFC 5322 message for an outbox row: headers in any script, text, HTML, attachments.

    ``eight_bit`` keeps UTF-8 bodies readable (for .eml files); otherwise bodies are encoded
    7-bit safe, so any SMTP server takes them.
    """
    msg_policy = policy.SMTP if eight_bit else policy.SMTP.clone(cte_type="7bit")
    msg = EmailMessage(policy=msg_policy)
    msg["From"] = _header_addresses(config["MAIL_DEFAULT_SENDER"])
    msg["To"] = _header_addresses(message.to_addresses)
    if message.reply_to:
        msg["Reply-To"] = _header_addresses(message.reply_to)
    msg["Subject"] = " ".join(message.subject.split())
    msg["Date"] = format_datetime(_aware(message.created_at or datetime.now(UTC)))
    msg["Message-ID"] = message_id or message.message_id or make_message_id(config)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to automatic mail
    msg.set_content(message.text_body)
    if message.html_body:
        msg.add_alternative(message.html_body, subtype="html")
    for item in message.attachments or ():
        maintype, _, subtype = item.get("mimetype", FALLBACK_MIMETYPE).partition("/")
        msg.add_attachment(
            base64.b64decode(item["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=item.get("filename") or "attachment",
        )
    return msg


def message_headers(message: OutboxMessage, config: Mapping) -> list[tuple[str, str]]:
    """The headers the message has (or will have) when it leaves, decoded for reading."""
    msg = build_message(message, config, message_id=message.message_id or "-", eight_bit=True)
    return [(name, str(value)) for name, value in msg.items()]


# --- .eml files --------------------------------------------------------------------------


def eml_name(message: OutboxMessage, now: datetime) -> str:
    """A file name that sorts by time and says what the message is."""
    kind = re.sub(r"[^a-z0-9]+", "-", (message.kind or "").lower()).strip("-")[:40]
    return f"{_aware(now):%Y%m%d-%H%M%S}-{message.id}-{kind or 'message'}.eml"


def write_eml(msg: EmailMessage, directory: str | os.PathLike, name: str) -> Path:
    """Write the message as an .eml file, readable by its owner only, complete or not at all."""
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    data = msg.as_bytes(policy=msg.policy.clone(utf8=_needs_smtputf8(msg)))
    partial = folder / f".{name}.{os.getpid()}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


# --- SMTP --------------------------------------------------------------------------------


def destination(config: Mapping) -> str:
    """Where mail goes with this configuration, for people to read."""
    if config.get("MAIL_SERVER"):
        return f"{config['MAIL_SERVER']}:{config.get('MAIL_PORT', 25)}"
    return str(config["OUTBOX_DIR"])


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


def describe_error(exc: BaseException, where: str, timeout: object = None) -> str:
    """A short reason a person can act on, instead of a traceback."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login: {exc.smtp_code} {_reply_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} answered {exc.smtp_code} {_reply_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where}: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused (is the mail server running?)"
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within {timeout} seconds"
    if isinstance(exc, socket.gaierror):
        return f"cannot find the mail server {where}: {exc.strerror}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {exc.reason or exc}"
    if isinstance(exc, OSError):
        return f"cannot reach {where}: {exc.strerror or exc}"
    return f"{where}: {type(exc).__name__}: {exc}"


def _refusal(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{addr}: {code} {_reply_text(text)}" for addr, (code, text) in recipients.items()
    )


class Courier:
    """One flush's way out: an SMTP connection kept for the batch, or .eml files in OUTBOX_DIR.

    When the server cannot be reached, the rest of the batch fails at once with the same
    reason instead of waiting for the timeout again for every message.
    """

    def __init__(self, config: Mapping) -> None:
        self.config = config
        self.server: str | None = config.get("MAIL_SERVER") or None
        self.where = destination(config)
        self.timeout = config.get("MAIL_TIMEOUT", 15)
        self._smtp: smtplib.SMTP | None = None
        self._down: str | None = None  # why the server could not be reached, once it failed

    def __enter__(self) -> Courier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def deliver(self, message: OutboxMessage, *, now: datetime) -> Delivered:
        """Send one message or write it to a file; raises DeliveryError with a readable reason."""
        if not self.server:
            msg = build_message(message, self.config, eight_bit=True)
            try:
                path = write_eml(msg, self.config["OUTBOX_DIR"], eml_name(message, now))
            except OSError as exc:
                raise DeliveryError(f"cannot write to {self.where}: {exc.strerror or exc}") from exc
            return Delivered(eml_path=str(path))
        refused = self._send(build_message(message, self.config))
        return Delivered(server=self.where, refused=_refusal(refused) if refused else "")

    def _send(self, msg: EmailMessage) -> dict:
        if self._down is not None:
            raise DeliveryError(self._down)
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            return self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            label = "refused permanently" if permanent else "refused for now"
            reason = f"{self.where} {label}: {_refusal(exc.recipients)}"
            raise DeliveryError(reason, permanent=permanent) from exc
        except smtplib.SMTPNotSupportedError as exc:
            reason = (
                f"an address has non-ASCII characters before the @, which needs SMTPUTF8, "
                f"and {self.where} does not support it"
            )
            raise DeliveryError(reason, permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the connection
                self._drop()
            raise DeliveryError(describe_error(exc, self.where, self.timeout)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryError(describe_error(exc, self.where, self.timeout)) from exc

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        use_ssl = bool(config.get("MAIL_USE_SSL"))
        smtp: smtplib.SMTP
        if use_ssl:
            smtp = smtplib.SMTP_SSL(timeout=self.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(timeout=self.timeout)
        try:
            code, reply = smtp.connect(self.server, int(config.get("MAIL_PORT") or 25))
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            if config.get("MAIL_USE_TLS") and not use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except (OSError, smtplib.SMTPException) as exc:
            _close_quietly(smtp)
            self._down = describe_error(exc, self.where, self.timeout)
            raise DeliveryError(self._down) from exc
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            _close_quietly(self._smtp)
            self._smtp = None

    def close(self) -> None:
        """Say goodbye to the server, if a connection is open."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            _close_quietly(self._smtp)
            self._smtp = None


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass
