"""Signing: sign → verify → signed; one signature per (campaign, normalized email)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Insert, Select, bindparam, false, func, insert, or_, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.pool import PoolProxiedConnection

from toolkit.campaigns.models import (
    Campaign,
    CampaignState,
    Signature,
    SignatureStatus,
    SignerKind,
)
from toolkit.campaigns.rules import SigningRules
from toolkit.campaigns.service import signing_closed_reason
from toolkit.db import Prepared, dbapi_connection, engine_of, prepare, utcnow, write_turn
from toolkit.i18n import N_
from toolkit.mail.models import OutboxMessage

TOKEN_SALT = "toolkit.signature"
CONFIRM = "confirm"
MANAGE = "manage"
COUNTED = (SignatureStatus.CONFIRMED.value, SignatureStatus.APPROVED.value)


class SigningError(ValueError):
    """Signing is refused; the message is for the signer."""


class TokenError(ValueError):
    """A link from an email cannot be used; the message says why."""


def canonical_email(normalized: str) -> str:
    """The form kept for de-duplication: email-validator's normalized address, lower-cased
    (mail systems treat local parts case-insensitively in practice)."""
    return normalized.lower()


@dataclass(frozen=True)
class SignerDetails:
    """What a signer typed, already validated and normalized by the form."""

    name: str
    email: str
    email_normalized: str
    kind: str = SignerKind.INDIVIDUAL.value
    organization: str = ""
    role: str = ""
    city: str = ""
    country: str = ""
    list_publicly: bool = True
    receive_updates: bool = False
    language: str = "en"
    extra: dict = field(default_factory=dict)


class SignResult:
    """What signing did: a new signature, or the one that address already had.

    The signature itself is loaded only when asked for: the signing request needs no more
    than whether one was created.
    """

    def __init__(self, session: Session, signature_id: int, created: bool) -> None:
        self._session = session
        self.signature_id = signature_id
        self.created = created

    @property
    def signature(self) -> Signature:
        """The signature (from the session when it is there, else loaded)."""
        signature = self._session.get(Signature, self.signature_id)
        if signature is None:
            raise LookupError(f"signature {self.signature_id} no longer exists")
        return signature


# The columns' own scalar defaults (source "web", status "pending", "" for the texts ...):
# a prepared insert gives every column a value, so the row starts from these.
_SIGNATURE_DEFAULTS = {
    column.name: column.default.arg
    for column in Signature.__table__.c
    if column.default is not None and column.default.is_scalar
}


def _signature_row(
    campaign: Campaign | SigningRules, details: SignerDetails, ip: str, now: datetime
) -> dict:
    """A new signature's column values: pending, or already counted when the campaign asks
    for no confirmation (and listed too when it asks for no moderation). A field the form
    left empty (None) gets the column's default."""
    given = {
        "campaign_id": campaign.id,
        "kind": details.kind,
        "name": details.name,
        "email": details.email,
        "email_normalized": details.email_normalized,
        "email_domain": details.email_normalized.rpartition("@")[2].lower(),
        "organization": details.organization,
        "role": details.role,
        "city": details.city,
        "country": details.country,
        "list_publicly": bool(details.list_publicly),
        "receive_updates": bool(details.receive_updates),
        "language": details.language,
        "extra": dict(details.extra or {}),
        "ip": ip[:64],
        "created_at": now,
    }
    row = {**_SIGNATURE_DEFAULTS, **{name: v for name, v in given.items() if v is not None}}
    if not campaign.require_confirmation:
        row.update(_confirmed(campaign, now))
    return row


@lru_cache(maxsize=8)
def _insert_while_open(columns: tuple[str, ...]) -> Insert:
    """INSERT INTO signatures (columns) SELECT the values WHERE the campaign takes signatures
    now, RETURNING the id: the database decides whether the campaign is open, not paused
    and before its deadline, in the same statement that stores the signature (so a web
    process's copy of the campaign may be a few seconds old; see ``campaigns.rules``)."""
    signatures, campaigns = Signature.__table__, Campaign.__table__
    values = [bindparam(name, type_=signatures.c[name].type) for name in columns]
    now = bindparam("signing_now", type_=campaigns.c.deadline.type)
    takes_signatures = (
        select(campaigns.c.id)
        .where(
            campaigns.c.id == bindparam("campaign_id", type_=campaigns.c.id.type),
            campaigns.c.state == CampaignState.OPEN.value,
            campaigns.c.signing_paused == false(),
            or_(campaigns.c.deadline.is_(None), campaigns.c.deadline >= now),
        )
        .exists()
    )
    query = select(*values).where(takes_signatures)
    return insert(signatures).from_select(list(columns), query).returning(signatures.c.id)


@lru_cache(maxsize=16)
def _one_statement(columns: tuple[str, ...], mail_columns: tuple[tuple[str, ...], ...]) -> Select:
    """PostgreSQL: the signature and its mail in one statement (data-modifying CTEs, each
    mail row inserted once per signature row, so none for a closed campaign). Run without a
    transaction of its own, a signature then costs one round trip, and is still all or
    nothing: a repeated email fails the whole statement."""
    new_signature = _insert_while_open(columns).cte("new_signature")
    statement = select(new_signature.c.id)
    outbox = OutboxMessage.__table__
    for number, names in enumerate(mail_columns):
        values = [bindparam(f"mail{number}_{name}", type_=outbox.c[name].type) for name in names]
        rows = select(*values).select_from(new_signature)
        mail = insert(outbox).from_select(list(names), rows).cte(f"new_mail{number}")
        statement = statement.add_cte(mail)
    return statement


@lru_cache(maxsize=32)
def _prepared(dialect: Dialect, columns: tuple[str, ...],
              mail_columns: tuple[tuple[str, ...], ...]) -> tuple[Prepared, ...]:  # fmt: skip
    """The statements that store a signature and its mail, compiled once per process: on
    PostgreSQL the one statement; elsewhere the signature's insert, then one per mail."""
    if dialect.name == "postgresql":
        return (prepare(_one_statement(columns, mail_columns), dialect),)
    outbox = OutboxMessage.__table__
    return (
        prepare(_insert_while_open(columns), dialect),
        *(prepare(insert(outbox).values({name: bindparam(name, type_=outbox.c[name].type)
                                          for name in names}), dialect)
          for names in mail_columns),
    )  # fmt: skip


def _store(session: Session | scoped_session, row: Mapping, mail: Sequence[Mapping]) -> int | None:
    """Store a signature and its mail at once; its id, or None when the database found the
    campaign not taking signatures. Raises IntegrityError for a repeated email.

    The statements are SQLAlchemy's, compiled once (``db.prepare``) and run on a pooled
    DB-API connection: the execution machinery around them cost more than the inserts.
    """
    engine = engine_of(session)  # without opening the request's session if it is unused
    if isinstance(session, scoped_session):
        session = session.registry() if session.registry.has() else None
    if session is not None and session.in_transaction():
        # Whatever the session read ends first: its connection goes back to the pool (a
        # second one held per request could exhaust it), and on SQLite no transaction of
        # this request's waits on the write turn.
        session.commit()
    statements = _prepared(engine.dialect, tuple(row), tuple(tuple(message) for message in mail))
    values = {**row, "signing_now": row["created_at"]}
    with dbapi_connection(engine) as connection:
        if engine.dialect.name == "postgresql":
            return _store_in_one_statement(connection, statements[0], values, mail)
        return _store_in_the_write_turn(engine, connection, statements, values, mail)


def _store_in_one_statement(connection: PoolProxiedConnection, statement: Prepared,
                            values: dict, mail: Sequence[Mapping]) -> int | None:  # fmt: skip
    """PostgreSQL: the one statement, in its own transaction (autocommit): one round trip."""
    values.update(
        (f"mail{number}_{name}", value)
        for number, message in enumerate(mail)
        for name, value in message.items()
    )
    driver = connection.driver_connection
    given = driver.autocommit
    driver.autocommit = True
    try:
        cursor = connection.cursor()
        cursor.execute(statement.sql, statement.parameters(values))
        found = cursor.fetchone()
    finally:
        if not driver.closed:
            driver.autocommit = given  # as the pool gave it
    return found[0] if found else None


def _store_in_the_write_turn(engine: Engine, connection: PoolProxiedConnection,
                             statements: Sequence[Prepared], values: dict,
                             mail: Sequence[Mapping]) -> int | None:  # fmt: skip
    """SQLite: the signature's insert, then its mail's, and the commit, in the write turn."""
    signature, *mail_statements = statements
    # Converted before the turn: it holds the write lock for the inserts and the commit.
    signature_values = signature.parameters(values)
    mail_values = [
        (statement.sql, statement.parameters(message))
        for statement, message in zip(mail_statements, mail, strict=True)
    ]
    cursor = connection.cursor()
    with write_turn(engine):
        try:
            cursor.execute(signature.sql, signature_values)
            found = cursor.fetchone()
            if found is not None:
                for sql, message_values in mail_values:
                    cursor.execute(sql, message_values)
            connection.commit()
        except BaseException:
            connection.rollback()  # in the turn: SQLite's write lock goes with it
            raise
    return found[0] if found else None


def _why_closed(session: Session, campaign_id: int) -> str:
    """Why the database refused a signature the campaign's copy allowed: its current state."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return N_("This campaign no longer exists.")
    return signing_closed_reason(campaign) or N_("This campaign does not take signatures now.")


def sign(
    session: Session, campaign: Campaign | SigningRules, details: SignerDetails, *,
    ip: str = "", now: datetime | None = None, mail: Sequence[Mapping] = (),
) -> SignResult:  # fmt: skip
    """Add a signature, or find the one this address already made; commits.

    ``campaign`` is the Campaign or this process's copy of its signing rules. ``mail`` holds
    outbox rows (from ``toolkit.mail.outbox.message_row``) to queue with a new signature, in
    the same transaction; none is queued for a repeated address. Raises SigningError, with
    words for the signer, when the campaign does not take signatures (checked again by the
    database as the signature is stored) or not from this kind of signer.

    The unique constraint decides between simultaneous requests with the same email: the
    loser's insert fails, is rolled back, and it gets the winner's signature. Everything is
    prepared first and the rows go in as plain inserts, not through the unit of work: on
    SQLite in the database's write turn (``db.write_turn``), holding its write lock for the
    inserts and the commit and nothing else; on PostgreSQL as one statement.
    """
    reason = signing_closed_reason(campaign, now)
    if reason:
        raise SigningError(reason)
    if details.kind == SignerKind.ORGANIZATION and not campaign.allow_organizations:
        raise SigningError(N_("This campaign is signed by individuals only."))
    if details.kind == SignerKind.INDIVIDUAL and not campaign.allow_individuals:
        raise SigningError(N_("This campaign is signed by organizations only."))
    row = _signature_row(campaign, details, ip, now or utcnow())
    campaign_id = campaign.id
    # Optimistic: insert, and let the unique constraint catch a repeated email (rare), rather
    # than look first on every signature.
    try:
        signature_id = _store(session, row, mail)
    except IntegrityError:
        session.rollback()
        existing = find_signature(session, campaign_id, details.email_normalized)
        if existing is None:  # not a duplicate after all: let the caller see the real error
            raise
        return SignResult(session, existing.id, created=False)
    if signature_id is None:
        raise SigningError(_why_closed(session, campaign_id))
    return SignResult(session, signature_id, created=True)


def find_signature(session: Session, campaign_id: int, email_normalized: str) -> Signature | None:
    """The signature an address made on a campaign, if any."""
    query = select(Signature).where(
        Signature.campaign_id == campaign_id, Signature.email_normalized == email_normalized
    )
    return session.scalar(query)


def _email_fingerprint(signature: Signature) -> str | None:
    """Ties a link to the address it was sent to; None once the address is erased or purged."""
    if not signature.email_normalized:
        return None
    return hashlib.sha256(signature.email_normalized.encode()).hexdigest()[:16]


def make_token(secret_key: str, signature: Signature, purpose: str) -> str:
    """A signed link token for one signature and one purpose; no email in it."""
    if _email_fingerprint(signature) is None:
        raise ValueError("A signature without an email address has no links.")
    serializer = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
    return serializer.dumps({"s": signature.id, "p": purpose, "e": _email_fingerprint(signature)})


def check_token(
    session: Session, secret_key: str, token: str, purpose: str, max_age: int
) -> Signature:
    """The signature a link is for; TokenError when expired, tampered with or erased."""
    serializer = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(
            N_("This link has expired. Sign again with the same email to get a new one.")
        ) from exc
    except BadSignature as exc:
        raise TokenError(N_("This link is not valid. Check that it was copied whole.")) from exc
    if not isinstance(data, dict) or data.get("p") != purpose:
        raise TokenError(N_("This link is not valid. Check that it was copied whole."))
    signature_id = data.get("s")
    signature = session.get(Signature, signature_id) if isinstance(signature_id, int) else None
    expected = _email_fingerprint(signature) if signature is not None else None
    if expected is None or data.get("e") != expected:
        raise TokenError(N_("This signature no longer exists."))
    return signature


def _confirmed(campaign: Campaign, now: datetime) -> dict:
    """What confirming sets: confirmed, and approved at once when nobody moderates."""
    if campaign.require_moderation:
        return {"status": SignatureStatus.CONFIRMED.value, "confirmed_at": now}
    return {"status": SignatureStatus.APPROVED.value, "confirmed_at": now, "approved_at": now}


def _mark_confirmed(campaign: Campaign, signature: Signature, now: datetime) -> None:
    for name, value in _confirmed(campaign, now).items():
        setattr(signature, name, value)


def confirm(signature: Signature, now: datetime | None = None) -> bool:
    """Confirm a pending signature; True when this call changed it. The caller commits."""
    if signature.status == SignatureStatus.WITHDRAWN:
        raise TokenError(N_("This signature was withdrawn, so it cannot be confirmed."))
    if signature.status != SignatureStatus.PENDING:
        return False
    _mark_confirmed(signature.campaign, signature, now or utcnow())
    return True


def withdraw(signature: Signature, now: datetime | None = None) -> bool:
    """The signer takes their name off; True when this call changed it. The caller commits."""
    if signature.status == SignatureStatus.WITHDRAWN:
        return False
    signature.status = SignatureStatus.WITHDRAWN.value
    signature.withdrawn_at = now or utcnow()
    return True


def update_details(signature: Signature, details: SignerDetails) -> None:
    """The signer corrects their own details (not their email). The caller commits."""
    for name in ("name", "kind", "organization", "role", "city", "country", "list_publicly",
                 "receive_updates"):  # fmt: skip
        setattr(signature, name, getattr(details, name))
    signature.extra = {**(signature.extra or {}), **details.extra}


def count_signatures(session: Session, campaign: Campaign) -> int:
    """The count people see: confirmed signatures, not rejected or withdrawn."""
    query = select(func.count()).where(
        Signature.campaign_id == campaign.id, Signature.status.in_(COUNTED)
    )
    return session.scalar(query) or 0


def public_signatures(
    session: Session, campaign: Campaign, limit: int | None = None
) -> list[Signature]:
    """Approved signers who agreed to be listed, newest first."""
    if not campaign.list_publicly:
        return []
    query = (
        select(Signature)
        .where(
            Signature.campaign_id == campaign.id,
            Signature.status == SignatureStatus.APPROVED.value,
            Signature.list_publicly.is_(True),
        )
        .order_by(Signature.approved_at.desc(), Signature.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))
