"""Signature lists for organizers: the full list, or a presentable one to hand to governments."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from toolkit.campaigns.models import Campaign, Signature, SignatureStatus

FULL = (
    "id", "status", "kind", "name", "email", "organization", "role", "city", "country",
    "list_publicly", "receive_updates", "language", "source", "created_at", "confirmed_at",
    "approved_at", "rejected_at", "withdrawn_at", "rejection_reason",
)  # fmt: skip
PRESENTABLE = ("name", "organization", "role", "city", "country")
SHAPES = {"full": FULL, "presentable": PRESENTABLE}


@dataclass(frozen=True)
class ExportRequest:
    """Which list, in which shape, with which filters."""

    shape: str = "full"
    status: str = ""
    kind: str = ""
    country: str = ""


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why."""


def columns(request: ExportRequest) -> Sequence[str]:
    """The header of an export."""
    try:
        return SHAPES[request.shape]
    except KeyError as exc:
        raise ExportError("The shape must be full or presentable.") from exc


def export_rows(
    session: Session, campaign: Campaign, request: ExportRequest, batch: int = 1000
) -> Iterator[tuple]:
    """The rows, fetched in batches, so 100,000 need no more memory than 100.

    The presentable list holds approved signatures only: never pending, rejected or withdrawn,
    never an email.
    """
    header = columns(request)
    query = select(Signature).where(Signature.campaign_id == campaign.id)
    if request.shape == "presentable":
        query = query.where(Signature.status == SignatureStatus.APPROVED.value)
    elif request.status:
        query = query.where(Signature.status == request.status)
    if request.kind:
        query = query.where(Signature.kind == request.kind)
    if request.country:
        query = query.where(Signature.country == request.country.upper())
    query = query.order_by(Signature.id).execution_options(yield_per=batch)
    for signature in session.scalars(query):
        yield tuple(getattr(signature, name) for name in header)
        session.expunge(signature)
