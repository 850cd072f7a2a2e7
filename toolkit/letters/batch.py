"""Batch letters: one letter per member state, each to its best contact point, in one ZIP.

Used by `toolkit letters batch`, `toolkit campaigns letters`, the organizers' pages and the
sending of a sign-on letter to governments. Choosing the countries, composing the letters
and writing the ZIP are plain functions here; rendering the PDFs on every core is
``toolkit.documents.pdf.render_many``.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from toolkit.contacts.directory import best_contact_point, government_recipient
from toolkit.contacts.models import ContactPoint, ContactStatus, MemberState
from toolkit.documents.html import letter_html
from toolkit.exports.writers import export_chunks
from toolkit.letters.catalog import Catalog, LetterTemplate
from toolkit.letters.compose import (
    Letter,
    LetterError,
    LetterRequest,
    SenderDetails,
    compose_letter,
)
from toolkit.letters.fill import LetterFillError

SIGNATORIES = "signatories"
INDEX_FILE = "index.csv"
INDEX_COLUMNS = ("country_code", "country", "addressee", "email", "email_verified", "pdf",
                 "docx", "status", "error")  # fmt: skip


class BatchError(ValueError):
    """A batch cannot be made as asked; the message says why, for the person who asked."""


@dataclass(frozen=True)
class BatchLetter:
    """One country's letter in a batch: where it goes, and its document."""

    code: str  # ISO 3166 alpha-2
    country: str  # in the letter's language
    addressee: str  # the address block as printed, one line per line
    email: str  # the contact point's email, or ""
    email_verified: bool
    contact_point_id: int | None
    filename_stem: str  # e.g. KE-delegation-request
    html: str  # the full HTML document the PDF is made from
    docx: Callable[[], bytes] | bytes = field(default=b"", repr=False, compare=False)

    def docx_bytes(self) -> bytes:
        """The letter as DOCX (made now when it was given as a function)."""
        return self.docx() if callable(self.docx) else bytes(self.docx)


@dataclass(frozen=True)
class BatchFailure:
    """A country whose letter could not be made, and why."""

    code: str
    country: str
    error: str


@dataclass(frozen=True)
class BatchReport:
    """What a batch made: the countries done and those that failed, by name."""

    made: tuple[str, ...]
    failures: tuple[BatchFailure, ...]

    @property
    def total(self) -> int:
        """How many countries the batch was for."""
        return len(self.made) + len(self.failures)

    @property
    def failed_names(self) -> list[str]:
        """The names of the countries whose letter failed."""
        return [failure.country for failure in self.failures]


# --- choosing the countries ---------------------------------------------------------------


def known_regions(session: Session) -> list[str]:
    """Every M49 region, subregion and intermediate region that has a member state."""
    rows = session.execute(
        select(
            MemberState.m49_region, MemberState.m49_subregion, MemberState.m49_intermediate_region
        )
    ).all()
    return sorted({name for row in rows for name in row if name})


def select_countries(
    session: Session, spec: str, signatory_countries: Iterable[str] = ()
) -> list[MemberState]:
    """The member states a batch is for, sorted by English name.

    ``spec`` is "all", an M49 region or subregion (any case: "Africa", "Western Africa"),
    "signatories" (the countries in ``signatory_countries``), or ISO codes separated by
    commas ("KE, SN, BR"). Raise BatchError for an unknown region or code, or no country.
    """
    text = " ".join((spec or "").split())
    if not text:
        raise BatchError(
            "Choose the countries: all, a region, signatories, or ISO codes such as KE, SN."
        )
    states = sorted(session.scalars(select(MemberState)), key=lambda s: s.name_en.casefold())
    wanted = text.casefold()
    if wanted == "all":
        chosen = states
    elif wanted == SIGNATORIES:
        codes = {code.strip().upper() for code in signatory_countries if code}
        chosen = [state for state in states if state.iso2 in codes]
        if not chosen:
            raise BatchError(
                "No approved signatory has given a member state's country, so there is no "
                "country to write to."
            )
    elif "," in text or (len(text) == 2 and text.isalpha()):
        chosen = _by_codes(states, text)
    else:
        chosen = [
            state
            for state in states
            if wanted
            in {
                state.m49_region.casefold(),
                state.m49_subregion.casefold(),
                (state.m49_intermediate_region or "").casefold(),
            }
        ]
        if not chosen:
            raise BatchError(
                f"Unknown region '{text}'. Known regions: {', '.join(known_regions(session))}."
            )
    if not chosen:
        raise BatchError("No country is selected: a batch needs at least one.")
    return chosen


def _by_codes(states: list[MemberState], text: str) -> list[MemberState]:
    codes = [code.strip().upper() for code in text.replace(";", ",").split(",")]
    codes = list(dict.fromkeys(code for code in codes if code))
    by_code = {state.iso2: state for state in states}
    unknown = [code for code in codes if code not in by_code]
    if unknown:
        raise BatchError(
            f"Unknown country code(s): {', '.join(unknown)}. Use ISO 3166 alpha-2 codes "
            "of ITU member states, such as KE, SN, BR."
        )
    if not codes:
        raise BatchError("No country is selected: a batch needs at least one.")
    chosen = set(codes)
    return [state for state in states if state.iso2 in chosen]


# --- composing the letters ------------------------------------------------------------------


def contact_details(
    session: Session, state: MemberState, roles: Sequence[str] = ()
) -> tuple[ContactPoint | None, str, bool]:
    """A country's best contact point, its email (or "") and whether that email is verified."""
    point = best_contact_point(session, state.iso2, roles)
    if point is None or not point.email:
        return point, "", False
    return point, point.email, point.status == ContactStatus.VERIFIED.value


def _letter_docx(letter: Letter) -> bytes:
    from toolkit.documents.docx import letter_docx  # noqa: PLC0415 - python-docx on demand

    return letter_docx(letter)


def template_letters(
    session: Session,
    catalog: Catalog,
    template: LetterTemplate | str,
    sender: SenderDetails,
    countries: Sequence[MemberState],
    *,
    language: str,
    event: str,
    letter_date: date,
    fields: dict[str, str] | None = None,
    own_words: str = "",
) -> list[BatchLetter]:
    """One letter from ``template`` and ``sender`` to each country's best contact point.

    Raise BatchError when the template is not written to governments, or a letter cannot be
    composed (an unknown event or language, an error in the template).
    """
    found = catalog.get(template) if isinstance(template, str) else template
    if found is None:
        raise BatchError(f"There is no letter template called '{template}'.")
    if found.recipient != "government":
        raise BatchError(
            f"The letter '{found.title}' is written to the ITU, not to governments, so it "
            "cannot be sent country by country."
        )
    if not countries:
        raise BatchError("No country is selected: a batch needs at least one.")
    letters = []
    for state in countries:
        request = LetterRequest(
            template=found.slug, sender=sender, recipient_country=state.iso2, event=event,
            language=language, letter_date=letter_date, fields=dict(fields or {}),
            own_words=own_words,
        )  # fmt: skip
        try:
            letter = compose_letter(session, catalog, request)
        except (LetterError, LetterFillError) as exc:
            raise BatchError(f"{state.name_en}: {exc}") from exc
        point, email, verified = contact_details(session, state, found.contact_roles)
        letters.append(
            BatchLetter(
                code=state.iso2,
                country=letter.recipient.country_name,
                addressee="\n".join(letter.recipient.address_lines),
                email=email,
                email_verified=verified,
                contact_point_id=point.id if point is not None else None,
                filename_stem=f"{state.iso2}-{found.slug}",
                html=letter_html(letter),
                docx=partial(_letter_docx, letter),
            )
        )
    return letters


def addressee_block(session: Session, state: MemberState, language: str) -> str:
    """The address block a letter to this state's government prints, one line per line."""
    return "\n".join(government_recipient(session, state, language).address_lines)


# --- the ZIP --------------------------------------------------------------------------------


def write_zip(
    letters: Sequence[BatchLetter],
    pdfs: dict[str, bytes | Exception],
    output: BinaryIO | str | os.PathLike[str],
    *,
    docx: bool = True,
) -> BatchReport:
    """Write each letter's PDF (and DOCX) and an index.csv; a failed country is listed, not fatal.

    ``pdfs`` maps each letter's code to its PDF or to the error that stopped it. A path is
    written to a temporary file first and moved into place when complete.
    """
    if isinstance(output, (str, os.PathLike)):
        target = Path(output)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as stream:
                report = write_zip(letters, pdfs, stream, docx=docx)
            os.chmod(temporary, 0o644)  # mkstemp's 0600 is not what an output file should have
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return report

    rows: list[list[object]] = []
    made: list[str] = []
    failures: list[BatchFailure] = []
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for letter in letters:
            result = pdfs.get(letter.code)
            pdf_name = docx_name = ""
            errors = []
            if isinstance(result, (bytes, bytearray)):
                pdf_name = f"{letter.filename_stem}.pdf"
                archive.writestr(pdf_name, bytes(result))
            else:
                errors.append(f"PDF: {result or 'not made'}")
            if docx and pdf_name:
                try:
                    data = letter.docx_bytes()
                except Exception as exc:  # noqa: BLE001 - one country's failure is reported
                    errors.append(f"DOCX: {exc or type(exc).__name__}")
                else:
                    docx_name = f"{letter.filename_stem}.docx"
                    archive.writestr(docx_name, data)
            error = "; ".join(errors)
            if error:
                failures.append(BatchFailure(letter.code, letter.country, error))
            else:
                made.append(letter.code)
            rows.append([letter.code, letter.country, letter.addressee, letter.email,
                         "yes" if letter.email_verified else "no", pdf_name, docx_name,
                         "failed" if error else "ok", error])  # fmt: skip
        archive.writestr(INDEX_FILE, "".join(export_chunks("csv", INDEX_COLUMNS, rows)))
    return BatchReport(made=tuple(made), failures=tuple(failures))


def read_index(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a batch ZIP's index.csv, for a page that shows what was made."""
    with zipfile.ZipFile(path) as archive:
        text = archive.read(INDEX_FILE).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def make_batch(
    letters: Sequence[BatchLetter],
    output: BinaryIO | str | os.PathLike[str],
    *,
    workers: int | None = None,
    timeout: float = 60.0,
    docx: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Render every letter's PDF on several processes, then write the ZIP."""
    from toolkit.documents.pdf import render_many  # noqa: PLC0415

    pdfs = render_many(
        [(letter.code, letter.html) for letter in letters],
        workers=workers,
        timeout=timeout,
        progress=progress,
    )
    return write_zip(letters, pdfs, output, docx=docx)
