"""Reach beyond the web: a flyer with a QR code, a paper signature sheet, and paper entry.

Paper signatures are entered by an organizer of the campaign, who vouches for them: they are
saved approved, with ``source="paper"`` and no email unless the signer wrote one down.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import segno
from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wtforms import BooleanField, EmailField, FieldList, Form, FormField, StringField
from wtforms.validators import DataRequired, Length, Optional

from toolkit.accounts.access import organizer_required
from toolkit.accounts.audit import record
from toolkit.accounts.models import User
from toolkit.campaigns.admin import _managed_or_403
from toolkit.campaigns.admin import bp as admin_bp
from toolkit.campaigns.forms import NAME_MAX, CountryField
from toolkit.campaigns.models import (
    Campaign,
    CampaignState,
    FieldRule,
    Signature,
    SignatureStatus,
    SignerKind,
)
from toolkit.campaigns.signing import COUNTED, canonical_email
from toolkit.campaigns.views import _campaign_or_404, bp
from toolkit.contacts.directory import member_state_choices
from toolkit.db import utcnow
from toolkit.documents.html import render_document
from toolkit.documents.pdf import render_pdf
from toolkit.extensions import db, limiter
from toolkit.forms import email_address, no_control_characters
from toolkit.markup import render_markdown
from toolkit.validation import nfc

PAPER = "paper"
WEB = "web"
ENTRY_ROWS = 10  # rows on the entry form
SHEET_ROWS = 15  # rows on a printed sheet, unless ?rows= asks for another number
SHEET_ROWS_MAX = 60
NOTE_MAX = 200


# --- Service functions: plain values and a session, no request ---------------------------------


@dataclass(frozen=True)
class Duplicate:
    """Why a row's email cannot be saved: it already signed, or an earlier row has it."""

    signed: bool
    first_row: int | None = None  # the earlier row's index, for a repeat within the batch


class PaperError(ValueError):
    """Paper signatures cannot be saved as given; ``rows`` maps a row index to its duplicate."""

    def __init__(self, message: str, rows: dict[int, Duplicate] | None = None) -> None:
        super().__init__(message)
        self.rows = dict(rows or {})


@dataclass(frozen=True)
class PaperRow:
    """One line of a paper sheet, already cleaned by the form (email normalized, or "")."""

    name: str
    country: str = ""
    email: str = ""
    list_publicly: bool = False


def paper_counts(session: Session, campaign: Campaign) -> dict[str, int]:
    """Counted signatures (confirmed or approved) by source: {"web": n, "paper": m}."""
    rows = session.execute(
        select(Signature.source, func.count())
        .where(Signature.campaign_id == campaign.id, Signature.status.in_(COUNTED))
        .group_by(Signature.source)
    )
    counts = {WEB: 0, PAPER: 0}
    for source, count in rows:
        key = PAPER if source == PAPER else WEB
        counts[key] += count
    return counts


def paper_entry_refused(campaign: Campaign) -> str | None:
    """Why paper signatures cannot be entered for a campaign, in words for the organizer."""
    if campaign.state == CampaignState.DRAFT:
        return "Open the campaign first: paper signatures are entered for a published text."
    if not campaign.allow_individuals:
        return (
            "This campaign is signed by organizations only, and paper sheets are for individuals."
        )
    return None


def find_duplicates(
    session: Session, campaign: Campaign, rows: Sequence[PaperRow]
) -> dict[int, Duplicate]:
    """Rows whose email already signed this campaign, or repeats an earlier row's email."""
    problems: dict[int, Duplicate] = {}
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not row.email:
            continue
        key = canonical_email(row.email)
        if key in seen:
            problems[index] = Duplicate(signed=False, first_row=seen[key])
        else:
            seen[key] = index
    if seen:
        query = select(Signature.email_normalized).where(
            Signature.campaign_id == campaign.id, Signature.email_normalized.in_(list(seen))
        )
        for key in set(session.scalars(query)):
            problems[seen[key]] = Duplicate(signed=True)
    return problems


def add_paper_signatures(
    session: Session, campaign: Campaign, rows: Sequence[PaperRow], *, note: str,
    actor: User | str | None, now: datetime | None = None,
) -> list[Signature]:  # fmt: skip
    """Save paper signatures, all or none, approved in the organizer's name; audited.

    Raises PaperError (with the rows at fault) when an email has already signed or appears
    twice. The caller commits; on a PaperError nothing was added to the session.
    """
    if not rows:
        raise PaperError("Enter at least one signature.")
    reason = paper_entry_refused(campaign)
    if reason:
        raise PaperError(reason)
    if any(not row.name.strip() for row in rows):
        raise PaperError("Every signature needs a name.")
    problems = find_duplicates(session, campaign, rows)
    if problems:
        raise PaperError("Some rows are duplicates; nothing was saved.", problems)
    now = now or utcnow()
    signatures = []
    for row in rows:
        normalized = canonical_email(row.email) if row.email else None
        signatures.append(
            Signature(
                campaign_id=campaign.id,
                kind=SignerKind.INDIVIDUAL.value,
                name=row.name,
                email=row.email or None,
                email_normalized=normalized,
                email_domain=normalized.rpartition("@")[2] if normalized else "",
                country=row.country,
                list_publicly=row.list_publicly,
                language=campaign.language,
                extra={"paper_note": note} if note else {},
                source=PAPER,
                status=SignatureStatus.APPROVED.value,
                created_at=now,
                confirmed_at=now,
                approved_at=now,
            )
        )
    session.add_all(signatures)
    try:
        session.flush()
    except IntegrityError as exc:  # an email signed on the web meanwhile
        session.rollback()
        raise PaperError(
            "An email was used by a signature made meanwhile; nothing was saved."
        ) from exc
    record(session, "signatures.paper_entry", actor=actor, target=campaign,
           details={"count": len(signatures), "note": note})  # fmt: skip
    return signatures


def campaign_url(campaign: Campaign) -> str:
    """The campaign's public address, absolute: what the QR code and the printed line carry."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + url_for("campaigns.show", slug=campaign.slug)


def qr_code(url: str) -> segno.QRCode:
    """The QR code for an address; medium error correction survives a photocopy or a fold."""
    return segno.make(url, error="m")


def qr_svg(url: str) -> bytes:
    """The QR code as a standalone SVG file."""
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="svg", scale=10, border=4, title=url)
    return buffer.getvalue()


# --- Documents: the flyer and the sheet --------------------------------------------------------


def _css_string(text: str) -> Markup:
    """A CSS string literal that no text can break out of (used in margin-box content)."""
    escaped = "".join(
        f"\\{ord(char):x} " if char in '\\"<>&' or ord(char) < 32 else char for char in text
    )
    return Markup(f'"{escaped}"')


def _page_counter_css(label: str) -> Markup:
    """``"Page {page} of {pages}"`` (translated) as CSS content with the page counters."""
    parts: list[str] = []
    rest = label
    while rest:
        positions = [(rest.find(mark), mark) for mark in ("{page}", "{pages}") if mark in rest]
        if not positions:
            parts.append(str(_css_string(rest)))
            break
        at, mark = min(positions)
        if at:
            parts.append(str(_css_string(rest[:at])))
        parts.append("counter(pages)" if mark == "{pages}" else "counter(page)")
        rest = rest[at + len(mark) :]
    return Markup(" ".join(parts) or '""')


def _short_text(campaign: Campaign) -> Markup:
    """The introduction, or else the first paragraph of the text: what fits on a page."""
    if campaign.introduction.strip():
        return render_markdown(campaign.introduction)
    first = campaign.text.strip().split("\n\n", 1)[0]
    return render_markdown(first)


def flyer_html(campaign: Campaign) -> str:
    """The flyer's HTML: title, the ask, a big QR code and the address under it."""
    url = campaign_url(campaign)
    with force_locale(campaign.language):
        labels = {
            "scan": _("Scan the code with your phone to read and sign"),
            "or_visit": _("or type this address:"),
            "qr_alt": _("QR code for %(url)s", url=url),
        }
    return render_document("flyer.html",
        campaign=campaign, text=_short_text(campaign), url=url, labels=labels,
        qr_data_uri=qr_code(url).svg_data_uri(scale=10, border=4),
    )  # fmt: skip


def sheet_html(campaign: Campaign, rows: int = SHEET_ROWS) -> str:
    """The signature sheet's HTML: the text in short, the privacy line, numbered rows."""
    url = campaign_url(campaign)
    with force_locale(campaign.language):
        privacy = [
            _("We keep your name, your country and, if you write it, your email, to count your "
              "signature once and to hand the list of signers to its addressees."),
            _("Your email is never shown or shared: only this campaign's organizers see it."),
            _("Your name is shown on the campaign's website only if you answer yes.")
            if campaign.list_publicly
            else _("Names are not shown on the website."),
            _("Emails are deleted %(days)s days after the campaign closes.",
              days=campaign.retention_days),
        ]  # fmt: skip
        labels = {
            "full_text": _("Read the full text and sign online: %(url)s", url=url),
            "privacy": " ".join(privacy),
            "number": _("No."),
            "name": _("Name"),
            "country": _("Country"),
            "email": _("Email (optional, so we count you once)"),
            "public": _("List my name publicly (yes / no)"),
            "signature": _("Signature"),
            "page": _("Page {page} of {pages}"),
        }
    return render_document("signature_sheet.html",
        campaign=campaign, text=_short_text(campaign), url=url, labels=labels,
        rows=range(1, rows + 1), page_css=_page_counter_css(labels["page"]),
        url_css=_css_string(url),
    )  # fmt: skip


def document_pdf(campaign: Campaign, kind: str, html: str) -> bytes:
    """The PDF for this HTML, made once and then kept (public links must stay cheap)."""
    fingerprint = hashlib.sha256(html.encode()).hexdigest()[:20]
    folder = Path(current_app.config["DOCUMENTS_DIR"])
    path = folder / f"{campaign.slug}-{kind}-{fingerprint}.pdf"
    if path.exists():
        return path.read_bytes()
    data = render_pdf(html, timeout=current_app.config["PDF_TIMEOUT"])
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers never see half a file
    return data


def _pdf_response(data: bytes, filename: str, campaign: Campaign) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    private = campaign.state == CampaignState.DRAFT
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=3600"
    return response


# --- Public routes ----------------------------------------------------------------------------


@bp.get("/campaigns/<slug>/flyer.pdf")
@limiter.limit("30 per minute")
def flyer(slug: str) -> Response:
    """A printable A4 flyer with a QR code to the campaign."""
    campaign = _campaign_or_404(slug)
    data = document_pdf(campaign, "flyer", flyer_html(campaign))
    return _pdf_response(data, f"{campaign.slug}-flyer.pdf", campaign)


@bp.get("/campaigns/<slug>/sheet.pdf")
@limiter.limit("30 per minute")
def sheet(slug: str) -> Response:
    """A printable signature sheet (A4 landscape) for collecting signatures offline."""
    campaign = _campaign_or_404(slug)
    rows = request.args.get("rows", SHEET_ROWS, type=int) or SHEET_ROWS
    rows = min(max(rows, 1), SHEET_ROWS_MAX)
    data = document_pdf(campaign, f"sheet{rows}", sheet_html(campaign, rows))
    return _pdf_response(data, f"{campaign.slug}-signature-sheet.pdf", campaign)


@bp.get("/campaigns/<slug>/qr.svg")
def qr(slug: str) -> Response:
    """The campaign's QR code as SVG, for organizers' own posters and slides."""
    campaign = _campaign_or_404(slug)
    response = Response(qr_svg(campaign_url(campaign)), mimetype="image/svg+xml")
    response.headers["Content-Disposition"] = f'inline; filename="{campaign.slug}-qr.svg"'
    private = campaign.state == CampaignState.DRAFT
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=86400"
    return response


# --- Organizer route: entering paper signatures -----------------------------------------------


class PaperRowForm(Form):
    """One line of a sheet. Every field may be empty: an empty line is skipped."""

    name = StringField(_l("Name"), [Optional(), Length(max=NAME_MAX), no_control_characters],
                       filters=[nfc])  # fmt: skip
    country = CountryField(_l("Country"), [Optional()])
    email = EmailField(_l("Email (optional)"), [Optional(), Length(max=254), email_address],
                       filters=[nfc])  # fmt: skip
    list_publicly = BooleanField(_l("List publicly"), default=False)

    def is_empty(self) -> bool:
        """True when nothing was written on this line."""
        return not (self.name.data or self.email.data or self.country.data)


class PaperEntryForm(FlaskForm):
    """Up to ENTRY_ROWS lines from paper sheets, and where they were collected."""

    note = StringField(
        _l("Where and when were these collected?"),
        [DataRequired(), Length(max=NOTE_MAX), no_control_characters], filters=[nfc],
        description=_l("For example: market stall, Nairobi, 2 December. Kept with each signature."),
    )  # fmt: skip
    rows = FieldList(FormField(PaperRowForm), min_entries=ENTRY_ROWS, max_entries=ENTRY_ROWS)


def _entry_form() -> PaperEntryForm:
    form = PaperEntryForm()
    countries = member_state_choices(db.session, str(get_locale() or "en"))  # the reader's language
    choices = [("", _("Not given")), *countries]
    codes = frozenset(code for code, _name in choices)
    for entry in form.rows:
        entry.form.country.choices = choices
        entry.form.country.valid_codes = codes
    return form


def _check_rows(form: PaperEntryForm, campaign: Campaign) -> list[tuple[int, PaperRow]]:
    """The filled rows as PaperRows (with their index); adds errors to incomplete ones."""
    country_required = campaign.rule("country") == FieldRule.REQUIRED
    filled = []
    for index, entry in enumerate(form.rows):
        row = entry.form
        if row.is_empty():
            continue
        if not (row.name.data or "").strip() and not row.name.errors:
            row.name.errors = [*row.name.errors, _("Write the signer's name.")]
        if country_required and not row.country.data and not row.country.errors:
            row.country.errors = [*row.country.errors, _("This campaign asks for the country.")]
        filled.append((index, PaperRow(name=row.name.data or "", country=row.country.data or "",
                                       email="" if row.email.errors else row.email.data or "",
                                       list_publicly=bool(row.list_publicly.data))))  # fmt: skip
    return filled


def _mark_duplicates(
    form: PaperEntryForm, filled: list[tuple[int, PaperRow]], duplicates: dict[int, Duplicate]
) -> None:
    """Put each duplicate's message at its email field, naming its row."""
    for position, duplicate in sorted(duplicates.items()):
        row = filled[position][0]
        if duplicate.signed:
            message = _("Row %(row)s is a duplicate: this email has already signed this "
                        "campaign.", row=row + 1)  # fmt: skip
        else:
            first = filled[duplicate.first_row][0] if duplicate.first_row is not None else row
            message = _("Row %(row)s is a duplicate: it has the same email as row %(first)s.",
                        row=row + 1, first=first + 1)  # fmt: skip
        field = form.rows[row].form.email
        field.errors = [*field.errors, message]


def _row_errors(form: PaperEntryForm) -> bool:
    return any(entry.form.errors for entry in form.rows)


@admin_bp.route("/<slug>/paper", methods=["GET", "POST"])
@organizer_required
def paper(slug: str) -> str | Response | tuple[str, int]:
    """Enter signatures collected on paper sheets, ten lines at a time, all or none."""
    campaign = _managed_or_403(slug)
    form = _entry_form()
    refused = paper_entry_refused(campaign)
    problem = ""
    if request.method == "POST" and not refused:
        valid = form.validate_on_submit()
        filled = _check_rows(form, campaign)
        rows = [row for _index, row in filled]
        _mark_duplicates(form, filled, find_duplicates(db.session, campaign, rows))
        if not filled:
            problem = _("Enter at least one signature: every line is empty.")
        elif not valid or _row_errors(form):
            problem = _("Nothing was saved: correct the lines marked below.")
        else:
            try:
                added = add_paper_signatures(db.session, campaign, rows, note=form.note.data,
                                             actor=current_user)  # fmt: skip
            except PaperError as exc:  # a web signature with one of these emails, meanwhile
                db.session.rollback()
                _mark_duplicates(form, filled, exc.rows)
                problem = _(str(exc))
            else:
                db.session.commit()
                flash(_("%(n)s paper signature(s) added.", n=len(added)))
                return redirect(url_for("campaigns.admin.paper", slug=slug))
    status = 422 if problem else 409 if request.method == "POST" and refused else 200
    return render_template(
        "campaigns/paper/entry.html", campaign=campaign, form=form, problem=problem,
        refused=_(refused) if refused else "", counts=paper_counts(db.session, campaign),
    ), status  # fmt: skip
