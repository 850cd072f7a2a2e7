"""Signature lists for organizers: the full list, or a presentable one to hand to governments."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from toolkit.campaigns.models import Campaign, Signature, SignatureStatus
from toolkit.exports.database_csv import CHUNK_ROWS, csv_file, readable

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


def _cells(request: ExportRequest, header: Sequence[str]) -> list[ColumnElement]:
    """The exported columns, then one answer per question (read out of the JSON in the database,
    so no row's JSON is parsed in Python; an unanswered question is NULL)."""
    table = Signature.__table__.c
    cells: list[ColumnElement] = [table[name] for name in SHAPES[request.shape]]
    return cells + [Signature.extra[name].as_string() for name in header[len(cells) :]]


def _scope(campaign: Campaign) -> list[ColumnElement]:
    return [Signature.campaign_id == campaign.id]


def _filters(request: ExportRequest) -> list[ColumnElement]:
    """The presentable list holds approved signatures only: never pending, rejected or withdrawn.

    Erased signers count, but have no name to hand over.
    """
    filters = []
    if request.shape == "presentable":
        filters += [
            Signature.status == SignatureStatus.APPROVED.value,
            Signature.erased_at.is_(None),
        ]
    elif request.status:
        filters.append(Signature.status == request.status)
    if request.kind:
        filters.append(Signature.kind == request.kind)
    if request.country:
        filters.append(Signature.country == request.country.upper())
    return filters


def export_rows(
    session: Session, campaign: Campaign, request: ExportRequest, batch: int = 2000
) -> Iterator[Sequence[object]]:
    """The rows, fetched in batches, so 100,000 need no more memory than 100.

    Only the exported columns are read, as plain rows rather than ORM objects, through a
    server-side cursor on PostgreSQL. The presentable list never holds an email. A missing
    email (paper signatures, erased signers) or a question left unanswered comes out as None.
    Times come as datetimes, or on SQLite as the ISO 8601 text they would be written as.
    """
    header = columns(request, campaign)
    connection = session.connection()
    dialect = connection.dialect.name
    selected = [readable(cell, dialect) for cell in _cells(request, header)]
    query = select(*selected).where(*_scope(campaign), *_filters(request)).order_by(Signature.id)
    # Core on the session's connection: plain rows, without the ORM's step per row.
    result = connection.execute(query, execution_options={"yield_per": batch})
    try:
        for rows in result.partitions():
            yield from rows
    finally:
        result.close()


def export_csv(
    session: Session,
    campaign: Campaign,
    request: ExportRequest,
    *,
    processes: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[bytes]:
    """The CSV file of export_rows through csv_chunks, byte for byte, each line written by the
    database: several times faster, in the same flat memory (see exports/database_csv.py).

    Raises ExportError for a bad shape before anything is read.
    """
    header = columns(request, campaign)
    return csv_file(
        session, header, _cells(request, header), key=Signature.id, scope=_scope(campaign),
        filters=_filters(request), processes=processes, chunk_rows=chunk_rows,
    )  # fmt: skip
