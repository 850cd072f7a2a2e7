"""The final letter as a PDF: small ones at once, long ones built in the background and kept.

A kept PDF is named by the fingerprint of its signatory list, so it is reused until the
signatures change, and a changed list is never served from an old file. A long one is a job
(toolkit.jobs) keyed by that name: one build however many people ask, on whichever machine
runs it; each app machine keeps its own copy of the result in DOCUMENTS_DIR.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
from toolkit.documents.pdf import render_pdf
from toolkit.extensions import db
from toolkit.jobs import Job, JobContext, JobError, find_job, get_job, job_result_path, start_job
from toolkit.markup import render_markdown

SYNC_LIMIT = 2000  # more signatories than this: build in the background
SECONDS_PER_1000 = 1.2  # measured by bench/signing.py on a 2-core machine; for the estimate
PDF_KIND = "final-letter-pdf"


@dataclass(frozen=True)
class PdfResult:
    """A ready file, or a build in progress (path None) with what is known about it."""

    path: Path | None
    total: int
    building: bool = False
    error: str = ""
    elapsed: float = 0.0  # seconds since the build started (0 while it waits for a worker)
    estimate: float = 0.0  # seconds the whole build is expected to take
    job: Job | None = None  # the build's job, with its state and attempts

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
    name = f"{campaign.slug}-{fingerprint}.pdf"
    path = _folder() / name
    if path.exists():
        return PdfResult(path, total)
    timeout = current_app.config["PDF_TIMEOUT"]
    if total <= SYNC_LIMIT:
        _write(path, html, timeout)
        return PdfResult(path, total)
    estimate = max(total / 1000 * SECONDS_PER_1000, 1.0)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key = f"pdf:{name}"
    job = find_job(app, key)
    if job is not None and job.state == "done":
        built = job_result_path(app, job)
        if built is not None:
            _keep(built, path)
            return PdfResult(path, total)
        job = None  # its result is gone (expired): build it again
    if job is not None and job.state == "failed":
        return PdfResult(None, total, error=job.error, job=job)
    if job is None:
        try:
            job_id = start_job(app, PDF_KIND, build_pdf, html, name, max(timeout, 600), key=key)
        except JobError as exc:
            return PdfResult(None, total, error=str(exc))
        job = get_job(app, job_id)
    elapsed = 0.0
    if job is not None and job.state == "running" and job.started_at is not None:
        elapsed = (datetime.now(UTC) - job.started_at).total_seconds()
    return PdfResult(None, total, building=True, elapsed=elapsed, estimate=estimate, job=job)


def build_pdf(context: JobContext, html: str, name: str, timeout: float) -> str:
    """The job that renders a long final letter (in any worker); its result is the PDF."""
    context.progress(0, 1, "rendering")
    path = context.result_file(name)
    _write(path, html, timeout)
    context.progress(1, 1, "rendered")
    return str(path)


def _keep(built: Path, path: Path) -> None:
    """Copy a job's PDF into DOCUMENTS_DIR under its fingerprint name, in one step."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        shutil.copyfile(built, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
