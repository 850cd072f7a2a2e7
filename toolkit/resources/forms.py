"""Forms of the resource bank: a suggestion from the public, and the organizers' editors."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from toolkit.events.models import Event
from toolkit.forms import BLOCK, LINE, email_address, http_url
from toolkit.resources.bank import ResourceValues, Suggestion, TimelineValues
from toolkit.resources.models import ResourceCategory, ResourceStatus

MARKDOWN_HELP = _l(
    "Markdown: a blank line between paragraphs, **bold**, *italic*, lines starting with - for "
    "a list, [text](https://example.org) for a link. HTML is shown as text."
)


def category_label(value: str) -> str:
    """A category's name for people."""
    labels = {
        ResourceCategory.POLICY_ANALYSIS.value: _l("Policy analyses"),
        ResourceCategory.ADVOCACY_RESOURCE.value: _l("Advocacy resources"),
        ResourceCategory.MULTIMEDIA.value: _l("Multimedia"),
    }
    return str(labels.get(value, _l("No category yet")))


def status_label(value: str) -> str:
    """A status's name for people."""
    labels = {
        ResourceStatus.SUGGESTED.value: _l("suggested"),
        ResourceStatus.APPROVED.value: _l("approved"),
        ResourceStatus.REJECTED.value: _l("rejected"),
    }
    return str(labels.get(value, value))


def language_label(code: str) -> str:
    """A language's name in the reader's language ("French"), or the code if unknown."""
    try:
        return Locale.parse(code).get_display_name(str(get_locale() or "en")) or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code


def category_choices(*, blank: str | None = None) -> list[SelectChoice]:
    """The categories as select options, optionally after a blank one."""
    choices = [SelectChoice("", blank)] if blank else []
    return choices + [SelectChoice(c.value, category_label(c.value)) for c in ResourceCategory]


def event_choices(events: list[Event], blank: str) -> list[SelectChoice]:
    """The events as select options (by id), after a blank one."""
    return [SelectChoice("", blank)] + [SelectChoice(str(e.id), e.name) for e in events]


def _event_id(value: str | None) -> int | None:
    return int(value) if value else None


class SuggestForm(FlaskForm):
    """Anyone may suggest a link; organizers read it before it is shown."""

    title = StringField(_l("Title"), [DataRequired(), Length(max=300)], filters=LINE)
    url = StringField(
        _l("Link"), [DataRequired(), Length(max=2000), http_url], filters=LINE,
        description=_l("The address of the page or document, starting with https://."),
    )  # fmt: skip
    organization = StringField(
        _l("Organization or author"), [Optional(), Length(max=200)], filters=LINE
    )
    event = SelectField(_l("Conference"), [Optional()], coerce=str)
    why = TextAreaField(
        _l("Why is it useful?"), [Optional(), Length(max=2000)], filters=BLOCK,
        description=_l("A sentence or two for the organizers: what it covers, who it helps."),
    )  # fmt: skip
    email = EmailField(
        _l("Your email (optional)"), [Optional(), Length(max=254), email_address], filters=LINE,
        description=_l("Only if you want to hear what we decide. It is never shown."),
    )  # fmt: skip
    # A honeypot: hidden from people, filled in by bots.
    nickname = StringField(_l("Leave this empty"))

    def suggestion(self) -> Suggestion:
        """The form's values for the bank's service."""
        return Suggestion(
            title=self.title.data or "", url=self.url.data or "",
            organization=self.organization.data or "", why=self.why.data or "",
            email=self.email.data or "", event_id=_event_id(self.event.data),
        )  # fmt: skip


class ResourceForm(FlaskForm):
    """A resource as organizers write it: when adding, editing or approving one."""

    title = StringField(_l("Title"), [DataRequired(), Length(max=300)], filters=LINE)
    author = StringField(_l("Organization or author"), [Optional(), Length(max=200)], filters=LINE)
    url = StringField(
        _l("Link"), [Optional(), Length(max=2000), http_url], filters=LINE,
        description=_l("Leave empty until you have found the right address."),
    )  # fmt: skip
    category = SelectField(_l("Category"), [DataRequired(message=_l("Choose a category."))])
    summary = TextAreaField(
        _l("Summary"), [Optional(), Length(max=5000)], filters=BLOCK,
        description=_l("One or two sentences in your own words: what it says and for whom."),
    )  # fmt: skip
    event = SelectField(_l("Conference"), [Optional()], coerce=str)
    language = StringField(
        _l("Language"), [DataRequired(), Length(min=2, max=2)], filters=LINE, default="en",
        description=_l("A two-letter code: en, fr, es, ar, ru, zh, ..."),
    )  # fmt: skip

    def values(self) -> ResourceValues:
        """The form's values for the bank's service."""
        return ResourceValues(
            title=self.title.data or "", url=self.url.data or "", author=self.author.data or "",
            summary=self.summary.data or "", category=self.category.data or "",
            language=(self.language.data or "").lower(), event_id=_event_id(self.event.data),
        )  # fmt: skip


class RejectForm(FlaskForm):
    """Why a suggestion is refused; the suggester is told."""

    reason = TextAreaField(
        _l("Reason"), [DataRequired(message=_l("Give a reason for the rejection.")),
                       Length(max=2000)], filters=BLOCK,
        description=_l("If the suggester left an email address, they receive this reason."),
    )  # fmt: skip


class TimelineEntryForm(FlaskForm):
    """A date on an event's timeline and what it means for advocates."""

    starts_on = DateField(_l("Date (or first day)"), [InputRequired()])
    ends_on = DateField(
        _l("Last day"), [Optional()], description=_l("Only for something that lasts several days.")
    )
    title = StringField(_l("Title"), [DataRequired(), Length(max=300)], filters=LINE)
    place = StringField(_l("Place"), [Optional(), Length(max=200)], filters=LINE)
    body = TextAreaField(
        _l("What it means for advocates"), [Optional(), Length(max=20000)], filters=BLOCK,
        description=MARKDOWN_HELP,
    )  # fmt: skip

    def validate_ends_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot be before the first day."))

    def values(self) -> TimelineValues:
        """The form's values for the bank's service."""
        return TimelineValues(
            starts_on=self.starts_on.data, ends_on=self.ends_on.data, title=self.title.data or "",
            place=self.place.data or "", body=self.body.data or "",
        )  # fmt: skip


class TalkingPointsForm(FlaskForm):
    """An event's talking points, in Markdown."""

    body = TextAreaField(
        _l("Talking points"), [Optional(), Length(max=20000)], filters=BLOCK,
        description=MARKDOWN_HELP,
    )  # fmt: skip


class DeleteForm(FlaskForm):
    """Deleting cannot be undone, and pages work without JavaScript: a box to tick confirms it."""

    confirm = BooleanField(
        _l("Yes, delete it for good"),
        [DataRequired(message=_l("Tick the box to confirm the deletion."))],
    )
