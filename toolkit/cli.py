"""The `toolkit` command: Flask's own commands plus each domain's."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from toolkit.accounts.cli import audit_cli, users_cli
from toolkit.campaigns.cli import campaigns_cli, signatures_cli
from toolkit.contacts.cli import contacts_cli, data_cli
from toolkit.doctor import doctor_command
from toolkit.letters.cli import letters_cli, templates_cli
from toolkit.mail.cli import mail_cli
from toolkit.resources.cli import resources_cli
from toolkit.worker import worker_cli

COMMAND_GROUPS = (
    templates_cli,
    letters_cli,
    data_cli,
    contacts_cli,
    users_cli,
    audit_cli,
    mail_cli,
    resources_cli,
    campaigns_cli,
    signatures_cli,
    worker_cli,
    doctor_command,
)


def register_commands(app: Flask) -> None:
    """Attach every domain's command group to the app."""
    for group in COMMAND_GROUPS:
        app.cli.add_command(group)


def _create_app() -> Flask:
    from toolkit import create_app  # noqa: PLC0415 - FlaskGroup builds the app lazily

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Advocacy toolkit: letters, sign-on letters and petitions."""
