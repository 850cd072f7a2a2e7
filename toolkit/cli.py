"""The `toolkit` command: Flask's own commands plus each domain's."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from toolkit.contacts.cli import data_cli
from toolkit.letters.cli import letters_cli, templates_cli


def register_commands(app: Flask) -> None:
    """Attach every domain's command group to the app."""
    app.cli.add_command(templates_cli)
    app.cli.add_command(letters_cli)
    app.cli.add_command(data_cli)


def _create_app():  # noqa: ANN202 - FlaskGroup calls it with no arguments
    from toolkit import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Advocacy toolkit: letters, sign-on letters and petitions."""
