"""`toolkit data load`: events, member states and contact points from their data files."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from toolkit.contacts.directory import (
    DirectoryDataError,
    load_contact_points,
    load_member_states,
)
from toolkit.events.catalog import EventDataError, load_events
from toolkit.extensions import db

data_cli = AppGroup("data", help="Load the data people edit into the database.")


@data_cli.command("load")
def load() -> None:
    """Load events (letter_templates/events.toml) and member states and contacts (contacts/)."""
    try:
        added, updated = load_events(db.session, Path(current_app.config["LETTER_TEMPLATES_DIR"]))
        click.echo(f"events: {added} added, {updated} updated")
        contacts_dir = Path(current_app.config["CONTACTS_DIR"])
        added, updated = load_member_states(db.session, contacts_dir)
        click.echo(f"member states: {added} added, {updated} updated")
        count = load_contact_points(db.session, contacts_dir)
        click.echo(f"contact points: {count} loaded")
    except (DirectoryDataError, EventDataError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
