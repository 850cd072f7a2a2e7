"""Form pieces every domain shares: the same cleaning, and the same messages, everywhere."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError

from toolkit.validation import (
    clean_block,
    clean_line,
    has_control_characters,
    is_http_url,
    normalize_email,
)

LINE = [clean_line]  # one-line values: control characters dropped, spaces folded, NFC
BLOCK = [clean_block]  # multi-line values: the same, line breaks kept


def http_url(form: FlaskForm, field: Field) -> None:
    """A link must be http(s): never javascript:, data: or file:."""
    if field.data and not is_http_url(field.data):
        raise ValidationError(_l("Enter a link starting with http:// or https://."))


def email_address(form: FlaskForm, field: Field) -> None:
    """Check an address with email-validator and keep its normalized form; its message if not.

    Pair with Optional() for an optional address: an empty one then never reaches here.
    """
    try:
        field.data = normalize_email(
            field.data or "",
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def no_control_characters(form: FlaskForm, field: Field) -> None:
    """Refuse invisible control characters (where a form refuses rather than strips them)."""
    if field.data and has_control_characters(field.data):
        raise ValidationError(_l("Remove the invisible control characters from this field."))
