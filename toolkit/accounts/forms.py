"""Login and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from toolkit.accounts.models import Role
from toolkit.accounts.service import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from toolkit.validation import clean_line

LINE = [clean_line]
ROLE_CHOICES = [
    SelectChoice(Role.ORGANIZER.value, _l("Organizer")),
    SelectChoice(Role.ADMIN.value, _l("Admin")),
]


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(_l("Email"), [DataRequired(), Length(max=254)], filters=LINE)
    password = PasswordField(_l("Password"), [DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class ResetRequestForm(FlaskForm):
    """Ask for a password reset link."""

    email = EmailField(_l("Email"), [DataRequired(), Length(max=254)], filters=LINE)


class NewPasswordForm(FlaskForm):
    """Choose a new password, twice."""

    password = PasswordField(
        _l("New password"),
        [DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=_l(
            "At least %(n)s characters. A few unrelated words make a good one.",
            n=MIN_PASSWORD_LENGTH,
        ),
    )
    confirm = PasswordField(
        _l("The same password again"),
        [DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class NewUserForm(FlaskForm):
    """An admin invites an organizer: the invitee sets their own password from an emailed link."""

    email = EmailField(_l("Email"), [DataRequired(), Length(max=254)], filters=LINE)
    name = StringField(_l("Name"), [Length(max=200)], filters=LINE)
    role = SelectField(
        _l("Role"),
        choices=ROLE_CHOICES,
    )


class RoleForm(FlaskForm):
    """Change an account's role."""

    role = SelectField(
        _l("Role"),
        choices=ROLE_CHOICES,
    )
