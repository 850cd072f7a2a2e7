"""Organizers send a campaign's letter to governments: choose, review, confirm, follow.

The web side of toolkit/campaigns/delivery.py: the letters are rendered and queued in a
background job (toolkit.jobs), and the delivery page follows each country's message.
"""

from __future__ import annotations

import secrets

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import BooleanField, EmailField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from toolkit.accounts.access import organizer_required
from toolkit.accounts.audit import record
from toolkit.campaigns.admin import _managed_or_403, bp
from toolkit.campaigns.delivery import (
    REPORT_COLUMNS,
    DeliveryError,
    deliveries,
    plan_delivery,
    refresh_statuses,
    report_rows,
    start_delivery,
)
from toolkit.campaigns.letters import signatory_count, signatory_countries
from toolkit.campaigns.models import Campaign, Delivery, DeliveryStatus
from toolkit.contacts.models import MemberState
from toolkit.exports.writers import export_chunks
from toolkit.extensions import db
from toolkit.forms import email_address
from toolkit.jobs import JobContext, JobError, get_job, start_job
from toolkit.letters.batch import BatchError, select_countries


class SendForm(FlaskForm):
    """Which countries, who answers replies, and whether to send again where it went before."""

    countries = SelectField(_l("Send to"))
    codes = StringField(
        _l("Country codes (when sending to a list)"), [Length(max=2000)],
        description=_l("ISO codes separated by commas, for example KE, SN, BR."),
    )  # fmt: skip
    reply_to = EmailField(_l("Replies go to"), [DataRequired(), Length(max=254), email_address])
    resend = BooleanField(_l("Also send again to countries that already received this letter"))
    batch = HiddenField()


def _send_form(**kwargs: object) -> SendForm:
    form = SendForm(**kwargs)
    regions = db.session.execute(
        select(MemberState.m49_region, MemberState.m49_subregion).distinct()
    ).all()
    names = sorted({r for r, _ in regions if r}) + sorted({s for _, s in regions if s})
    form.countries.choices = [
        SelectChoice("all", _("Every member state")),
        SelectChoice("signatories", _("The countries the signatories come from")),
        *(SelectChoice(name, name) for name in names),
        SelectChoice("codes", _("A list of countries (codes below)")),
    ]
    if not form.reply_to.data and current_user.is_authenticated:
        form.reply_to.data = current_user.email
    return form


def _plan(campaign: Campaign, form: SendForm):  # noqa: ANN202 - (plan, spec) or raises
    spec = form.codes.data if form.countries.data == "codes" else form.countries.data
    states = select_countries(db.session, spec or "", signatory_countries(db.session, campaign))
    return plan_delivery(db.session, campaign, states, campaign.language), spec


def cover_message(campaign: Campaign, delivery: Delivery, organizers: str) -> tuple[str, str]:
    """The subject and short cover text of one government's message, in the letter's language."""
    with force_locale(campaign.language):
        count = signatory_count(db.session, campaign)
        signatories = ngettext("%(num)d signatory", "%(num)d signatories", count)
        salutation = delivery.recipient.split("\n")[0] if delivery.recipient else _("Sir or Madam")
        text = render_template("campaigns/email/government_cover.txt", campaign=campaign,
                               delivery=delivery, salutation=salutation,
                               signatories=signatories, organizers=organizers)  # fmt: skip
    return campaign.title, text


@bp.route("/<slug>/send", methods=["GET", "POST"])
@organizer_required
def send(slug: str) -> str | tuple[str, int]:
    """Choose the countries, then review what will happen before anything is sent."""
    campaign = _managed_or_403(slug)
    form = _send_form()
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("campaigns/admin/send.html", campaign=campaign, form=form), status
    try:
        plan, spec = _plan(campaign, form)
    except (BatchError, DeliveryError) as exc:
        form.countries.errors = [*form.countries.errors, str(exc)]
        return render_template("campaigns/admin/send.html", campaign=campaign, form=form), 422
    form.batch.data = secrets.token_urlsafe(16)
    destinations = plan.destinations(form.resend.data)
    example = None
    if destinations:
        first = destinations[0]
        sample = Delivery(country=first.code, recipient=first.recipient, email=first.email,
                          filename=f"{first.code}-{campaign.slug}.pdf")  # fmt: skip
        subject, text = cover_message(campaign, sample, form.reply_to.data)
        example = {"to": first.email, "subject": subject, "text": text,
                   "file": sample.filename, "reply_to": form.reply_to.data}  # fmt: skip
    return render_template("campaigns/admin/send_review.html", campaign=campaign, form=form,
                           plan=plan, destinations=destinations, example=example,
                           spec=spec)  # fmt: skip


def _deliver(context: JobContext, campaign_id: int, batch: str, reply_to: str) -> None:
    """The background part: render each country's letter, then queue its message.

    A job, so it may run again after a worker died: only the countries still being prepared
    are taken, and each one's message is queued in the same commit that marks it queued, so
    no country gets a second message.
    """
    from toolkit.campaigns.delivery import complete_delivery  # noqa: PLC0415
    from toolkit.campaigns.letters import campaign_letters  # noqa: PLC0415
    from toolkit.documents.pdf import render_many  # noqa: PLC0415
    from toolkit.mail.outbox import deliver_soon  # noqa: PLC0415

    campaign = db.session.get(Campaign, campaign_id)
    rows = db.session.scalars(
        select(Delivery).where(
            Delivery.batch == batch, Delivery.status == DeliveryStatus.PREPARING.value
        )
    ).all()
    if not rows:  # a run again after every country was queued: nothing is left to do
        context.progress(0, 0, _("Queued: the outbox sends them one by one"))
        deliver_soon()
        return
    codes = {row.country for row in rows}
    states = db.session.scalars(select(MemberState).where(MemberState.iso2.in_(codes))).all()
    total = len(rows) * 2
    context.progress(0, total, _("Writing the letters"))
    letters = campaign_letters(db.session, campaign, list(states), campaign.language)
    timeout = float(current_app.config["PDF_TIMEOUT"])

    def rendered(done: int, count: int) -> None:
        context.progress(done, total, _("Writing the letters"))

    pdfs = render_many([(letter.code, letter.html) for letter in letters], timeout=timeout,
                       progress=rendered)  # fmt: skip
    context.progress(len(rows), total, _("Queuing the messages"))
    complete_delivery(
        db.session, campaign, batch, pdfs,
        cover=lambda row: cover_message(campaign, row, reply_to), reply_to=reply_to,
        interval=float(current_app.config["MAIL_BATCH_INTERVAL"]),
    )  # fmt: skip
    context.progress(total, total, _("Queued: the outbox sends them one by one"))
    deliver_soon()


@bp.post("/<slug>/send/confirm")
@organizer_required
def send_confirm(slug: str) -> Response | tuple[str, int]:
    """Record the run and start it; a second click on Confirm starts nothing new."""
    campaign = _managed_or_403(slug)
    form = _send_form()
    if not form.validate_on_submit():
        return render_template("campaigns/admin/send.html", campaign=campaign, form=form), 422
    try:
        plan, spec = _plan(campaign, form)
        rows = start_delivery(db.session, campaign, plan, batch=form.batch.data or "",
                              resend=form.resend.data, actor=current_user,
                              language=campaign.language)  # fmt: skip
    except (BatchError, DeliveryError) as exc:
        flash(str(exc))
        return redirect(url_for("campaigns.admin.deliveries_view", slug=slug))
    to_send = sum(1 for row in rows if row.status == DeliveryStatus.PREPARING)
    record(db.session, "campaigns.send", actor=current_user, target=campaign,
           details={"batch": form.batch.data, "countries": spec, "sending": to_send,
                    "resend": form.resend.data, "skipped": len(rows) - to_send})  # fmt: skip
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    batch = form.batch.data
    try:
        job = start_job(app, "campaign-send", _deliver, campaign.id, batch, form.reply_to.data,
                        owner=str(current_user.id))  # fmt: skip
    except JobError as exc:
        _not_started(batch, str(exc))
        flash(_("The sending could not be started: %(error)s", error=str(exc)))
        return redirect(url_for("campaigns.admin.deliveries_view", slug=slug))
    return redirect(url_for("campaigns.admin.deliveries_view", slug=slug, job=job))


def _not_started(batch: str, error: str) -> None:
    """A run whose job could not be queued: its countries are failed, with the reason, so the
    organizer can send again (nothing was sent)."""
    rows = db.session.scalars(
        select(Delivery).where(
            Delivery.batch == batch, Delivery.status == DeliveryStatus.PREPARING.value
        )
    )
    for row in rows:
        row.status = DeliveryStatus.FAILED.value
        row.reason = f"not started: {error}"[:500]
    db.session.commit()


@bp.get("/<slug>/deliveries")
@organizer_required
def deliveries_view(slug: str) -> str:
    """Each country's letter: queued, sent, failed (with the reason) or skipped (and why)."""
    campaign = _managed_or_403(slug)
    refresh_statuses(db.session, campaign)
    job = None
    job_id = request.args.get("job", "")[:64]
    if job_id:
        job = get_job(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
        if job is not None and job.owner and job.owner != str(current_user.id):
            job = None
    rows = deliveries(db.session, campaign)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return render_template("campaigns/admin/deliveries.html", campaign=campaign, rows=rows,
                           counts=counts, job=job)  # fmt: skip


@bp.get("/<slug>/deliveries.csv")
@organizer_required
def deliveries_report(slug: str) -> Response:
    """The delivery report as CSV (formula-safe, BOM, CRLF), recorded in the audit log."""
    campaign = _managed_or_403(slug)
    refresh_statuses(db.session, campaign)
    record(db.session, "campaigns.delivery_report", actor=current_user, target=campaign)
    db.session.commit()
    rows = list(report_rows(deliveries(db.session, campaign)))  # one row per country and run
    body = stream_with_context(export_chunks("csv", REPORT_COLUMNS, rows))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{campaign.slug}-deliveries.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
