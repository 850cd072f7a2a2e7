"""The letter form: the sender's details, the recipient, and the template's own fields."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
)

from toolkit.forms import BLOCK, LINE, email_address, http_url
from toolkit.i18n import own_name
from toolkit.letters.catalog import FieldSpec, LetterTemplate
from toolkit.letters.compose import LetterRequest, SenderDetails

SENDER_FIELDS = (
    "name",
    "description",
    "website",
    "address",
    "contact_name",
    "contact_role",
    "email",
    "phone",
    "country",
)


class SenderForm(FlaskForm):
    """Who writes: the organization and its contact person."""

    name = StringField(
        _l("Organization name"), [DataRequired(), Length(max=200)], filters=LINE,
        render_kw={"autocomplete": "organization"},
    )  # fmt: skip
    description = TextAreaField(
        _l("What your organization does"),
        [Optional(), Length(max=500)],
        filters=BLOCK,
        description=_l("One or two sentences; shown under your name on the letterhead."),
    )
    website = StringField(
        _l("Website"), [Optional(), Length(max=300), http_url], filters=LINE,
        render_kw={"type": "url", "autocomplete": "url", "placeholder": "https://"},
    )  # fmt: skip
    address = TextAreaField(
        _l("Postal address"),
        [Optional(), Length(max=500)],
        filters=BLOCK,
        description=_l("One line per line of the address."),
        render_kw={"autocomplete": "street-address", "rows": 3},
    )
    contact_name = StringField(
        _l("Contact person"),
        [DataRequired(), Length(max=200)],
        filters=LINE,
        description=_l("The person who signs the letter."),
        render_kw={"autocomplete": "name"},
    )
    contact_role = StringField(
        _l("Role"),
        [Optional(), Length(max=200)],
        filters=LINE,
        description=_l("For example: Executive Director."),
    )
    email = StringField(
        _l("Email"), [DataRequired(), Length(max=254), email_address], filters=LINE,
        render_kw={"type": "email", "autocomplete": "email"},
    )  # fmt: skip
    phone = StringField(
        _l("Phone"),
        [
            Optional(),
            Length(max=50),
            Regexp(r"^[0-9+().\-/ ]+$", message=_l("Use digits, spaces and + ( ) - . / only.")),
        ],
        filters=LINE,
        render_kw={"type": "tel", "autocomplete": "tel"},
    )
    country = SelectField(_l("Your organization's country"), [DataRequired()], validate_choice=True)


def build_letter_form(
    template: LetterTemplate,
    *,
    countries: list[tuple[str, str]],
    events: list[tuple[str, str]],
    default_event: str,
    **form_kwargs: object,
) -> SenderForm:
    """The form for one template: the sender's fields plus the letter's own."""

    class LetterForm(SenderForm):
        pass

    if template.recipient == "government":
        LetterForm.recipient_country = SelectField(
            _l("Country you are writing to"),
            [DataRequired()],
            description=_l("The letter goes to this country's national ITU contact point."),
        )
    LetterForm.event = SelectField(_l("Conference"), [DataRequired()], default=default_event)
    LetterForm.language = SelectField(_l("Language of the letter"), [DataRequired()])
    LetterForm.date = DateField(_l("Date of the letter"), [InputRequired()], default=date.today)
    for spec in template.fields:
        setattr(LetterForm, spec.name, _field_for(spec))
    LetterForm.own_words = TextAreaField(
        _l("A paragraph in your own words"),
        [Optional(), Length(max=3000)],
        filters=BLOCK,
        description=_l(
            "Officials give little weight to identical letters. Say in a few sentences why "
            "this matters to your organization and to people in your country."
        ),
    )

    form = LetterForm(**form_kwargs)
    country_choices = [SelectChoice("", _l("Choose a country"))] + [
        SelectChoice(code, name) for code, name in countries
    ]
    form.country.choices = country_choices
    if template.recipient == "government":
        form.recipient_country.choices = country_choices
    form.event.choices = [SelectChoice(slug, name) for slug, name in events]
    form.language.choices = [SelectChoice(code, own_name(code)) for code in template.languages]
    return form


def _field_for(spec: FieldSpec) -> StringField:
    validators = [DataRequired() if spec.required else Optional(), Length(max=spec.max_length)]
    if spec.widget == "textarea":
        return TextAreaField(spec.label, validators, filters=BLOCK, description=spec.help)
    return StringField(spec.label, validators, filters=LINE, description=spec.help)


def letter_request(template: LetterTemplate, form: SenderForm) -> LetterRequest:
    """The form's values as a LetterRequest for the letters service."""
    sender = SenderDetails(**{name: form[name].data or "" for name in SENDER_FIELDS})
    return LetterRequest(
        template=template.slug,
        sender=sender,
        recipient_country=form.recipient_country.data if "recipient_country" in form else "",
        event=form.event.data,
        language=form.language.data,
        letter_date=form.date.data,
        fields={spec.name: form[spec.name].data or "" for spec in template.fields},
        own_words=form.own_words.data or "",
    )
