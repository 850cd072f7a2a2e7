"""Signing: sign → verify → signed; one signature per (campaign, normalized email)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toolkit.campaigns.models import Campaign, Signature, SignatureStatus, SignerKind
from toolkit.campaigns.service import signing_closed_reason
from toolkit.db import utcnow
from toolkit.i18n import N_

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


@dataclass(frozen=True)
class SignResult:
    """What signing did: a new signature, or the one that address already had."""

    signature: Signature
    created: bool


def _new_signature(campaign: Campaign, details: SignerDetails, ip: str, now: datetime) -> Signature:
    signature = Signature(
        campaign_id=campaign.id,
        kind=details.kind,
        name=details.name,
        email=details.email,
        email_normalized=details.email_normalized,
        email_domain=details.email_normalized.rpartition("@")[2].lower(),
        organization=details.organization,
        role=details.role,
        city=details.city,
        country=details.country,
        list_publicly=details.list_publicly,
        receive_updates=details.receive_updates,
        language=details.language,
        extra=dict(details.extra),
        ip=ip[:64],
        created_at=now,
    )
    if not campaign.require_confirmation:
        _mark_confirmed(campaign, signature, now)
    return signature


def sign(
    session: Session, campaign: Campaign, details: SignerDetails, *, ip: str = "",
    now: datetime | None = None, on_created: Callable[[Signature], None] | None = None,
) -> SignResult:  # fmt: skip
    """Add a signature, or find the one this address already made; commits.

    The unique constraint decides between simultaneous requests with the same email: the
    loser's insert fails, is rolled back, and it gets the winner's signature. ``on_created``
    runs before the insert (to queue the confirmation mail in the same transaction): both rows
    then go to the database in one flush, so SQLite's write lock is held for the two inserts
    and the commit, with no other work in between.
    """
    reason = signing_closed_reason(campaign, now)
    if reason:
        raise SigningError(reason)
    if details.kind == SignerKind.ORGANIZATION and not campaign.allow_organizations:
        raise SigningError(N_("This campaign is signed by individuals only."))
    if details.kind == SignerKind.INDIVIDUAL and not campaign.allow_individuals:
        raise SigningError(N_("This campaign is signed by organizations only."))
    now = now or utcnow()
    campaign_id = campaign.id
    # Optimistic: insert, and let the unique constraint catch a repeated email (rare), rather
    # than look first on every signature.
    signature = _new_signature(campaign, details, ip, now)
    session.add(signature)
    try:
        if on_created is not None:
            on_created(signature)
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = find_signature(session, campaign_id, details.email_normalized)
        if existing is None:  # not a duplicate after all: let the caller see the real error
            raise
        return SignResult(existing, created=False)
    return SignResult(signature, created=True)


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


def _mark_confirmed(campaign: Campaign, signature: Signature, now: datetime) -> None:
    signature.status = SignatureStatus.CONFIRMED.value
    signature.confirmed_at = now
    if not campaign.require_moderation:
        signature.status = SignatureStatus.APPROVED.value
        signature.approved_at = now


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
