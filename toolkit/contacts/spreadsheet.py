"""Contact points to and from CSV: validate every row, preview the changes, apply all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, fields
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from toolkit.contacts.directory import CONTACT_POINT_COLUMNS
from toolkit.contacts.models import ContactPoint, ContactRole, ContactStatus, MemberState
from toolkit.validation import clean_block, clean_line, is_http_url, normalize_email

MAX_LENGTHS = {
    "organization": 300,
    "addressee_name": 200,
    "addressee_title": 200,
    "address": 1000,
    "email": 254,
    "phone": 64,
    "website": 500,
    "source": 500,
}
ROLES = tuple(role.value for role in ContactRole)
STATUSES = tuple(status.value for status in ContactStatus)


@dataclass(frozen=True)
class RowError:
    """One problem, where a person can find it in their spreadsheet."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}" if self.row else self.message


@dataclass(frozen=True)
class ContactRow:
    """One valid contact point as read from a file."""

    country: str
    role: str
    organization: str
    addressee_name: str
    addressee_title: str
    address: str
    email: str
    phone: str
    website: str
    source: str
    verified_on: date | None
    status: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a contact point across files: country, role, organization."""
        return (self.country, self.role, self.organization.casefold())


@dataclass
class ImportPlan:
    """What an import would do: nothing at all when there is any error."""

    added: list[ContactRow] = field(default_factory=list)
    changed: list[tuple[ContactPoint, ContactRow, list[str]]] = field(default_factory=list)
    unchanged: list[ContactRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line: how many rows would be added, changed and left as they are."""
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.unchanged)} unchanged"
        )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read). "
            "In Excel or LibreOffice, save it as “CSV UTF-8”."
        ) from exc


def _delimiter(text: str) -> str:
    """Excel in many locales writes semicolons; the header line tells which one this is."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def parse_contacts_csv(
    data: bytes, known_countries: set[str]
) -> tuple[list[ContactRow], list[RowError]]:
    """Read and check every row; return the valid rows and every error, by row and column."""
    try:
        text = _decode(data)
    except ValueError as exc:
        return [], [RowError(0, "", str(exc))]
    if not text.strip():
        return [], [RowError(0, "", "The file is empty.")]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as exc:
        return [], [RowError(1, "", f"The header cannot be read: {exc}")]
    missing = [name for name in CONTACT_POINT_COLUMNS if name not in header]
    unknown = [name for name in header if name not in CONTACT_POINT_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(name or "(empty)" for name in unknown))
        if len(set(header)) != len(header):
            parts.append("a column appears twice")
        expected = ",".join(CONTACT_POINT_COLUMNS)
        return [], [RowError(1, "", f"Wrong header ({'; '.join(parts)}). Expected: {expected}")]

    rows: list[ContactRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, str], int] = {}
    number = 1
    try:
        # Rows as a spreadsheet numbers them (a quoted line break does not start a new row).
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                errors.append(
                    RowError(number, "", f"{len(values)} fields where the header has {len(header)}")
                )
                continue
            row, row_errors = _check_row(dict(zip(header, values, strict=True)), number,
                                         known_countries)  # fmt: skip
            errors.extend(row_errors)
            if row is None:
                continue
            if row.key in seen:
                duplicate = f"the same contact point as row {seen[row.key]}"
                errors.append(RowError(number, "organization", duplicate))
                continue
            seen[row.key] = number
            rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(number + 1, "", f"cannot be read as CSV: {exc}"))
    return rows, errors


def _check_row(
    raw: dict[str, str], number: int, known_countries: set[str]
) -> tuple[ContactRow | None, list[RowError]]:
    errors: list[RowError] = []

    def error(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    value = {name: clean_line(raw[name]) for name in CONTACT_POINT_COLUMNS if name != "address"}
    value["address"] = clean_block(raw["address"].replace(" | ", "\n"))
    value["country"] = value["country"].upper()
    if value["country"] not in known_countries:
        error(
            "country", f"unknown country code '{value['country']}' (use ISO 3166 alpha-2, e.g. KE)"
        )
    if value["role"] not in ROLES:
        error("role", f"unknown role '{value['role']}' (one of: {', '.join(ROLES)})")
    if not value["organization"]:
        error("organization", "is required")
    for name, limit in MAX_LENGTHS.items():
        if len(value[name]) > limit:
            error(name, f"longer than {limit} characters")
    if value["email"]:
        try:
            value["email"] = normalize_email(value["email"])
        except ValueError as exc:
            error("email", str(exc))
    if value["website"] and not is_http_url(value["website"]):
        error("website", "must be a web address starting with http:// or https://")
    source = value["source"]
    if not source:
        error("source", "is required: a web address or a document reference")
    elif not is_safe_source(source):
        error("source", "a link must start with http:// or https://")
    verified_on = None
    if value["verified_on"]:
        try:
            verified_on = date.fromisoformat(value["verified_on"])
        except ValueError:
            error("verified_on", f"'{value['verified_on']}' is not a date written YYYY-MM-DD")
        else:
            if verified_on > date.today():
                error("verified_on", "is in the future")
    status = value["status"] or ContactStatus.UNVERIFIED.value
    if status not in STATUSES:
        error("status", f"must be one of: {', '.join(STATUSES)}")
    elif status == ContactStatus.VERIFIED and not value["verified_on"]:
        error("verified_on", "a verified contact point needs the date it was verified")
    if errors:
        return None, errors
    return ContactRow(**{**value, "verified_on": verified_on, "status": status}), []


def is_safe_source(source: str) -> bool:
    """A source is a document reference in words, or an http(s) link; never javascript: or file:."""
    first = source.split()[0]
    scheme = first.split(":", 1)[0].lower() if ":" in first else ""
    if scheme in {"javascript", "data", "file", "vbscript", "ftp", "mailto"}:
        return False
    return "://" not in first or is_http_url(first)


def _differences(point: ContactPoint, row: ContactRow) -> list[str]:
    return [
        f.name
        for f in fields(ContactRow)
        if f.name not in ("country", "role") and getattr(point, f.name) != getattr(row, f.name)
    ]


def plan_import(session: Session, data: bytes) -> ImportPlan:
    """Compare a file with the directory: what would be added, changed or left unchanged."""
    known = set(session.scalars(select(MemberState.iso2)))
    rows, errors = parse_contacts_csv(data, known)
    plan = ImportPlan(errors=errors)
    if errors:
        return plan
    existing = {
        (p.country, p.role, p.organization.casefold()): p
        for p in session.scalars(select(ContactPoint))
    }
    for row in rows:
        point = existing.get(row.key)
        if point is None:
            plan.added.append(row)
        elif changes := _differences(point, row):
            plan.changed.append((point, row, changes))
        else:
            plan.unchanged.append(row)
    return plan


def apply_import(session: Session, plan: ImportPlan) -> None:
    """Apply a valid plan in the session's transaction (the caller commits, or rolls back)."""
    if not plan.ok:
        raise ValueError("An import with errors changes nothing.")
    for row in plan.added:
        session.add(ContactPoint(**{f.name: getattr(row, f.name) for f in fields(ContactRow)}))
    for point, row, changes in plan.changed:
        for name in changes:
            setattr(point, name, getattr(row, name))
    session.flush()


def export_contacts_csv(session: Session) -> str:
    """Every contact point in the import format, so export then import changes nothing."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CONTACT_POINT_COLUMNS)
    points = session.scalars(
        select(ContactPoint).order_by(ContactPoint.country, ContactPoint.role, ContactPoint.id)
    )
    for point in points:
        writer.writerow(
            [
                point.verified_on.isoformat() if name == "verified_on" and point.verified_on
                else "" if name == "verified_on"
                else getattr(point, name)
                for name in CONTACT_POINT_COLUMNS
            ]
        )  # fmt: skip
    return buffer.getvalue()
