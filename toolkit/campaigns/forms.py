"""The signing form, built for each campaign from the fields it asks for."""

from __future__ import annotations

import json
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from toolkit.campaigns.models import Campaign, FieldRule, SignerKind
from toolkit.campaigns.rules import SigningRules
from toolkit.forms import email_address, no_control_characters
from toolkit.validation import nfc

NAME_MAX = 200
LIMITS = {"organization": 300, "role": 200, "city": 200}


class CountryField(SelectField):
    """A menu of ~200 countries: the answer is looked up in a set, not found by walking a list.

    The signing form is the busiest page in a surge; WTForms' own check builds every choice
    twice per request.
    """

    valid_codes: frozenset[str] = frozenset()

    def pre_validate(self, form: object) -> None:
        if self.data not in self.valid_codes:
            raise ValidationError(self.gettext("Not a valid choice."))


@lru_cache(maxsize=32)
def _country_menu(
    countries: tuple[tuple[str, str], ...],
) -> tuple[list[SelectChoice], frozenset[str]]:
    """The menu and its valid codes, built once per cached country list (per language)."""
    choices = [SelectChoice("", _l("Choose a country"))]
    choices.extend(SelectChoice(code, name) for code, name in countries)
    return choices, frozenset(choice.value for choice in choices)


class SignatureForm(FlaskForm):
    """Name and email always; the rest as the campaign asks."""

    name = StringField(
        _l("Your name"), [DataRequired(), Length(max=NAME_MAX), no_control_characters],
        filters=[nfc],
        description=_l("As it should appear on the list, in any script."),
        render_kw={"autocomplete": "name"},
    )  # fmt: skip
    email = EmailField(
        _l("Your email"), [DataRequired(), Length(max=254), email_address], filters=[nfc],
        description=_l("To confirm your signature. Never shown, never shared."),
        render_kw={"autocomplete": "email"},
    )  # fmt: skip
    list_publicly = BooleanField(_l("Show my name on the public list of signers"), default=True)
    receive_updates = BooleanField(_l("Send me news about this campaign (at most a few emails)"))
    # A honeypot: hidden from people, filled in by bots.
    nickname = StringField(_l("Leave this empty"))


def build_signature_form(
    campaign: Campaign | SigningRules, countries: tuple[tuple[str, str], ...], **kwargs: object
) -> SignatureForm:
    """The form for one campaign: its signer kinds and the optional fields it asks for."""
    rules = tuple(
        (name, campaign.rule(name)) for name in ("organization", "role", "city", "country")
    )
    questions = json.dumps(campaign.custom_fields or [], sort_keys=True)
    form_class = _form_class(campaign.allow_organizations, campaign.allow_individuals, rules,
                             questions)  # fmt: skip
    form = form_class(**kwargs)
    if "country" in form:
        form.country.choices, form.country.valid_codes = _country_menu(tuple(countries))
    return form


@lru_cache(maxsize=256)
def _form_class(
    organizations: bool, individuals: bool, rules: tuple[tuple[str, FieldRule], ...], questions: str
) -> type[SignatureForm]:
    """A form class per shape of form, built once: the signing form is the busiest page in a
    surge, and making a WTForms class costs more than filling one in. Labels are lazy strings,
    so one class serves every language."""

    class CampaignSignatureForm(SignatureForm):
        pass

    kinds = []
    if organizations:
        kinds.append(SelectChoice(SignerKind.ORGANIZATION.value, _l("An organization")))
    if individuals:
        kinds.append(SelectChoice(SignerKind.INDIVIDUAL.value, _l("Myself, as an individual")))
    CampaignSignatureForm.kind = RadioField(
        _l("I sign on behalf of"), [DataRequired()], choices=kinds, default=kinds[0].value
    )
    labels = {
        "organization": _l("Organization"),
        "role": _l("Your role or title"),
        "city": _l("City"),
        "country": _l("Country"),
    }
    for name, rule in rules:
        if rule == FieldRule.HIDDEN:
            continue
        required = [DataRequired()] if rule == FieldRule.REQUIRED else [Optional()]
        if name == "country":
            setattr(CampaignSignatureForm, name, CountryField(labels[name], required))
        else:
            validators = [*required, Length(max=LIMITS[name]), no_control_characters]
            setattr(CampaignSignatureForm, name, StringField(labels[name], validators,
                                                              filters=[nfc]))  # fmt: skip

    for question in json.loads(questions):
        required = [DataRequired()] if question.get("required") else [Optional()]
        limit = int(question.get("max_length") or 200)
        validators = [*required, Length(max=limit), no_control_characters]
        setattr(CampaignSignatureForm, question_field(question), StringField(
            question.get("label") or question["name"], validators, filters=[nfc]))  # fmt: skip

    def validate(self, extra_validators: dict | None = None) -> bool:  # noqa: ANN001
        valid = SignatureForm.validate(self, extra_validators)
        if self.kind.data == SignerKind.ORGANIZATION and "organization" in self:
            if not (self.organization.data or "").strip():
                self.organization.errors = [
                    *self.organization.errors,
                    _l("Name the organization you sign for."),
                ]
                valid = False
        return valid

    CampaignSignatureForm.validate = validate
    return CampaignSignatureForm


def question_field(question: dict) -> str:
    """The form field that holds the answer to an organizer's own question."""
    return f"q_{question['name']}"


def answers(form: SignatureForm, campaign: Campaign | SigningRules) -> dict[str, str]:
    """The answers to the organizer's own questions, by question name (kept in Signature.extra)."""
    return {
        q["name"]: form[question_field(q)].data or ""
        for q in campaign.custom_fields or ()
        if question_field(q) in form
    }


RULE_CHOICES = [
    SelectChoice(FieldRule.OPTIONAL.value, _l("Asked, optional")),
    SelectChoice(FieldRule.REQUIRED.value, _l("Asked, required")),
    SelectChoice(FieldRule.HIDDEN.value, _l("Not asked")),
]


class CampaignForm(FlaskForm):
    """What an organizer sets up: text, addressee, who may sign, what is asked, the rules."""

    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("sign-on", _l("Sign-on letter")),
            SelectChoice("petition", _l("Petition")),
        ],
    )
    title = StringField(_l("Title"), [DataRequired(), Length(max=300)], filters=[nfc])
    slug = StringField(
        _l("Web address"), [DataRequired(), Length(max=80)], filters=[nfc],
        description=_l("Lower-case letters, digits and hyphens: /campaigns/<this>."),
    )  # fmt: skip
    template = SelectField(_l("Start from a letter template (optional)"))
    introduction = TextAreaField(_l("Introduction (Markdown)"), [Length(max=5000)])
    text = TextAreaField(
        _l("The letter or the petition (Markdown)"), [Length(max=50_000)],
        description=_l("Leave empty to start from the template chosen above."),
    )  # fmt: skip
    addressee = SelectField(
        _l("Addressed to"),
        choices=[SelectChoice("itu", _l("The ITU Secretary-General")),
                 SelectChoice("governments", _l("Every member state's contact point")),
                 SelectChoice("custom", _l("Someone else (write it below)"))],
    )  # fmt: skip
    addressee_text = StringField(_l("Addressee, in your words"), [Length(max=500)])
    language = SelectField(_l("Language"), default="en")
    deadline = DateField(_l("Deadline (optional)"), [Optional()])
    goal = IntegerField(_l("Goal: number of signatures (petitions)"), [Optional()])
    allow_organizations = BooleanField(_l("Organizations may sign"), default=True)
    allow_individuals = BooleanField(_l("Individuals may sign"), default=True)
    rule_organization = SelectField(_l("Organization field"), choices=RULE_CHOICES)
    rule_role = SelectField(_l("Role field"), choices=RULE_CHOICES)
    rule_city = SelectField(_l("City field"), choices=RULE_CHOICES, default="hidden")
    rule_country = SelectField(_l("Country field"), choices=RULE_CHOICES, default="required")
    list_publicly = BooleanField(_l("List signers' names publicly (if they agree)"), default=True)
    require_confirmation = BooleanField(_l("Signers confirm by email"), default=True)
    require_moderation = BooleanField(_l("Organizers approve each signature"), default=True)
    retention_days = IntegerField(
        _l("Days to keep emails after closing"), [DataRequired()], default=365
    )
    questions = TextAreaField(
        _l("Questions of your own (optional)"), [Length(max=2000)],
        description=_l("One question per line, at most five; end a line with * when an answer "
                       "is required. Answers appear in the full export only."),
    )  # fmt: skip


class RejectSignaturesForm(FlaskForm):
    """A reason for rejecting."""

    reason = StringField(_l("Reason"), [DataRequired(), Length(max=500)], filters=[nfc])


class CorrectSignatureForm(FlaskForm):
    """Fix a typo in a signer's name or organization."""

    name = StringField(_l("Name"), [DataRequired(), Length(max=NAME_MAX), no_control_characters],
                       filters=[nfc])  # fmt: skip
    organization = StringField(_l("Organization"), [Length(max=300), no_control_characters],
                               filters=[nfc])  # fmt: skip


class InvalidateForm(FlaskForm):
    """Which signatures to invalidate."""

    ip = StringField(_l("IP address"), [Length(max=64)])
    domain = StringField(_l("Email domain"), [Length(max=254)])
    start = DateTimeLocalField(_l("From (UTC)"), [Optional()], format="%Y-%m-%dT%H:%M")
    end = DateTimeLocalField(_l("Until (UTC)"), [Optional()], format="%Y-%m-%dT%H:%M")
