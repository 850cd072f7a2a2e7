"""`toolkit campaigns create` and `toolkit signatures export`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from toolkit.accounts.audit import record
from toolkit.accounts.service import find_user
from toolkit.campaigns.exports import ExportError, ExportRequest, columns, export_rows
from toolkit.campaigns.service import (
    CampaignError,
    NewCampaign,
    create_campaign,
    get_campaign,
    open_campaign,
)
from toolkit.exports.writers import FORMATS, export_chunks
from toolkit.extensions import db

campaigns_cli = AppGroup("campaigns", help="Sign-on letters and petitions.")
signatures_cli = AppGroup("signatures", help="Signatures: export.")


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is not a date written YYYY-MM-DD") from exc


@campaigns_cli.command("create")
@click.option("--kind", type=click.Choice(["sign-on", "petition"]), required=True)
@click.option("--slug", required=True, help="The web address: /campaigns/SLUG.")
@click.option("--title", required=True)
@click.option("--text-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The letter or petition, in Markdown (UTF-8).")  # fmt: skip
@click.option("--deadline", default=None, help="Last day to sign, YYYY-MM-DD.")
@click.option("--goal", type=int, default=None, help="Signatures aimed for (petitions).")
@click.option("--addressee", type=click.Choice(["itu", "governments", "custom"]), default="itu",
              show_default=True)  # fmt: skip
@click.option("--language", default="en", show_default=True)
@click.option("--organizer", default=None, help="Email of the organizer account that runs it.")
@click.option("--open", "open_now", is_flag=True, help="Publish at once (otherwise a draft).")
def create(kind: str, slug: str, title: str, text_file: Path, deadline: str | None,
           goal: int | None, addressee: str, language: str, organizer: str | None,
           open_now: bool) -> None:  # fmt: skip
    """Create a sign-on letter or a petition."""
    try:
        text = text_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{text_file}: not UTF-8 text") from exc
    user = None
    if organizer:
        user = find_user(db.session, organizer)
        if user is None:
            raise click.ClickException(f"no organizer account for {organizer}")
    new = NewCampaign(kind=kind, slug=slug, title=title, text=text, deadline=_date(deadline),
                      goal=goal, addressee=addressee, language=language)  # fmt: skip
    try:
        campaign = create_campaign(db.session, new, user)
        if open_now:
            open_campaign(campaign)
    except CampaignError as exc:
        db.session.rollback()
        where = f"--{exc.field.replace('_', '-')}: " if exc.field else ""
        raise click.ClickException(f"{where}{exc}") from exc
    record(db.session, "campaigns.create", actor="cli", target=campaign,
           details={"slug": slug, "kind": kind, "open": open_now})  # fmt: skip
    db.session.commit()
    click.echo(f"created {kind} '{slug}' ({campaign.state})")


@signatures_cli.command("export")
@click.option("--campaign", "slug", required=True)
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="csv", show_default=True)
@click.option("--shape", type=click.Choice(["full", "presentable"]), default="full",
              show_default=True)  # fmt: skip
@click.option("--status", default="", help="Only this status (full list).")
@click.option("--kind", default="", help="organization or individual.")
@click.option("--country", default="", help="ISO code.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")  # fmt: skip
def export(slug: str, fmt: str, shape: str, status: str, kind: str, country: str,
           output: Path | None) -> None:  # fmt: skip
    """Export a campaign's signatures (recorded in the audit log)."""
    campaign = get_campaign(db.session, slug)
    if campaign is None:
        raise click.ClickException(f"no campaign '{slug}'")
    request = ExportRequest(shape=shape, status=status, kind=kind, country=country)
    try:
        header = columns(request)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    record(db.session, "signatures.export", actor="cli", target=campaign,
           details={"format": fmt, **request.__dict__})  # fmt: skip
    db.session.commit()
    chunks = export_chunks(fmt, header, export_rows(db.session, campaign, request))
    try:
        if output is None:
            stream = sys.stdout.buffer
            for chunk in chunks:
                stream.write(chunk if isinstance(chunk, bytes) else chunk.encode())
            stream.flush()
            return
        with open(output, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc
    click.echo(f"wrote {output}", err=True)
