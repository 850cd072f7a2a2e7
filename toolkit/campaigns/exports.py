"""Signature lists for organizers: the full list, or a presentable one to hand to governments."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import DateTime, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

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


def custom_field_names(campaign: Campaign) -> tuple[str, ...]:
    """The names of the organizer's own questions, in the order they are asked."""
    return tuple(str(field["name"]) for field in campaign.custom_fields or ())


def columns(request: ExportRequest, campaign: Campaign) -> Sequence[str]:
    """The header of an export: the full list adds one column per question of the campaign."""
    try:
        standard = SHAPES[request.shape]
    except KeyError as exc:
        raise ExportError("The shape must be full or presentable.") from exc
    if request.shape == "full":
        return standard + custom_field_names(campaign)
    return standard


def _readable(column: ColumnElement, dialect: str) -> ColumnElement:
    """A column as the export reads it.

    SQLite keeps times as text ('2026-11-28 15:05:00.123456'); turning that text into ISO 8601
    in the query gives exactly what datetime.isoformat() would, without a parse and a format
    per cell in Python. Other databases return datetimes, which the writers format.
    """
    if dialect == "sqlite" and isinstance(column.type, DateTime):
        return func.replace(func.replace(column, " ", "T"), ".000000", "").label(column.name)
    return column


def export_rows(
    session: Session, campaign: Campaign, request: ExportRequest, batch: int = 2000
) -> Iterator[Sequence[object]]:
    """The rows, fetched in batches, so 100,000 need no more memory than 100.

    Only the exported columns are read, as plain rows rather than ORM objects, through a
    server-side cursor on PostgreSQL. The presentable list holds approved signatures only:
    never pending, rejected or withdrawn, never an email. A missing email (paper signatures,
    erased signers) or a question left unanswered comes out as None. Times come as datetimes,
    or on SQLite as the ISO 8601 text they would be written as.
    """
    header = columns(request, campaign)
    connection = session.connection()
    table = Signature.__table__.c
    selected = [_readable(table[name], connection.dialect.name) for name in SHAPES[request.shape]]
    # Answers are read out of the JSON in the database, so no row's JSON is parsed in Python.
    selected += [Signature.extra[name].as_string() for name in header[len(selected) :]]
    query = select(*selected).where(Signature.campaign_id == campaign.id)
    if request.shape == "presentable":  # erased signers count, but have no name to hand over
        query = query.where(
            Signature.status == SignatureStatus.APPROVED.value, Signature.erased_at.is_(None)
        )
    elif request.status:
        query = query.where(Signature.status == request.status)
    if request.kind:
        query = query.where(Signature.kind == request.kind)
    if request.country:
        query = query.where(Signature.country == request.country.upper())
    query = query.order_by(Signature.id)
    # Core on the session's connection: plain rows, without the ORM's step per row.
    result = connection.execute(query, execution_options={"yield_per": batch})
    try:
        for rows in result.partitions():
            yield from rows
    finally:
        result.close()
