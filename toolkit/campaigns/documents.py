"""The final letter as a PDF: small ones at once, long ones built in the background and kept.

A kept PDF is named by the fingerprint of its signatory list, so it is reused until the
signatures change, and a changed list is never served from an old file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import current_app
from flask_babel import force_locale, format_date, format_decimal, ngettext
from flask_babel import gettext as _

from toolkit.campaigns.final_letter import (
    FinalLetter,
    PetitionDelivery,
    petition_signers,
    signatory_list,
)
from toolkit.campaigns.models import Campaign, CampaignKind
from toolkit.documents.html import final_letter_html, petition_html
from toolkit.documents.pdf import PdfError, render_pdf
from toolkit.extensions import db
from toolkit.markup import render_markdown

log = logging.getLogger(__name__)

SYNC_LIMIT = 2000  # more signatories than this: build in the background
SECONDS_PER_1000 = 1.2  # measured by bench/signing.py on a 2-core machine; for the estimate
_building: dict[str, tuple[threading.Thread, float]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class PdfResult:
    """A ready file, or a build in progress (path None) with what is known about it."""

    path: Path | None
    total: int
    building: bool = False
    error: str = ""
    elapsed: float = 0.0  # seconds since the build started
    estimate: float = 0.0  # seconds the whole build is expected to take

    @property
    def percent(self) -> int:
        """A rough progress figure for the waiting page (never 100 before it is done)."""
        if not self.estimate:
            return 0
        return min(95, int(100 * self.elapsed / self.estimate))


def _addressee(campaign: Campaign) -> str:
    if campaign.addressee == "itu":
        return _("To the Secretary-General of the International Telecommunication Union")
    if campaign.addressee == "governments":
        return _("To the governments of the Member States of the ITU")
    return campaign.addressee_text


def build_html(campaign: Campaign, language: str) -> tuple[str, int, str]:
    """The document's HTML, its signatory count and its fingerprint: the final letter of a
    sign-on letter, or the delivery document of a petition."""
    document, labels = build_document(campaign, language)
    with force_locale(language):
        if isinstance(document, PetitionDelivery):
            html = petition_html(document, labels)
            listed = document.signers
        else:
            html = final_letter_html(document, labels)
            listed = document.signatories
    fingerprint = f"{listed.fingerprint()}-{language}-{date.today().isoformat()}"
    return html, listed.total, fingerprint


def _folder() -> Path:
    folder = Path(current_app.config["DOCUMENTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write(path: Path, html: str, timeout: float) -> None:
    data = render_pdf(html, timeout=timeout)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers never see half a file


def final_letter_pdf(campaign: Campaign, language: str) -> PdfResult:
    """The final letter's PDF path, building it now or in the background as its size needs."""
    html, total, fingerprint = build_html(campaign, language)
    path = _folder() / f"{campaign.slug}-{fingerprint}.pdf"
    if path.exists():
        return PdfResult(path, total)
    timeout = current_app.config["PDF_TIMEOUT"]
    if total <= SYNC_LIMIT:
        _write(path, html, timeout)
        return PdfResult(path, total)
    estimate = max(total / 1000 * SECONDS_PER_1000, 1.0)
    with _lock:
        thread, started = _building.get(str(path), (None, time.monotonic()))
        if thread is None or not thread.is_alive():
            error_file = path.with_suffix(".error")
            if error_file.exists():
                return PdfResult(None, total, error=error_file.read_text())
            thread = threading.Thread(
                target=_build_in_background, args=(path, html, max(timeout, 600)), daemon=True
            )
            started = time.monotonic()
            _building[str(path)] = (thread, started)
            thread.start()
    elapsed = time.monotonic() - started
    return PdfResult(None, total, building=True, elapsed=elapsed, estimate=estimate)


def _build_in_background(path: Path, html: str, timeout: float) -> None:
    try:
        _write(path, html, timeout)
    except PdfError as exc:
        log.error("final letter %s failed: %s", path.name, exc)
        path.with_suffix(".error").write_text(str(exc))


def build_document(
    campaign: Campaign, language: str
) -> tuple[FinalLetter | PetitionDelivery, dict[str, str]]:
    """The final letter (sign-on) or delivery document (petition) as plain values, with its
    translated headings: what build_html renders, for other formats such as DOCX."""
    words = campaign.text_in(language)
    with force_locale(language):
        today = date.today()
        if campaign.kind == CampaignKind.PETITION:
            signers = petition_signers(db.session, campaign, language, unknown=_("Not given"))
            delivery = PetitionDelivery(
                title=words.title,
                language=language,
                addressee=_addressee(campaign),
                introduction_html=str(render_markdown(words.introduction)),
                text_html=str(render_markdown(words.text)),
                signers=signers,
                date_text=format_date(today, "long"),
            )
            return delivery, _petition_labels(signers.total, signers.paper)
        signatories = signatory_list(db.session, campaign, language)
        letter = FinalLetter(
            title=words.title,
            language=language,
            addressee=_addressee(campaign),
            text_html=str(render_markdown(words.text)),
            signatories=signatories,
            letter_date=today,
            date_text=format_date(today, "long"),
        )
        return letter, final_letter_labels(signatories.total)


def final_letter_labels(total: int) -> dict[str, str]:
    """The final letter's headings, in the current locale (every copy, every format)."""
    return {
        "signatories": _("Signatories"),
        "total": ngettext("%(num)d signatory", "%(num)d signatories", total),
        "organizations": _("Organizations"),
        "individuals": _("Individuals"),
        "affiliation_note": _("Affiliations are given for identification only."),
    }


def _petition_labels(total: int, paper: int) -> dict[str, str]:
    """The delivery document's headings, with the same messages as _petition_html."""
    return {
        "signatures": _("Signatures"),
        "total": ngettext(
            "%(count)s person signed this petition.",
            "%(count)s people signed this petition.",
            total, count=format_decimal(total),
        ),
        "paper": ngettext(
            "Online signers confirmed from their own email address; %(count)s signed on paper.",
            "Online signers confirmed from their own email address; %(count)s signed on paper.",
            paper, count=format_decimal(paper),
        ),
        "by_country": _("Signatures by country"),
        "names": _("Signers who agreed to be named"),
        "names_note": _("Others signed without their names being shown; they are counted above."),
    }  # fmt: skip
