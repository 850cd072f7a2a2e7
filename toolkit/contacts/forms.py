"""Forms of the directory: a correction from the public, an organizer's decision, an import."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from toolkit.contacts.models import ContactRole
from toolkit.forms import BLOCK, LINE, email_address, http_url


class CorrectionForm(FlaskForm):
    """Anyone can point out a wrong or missing detail, with a source."""

    contact_point = SelectField(_l("Which contact point?"), coerce=str)
    what_is_wrong = TextAreaField(
        _l("What is wrong or missing?"), [DataRequired(), Length(max=2000)], filters=BLOCK
    )
    correct_detail = TextAreaField(
        _l("The correct detail"), [DataRequired(), Length(max=2000)], filters=BLOCK,
        description=_l("For example the new email address, addressee or postal address."),
    )  # fmt: skip
    source = StringField(
        _l("Source"), [DataRequired(), Length(max=500), http_url], filters=LINE,
        description=_l("A link to an official page or document that shows the correct detail."),
    )  # fmt: skip
    email = EmailField(
        _l("Your email (optional)"), [Optional(), Length(max=254), email_address], filters=LINE,
        description=_l("Only if you want to hear what we decide. It is never shown."),
    )  # fmt: skip
    # A honeypot: hidden from people, filled by bots.
    nickname = StringField(_l("Leave this empty"), filters=LINE)


class ContactPointForm(FlaskForm):
    """An organizer's version of a contact point, when approving a correction."""

    role = SelectField(_l("Role"), choices=[SelectChoice(r.value) for r in ContactRole])
    organization = StringField(_l("Organization"), [DataRequired(), Length(max=300)], filters=LINE)
    addressee_name = StringField(_l("Addressee's name"), [Length(max=200)], filters=LINE)
    addressee_title = StringField(_l("Addressee's title"), [Length(max=200)], filters=LINE)
    address = TextAreaField(_l("Postal address"), [Length(max=1000)], filters=BLOCK)
    email = EmailField(_l("Email"), [Optional(), Length(max=254), email_address], filters=LINE)
    phone = StringField(_l("Phone"), [Length(max=64)], filters=LINE)
    website = StringField(_l("Website"), [Optional(), Length(max=500), http_url], filters=LINE)


class RejectForm(FlaskForm):
    """Why a suggestion is refused."""

    reason = TextAreaField(_l("Reason"), [DataRequired(), Length(max=2000)], filters=BLOCK)


class ImportForm(FlaskForm):
    """A CSV file of contact points."""

    file = FileField(_l("CSV file"), [FileRequired()])
