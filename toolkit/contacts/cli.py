"""`toolkit data load`, `toolkit contacts import|export|formal-name`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from toolkit.accounts.audit import record
from toolkit.contacts.directory import (
    CONTACT_POINTS_FILE,
    DirectoryDataError,
    formal_country_name,
    load_member_states,
    set_formal_name,
)
from toolkit.contacts.models import MemberState
from toolkit.contacts.spreadsheet import apply_import, export_contacts_csv, plan_import
from toolkit.events.catalog import EventDataError, load_events
from toolkit.extensions import db

data_cli = AppGroup("data", help="Load the data people edit into the database.")
contacts_cli = AppGroup("contacts", help="National contact points: import and export CSV.")


@data_cli.command("load")
def load() -> None:
    """Load events (letter_templates/events.toml), member states and contact points (contacts/)."""
    try:
        added, updated = load_events(db.session, Path(current_app.config["LETTER_TEMPLATES_DIR"]))
        click.echo(f"events: {added} added, {updated} updated")
        contacts_dir = Path(current_app.config["CONTACTS_DIR"])
        added, updated = load_member_states(db.session, contacts_dir)
        click.echo(f"member states: {added} added, {updated} updated")
    except (DirectoryDataError, EventDataError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    path = contacts_dir / CONTACT_POINTS_FILE
    plan = _import(path.read_bytes(), dry_run=False, source=str(path))
    click.echo(f"contact points: {plan.summary()}")


def _import(data: bytes, *, dry_run: bool, source: str):  # noqa: ANN202 - an ImportPlan
    plan = plan_import(db.session, data)
    if not plan.ok:
        for error in plan.errors:
            click.echo(f"{source}: {error}", err=True)
        raise click.ClickException(f"{len(plan.errors)} error(s); nothing was changed")
    if not dry_run:
        apply_import(db.session, plan)
        if plan.added or plan.changed:
            record(db.session, "contacts.import", actor="cli",
                   details={"file": source, "added": len(plan.added),
                            "changed": len(plan.changed)})  # fmt: skip
        db.session.commit()
    return plan


@contacts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Import contact points from a CSV file: all rows, or none when any row is invalid."""
    plan = _import(file.read_bytes(), dry_run=dry_run, source=str(file))
    for row in plan.added:
        click.echo(f"added      {row.country} {row.role}: {row.organization}")
    for _point, row, changes in plan.changed:
        click.echo(
            f"changed    {row.country} {row.role}: {row.organization} ({', '.join(changes)})"
        )
    prefix = "would be: " if dry_run else ""
    click.echo(f"{prefix}{plan.summary()}")


@contacts_cli.command("export")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")  # fmt: skip
def export_command(output: Path | None) -> None:
    """Export every contact point in the import format."""
    text = export_contacts_csv(db.session)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc
    click.echo(f"wrote {output}")


@contacts_cli.command("formal-name")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. SN.")
@click.option("--language", required=True, help="en, fr, es, ru, ar or zh.")
@click.option("--name", default="", help="The formal name letters use; empty removes yours.")
def formal_name(country: str, language: str, name: str) -> None:
    """Set how letters in one language name a country ("République du Sénégal")."""
    code = country.strip().upper()
    try:
        set_formal_name(db.session, code, language.strip().lower(), name)
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    record(db.session, "contacts.formal_name", actor="cli",
           details={"country": code, "language": language, "name": name})  # fmt: skip
    db.session.commit()
    state = db.session.get(MemberState, code)
    click.echo(f"{code} in {language}: {formal_country_name(db.session, state, language)}")
