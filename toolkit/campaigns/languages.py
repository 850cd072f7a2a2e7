"""One campaign, several languages: its title, introduction and text in each, one count.

Signers read the version in their interface language (the campaign's own language when it has
none), sign the same campaign, and get their mail in the language they signed in; the final
letter can be made in any of the campaign's languages.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from toolkit.accounts.access import organizer_required
from toolkit.accounts.audit import record
from toolkit.campaigns.admin import _managed_or_403, bp
from toolkit.campaigns.models import Campaign, CampaignText
from toolkit.campaigns.service import CampaignError
from toolkit.extensions import db
from toolkit.i18n import CHOICES, SUPPORTED_LOCALES
from toolkit.validation import nfc


def set_translation(session: Session, campaign: Campaign, language: str, title: str,
                    text: str, introduction: str = "") -> CampaignText:  # fmt: skip
    """Add or replace the campaign's words in another language; the caller commits."""
    if language not in SUPPORTED_LOCALES:
        raise CampaignError(
            f"Unknown language '{language}': use one of {', '.join(SUPPORTED_LOCALES)}.",
            "language",
        )
    if language == campaign.language:
        raise CampaignError(
            "This is the campaign's own language: change its text on the campaign itself.",
            "language",
        )
    title, text = title.strip(), text.strip()
    if not title:
        raise CampaignError("The title is required.", "title")
    if not text:
        raise CampaignError("The text is required.", "text")
    if len(title) > 300:
        raise CampaignError("The title is at most 300 characters.", "title")
    existing = next((t for t in campaign.translations if t.language == language), None)
    if existing is None:
        existing = CampaignText(language=language, title=title, text=text)
        campaign.translations.append(existing)
    existing.title, existing.text, existing.introduction = title, text, introduction.strip()
    session.flush()
    return existing


def remove_translation(campaign: Campaign, language: str) -> bool:
    """Drop one language's words; signatures made in it stay. The caller commits."""
    for translation in list(campaign.translations):
        if translation.language == language:
            campaign.translations.remove(translation)
            return True
    return False


class TranslationForm(FlaskForm):
    """The campaign's words in one more language."""

    language = SelectField(_l("Language"))
    title = StringField(_l("Title"), [DataRequired(), Length(max=300)], filters=[nfc])
    introduction = TextAreaField(_l("Introduction (Markdown)"), [Length(max=5000)], filters=[nfc])
    text = TextAreaField(
        _l("The letter or the petition (Markdown)"), [DataRequired(), Length(max=50_000)],
        filters=[nfc],
    )  # fmt: skip


@bp.route("/<slug>/languages", methods=["GET", "POST"])
@organizer_required
def languages(slug: str) -> Response | str | tuple[str, int]:
    """The campaign's languages: add or change a version, remove one."""
    campaign = _managed_or_403(slug)
    form = TranslationForm()
    form.language.choices = [SelectChoice(c.code, c.name) for c in CHOICES
                             if c.code != campaign.language]  # fmt: skip
    editing = request.args.get("edit", "")
    if request.method == "GET" and editing:
        words = next((t for t in campaign.translations if t.language == editing), None)
        if words is not None:
            form.language.data, form.title.data = words.language, words.title
            form.introduction.data, form.text.data = words.introduction, words.text
    if request.method == "POST" and request.form.get("remove"):  # CSRFProtect checked the token
        language = request.form.get("remove", "")
        if remove_translation(campaign, language):
            record(db.session, "campaigns.translation_removed", actor=current_user,
                   target=campaign, details={"language": language})  # fmt: skip
            db.session.commit()
        return redirect(url_for("campaigns.admin.languages", slug=slug))
    if form.validate_on_submit():
        try:
            set_translation(db.session, campaign, form.language.data, form.title.data,
                            form.text.data, form.introduction.data or "")  # fmt: skip
        except CampaignError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.language).errors.append(_(str(exc)))
        else:
            record(db.session, "campaigns.translation_saved", actor=current_user,
                   target=campaign, details={"language": form.language.data})  # fmt: skip
            db.session.commit()
            return redirect(url_for("campaigns.admin.languages", slug=slug))
    status = 422 if form.errors else 200
    names = {c.code: c.name for c in CHOICES}
    return render_template("campaigns/admin/languages.html", campaign=campaign, form=form,
                           names=names), status  # fmt: skip
