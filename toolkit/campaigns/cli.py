"""`toolkit campaigns create` and `toolkit signatures export`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from toolkit.accounts.audit import record
from toolkit.accounts.service import find_user
from toolkit.campaigns.exports import (
    ExportError,
    ExportRequest,
    columns,
    export_csv,
    export_rows,
)
from toolkit.campaigns.languages import remove_translation, set_translation
from toolkit.campaigns.privacy import (
    PrivacyError,
    campaigns_due_for_purge,
    erase_signer,
    plan_erasure,
    purge_campaign,
)
from toolkit.campaigns.service import (
    CampaignError,
    NewCampaign,
    create_campaign,
    get_campaign,
    open_campaign,
    parse_questions,
)
from toolkit.exports.writers import FORMATS, export_chunks
from toolkit.extensions import db

campaigns_cli = AppGroup("campaigns", help="Sign-on letters and petitions.")
signatures_cli = AppGroup("signatures", help="Signatures: export, erase, purge.")


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
@click.option("--introduction", default="", help="The ask, in a sentence or two (Markdown).")
@click.option("--question", "questions", multiple=True,
              help="A question of your own (repeatable; end it with * if required).")  # fmt: skip
@click.option("--moderation/--no-moderation", default=None,
              help="Approve each signature by hand (default: on for sign-on letters, off for "
                   "petitions).")  # fmt: skip
@click.option("--open", "open_now", is_flag=True, help="Publish at once (otherwise a draft).")
def create(kind: str, slug: str, title: str, text_file: Path, deadline: str | None,
           goal: int | None, addressee: str, language: str, organizer: str | None,
           introduction: str, questions: tuple[str, ...], moderation: bool | None,
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
    if moderation is None:
        moderation = kind != "petition"
    try:
        new = NewCampaign(kind=kind, slug=slug, title=title, text=text, deadline=_date(deadline),
                          goal=goal, addressee=addressee, language=language,
                          introduction=introduction, require_moderation=moderation,
                          custom_fields=parse_questions("\n".join(questions)))  # fmt: skip
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


@campaigns_cli.command("translate")
@click.option("--campaign", "slug", required=True)
@click.option("--language", required=True, help="en, fr, es, ru, ar or zh.")
@click.option("--title", default="")
@click.option("--text-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The text in that language, in Markdown (UTF-8).")  # fmt: skip
@click.option("--introduction", default="")
@click.option("--remove", is_flag=True, help="Remove that language's version instead.")
def translate(slug: str, language: str, title: str, text_file: Path | None, introduction: str,
              remove: bool) -> None:  # fmt: skip
    """Add (or replace, or remove) a campaign's text in another language."""
    campaign = get_campaign(db.session, slug)
    if campaign is None:
        raise click.ClickException(f"no campaign '{slug}'")
    if remove:
        if not remove_translation(campaign, language):
            raise click.ClickException(f"'{slug}' has no version in '{language}'")
        action = "campaigns.translation_removed"
    else:
        if text_file is None:
            raise click.ClickException("--text-file is required (or --remove)")
        try:
            text = text_file.read_text(encoding="utf-8-sig")
            set_translation(db.session, campaign, language, title, text, introduction)
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{text_file}: not UTF-8 text") from exc
        except CampaignError as exc:
            db.session.rollback()
            where = f"--{exc.field.replace('_', '-')}: " if exc.field else ""
            raise click.ClickException(f"{where}{exc}") from exc
        action = "campaigns.translation_saved"
    record(db.session, action, actor="cli", target=campaign, details={"language": language})
    db.session.commit()
    click.echo(f"'{slug}' is in: {', '.join(campaign.languages)}")


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
        header = columns(request, campaign)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    record(db.session, "signatures.export", actor="cli", target=campaign,
           details={"format": fmt, **request.__dict__})  # fmt: skip
    db.session.commit()
    if fmt == "csv":  # each line written by the database: the same bytes, several times faster
        chunks = export_csv(db.session, campaign, request)
    else:
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


@signatures_cli.command("erase")
@click.option("--email", "address", required=True, help="The address whose data is erased.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(address: str, yes: bool) -> None:
    """Erase a person's data from every campaign, keeping anonymous counts (audit-logged)."""
    try:
        plan = plan_erasure(db.session, address)
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from exc
    if not yes:
        click.echo(
            f"{plan.signatures} signature(s) on {len(plan.campaigns)} campaign(s)"
            + (f" ({', '.join(plan.campaigns)})" if plan.campaigns else "")
            + f" and {plan.messages} outbox message(s) would be erased."
        )
        click.confirm("Erase this person's data?", abort=True)
    report = erase_signer(db.session, address, "cli", outbox_dir=current_app.config["OUTBOX_DIR"])
    db.session.commit()
    if report.nothing_found:
        click.echo("Nothing to erase: this address signed no campaign and has no mail waiting.")
    else:
        where = f" ({', '.join(report.campaigns)})" if report.campaigns else ""
        click.echo(
            f"Erased {report.signatures} signature(s) on {len(report.campaigns)} campaign(s)"
            f"{where}; deleted {report.messages_deleted} outbox message(s)"
            + (f", took the address off {report.messages_redacted} other(s)"
               if report.messages_redacted else "")
            + "."
        )  # fmt: skip
    if report.messages_in_flight:
        click.echo(
            f"{report.messages_in_flight} message(s) were being sent and were left: "
            "run this command again in a few minutes.",
            err=True,
        )
    click.echo(f"Recorded in the audit log as fingerprint {report.fingerprint}.")


@signatures_cli.command("purge")
@click.option("--campaign", "slug", default=None, help="The closed campaign to purge.")
@click.option("--all-due", is_flag=True, help="Every closed campaign past its retention period.")
def purge(slug: str | None, all_due: bool) -> None:
    """Delete the emails and IP addresses of closed campaigns after their retention period."""
    if bool(slug) == all_due:
        raise click.UsageError("Give either --campaign SLUG or --all-due.")
    outbox_dir = current_app.config["OUTBOX_DIR"]
    if slug:
        campaign = get_campaign(db.session, slug)
        if campaign is None:
            raise click.ClickException(f"no campaign '{slug}'")
        campaigns = [campaign]
    else:
        campaigns = campaigns_due_for_purge(db.session)
        if not campaigns:
            click.echo("No campaign is due for a purge.")
            return
    for campaign in campaigns:
        try:
            report = purge_campaign(db.session, campaign, "cli", outbox_dir=outbox_dir)
        except PrivacyError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(
            f"{report.campaign}: emails purged from {report.signatures} signature(s); "
            f"{report.messages} outbox message(s) deleted."
        )


@campaigns_cli.command("letters")
@click.option("--campaign", "slug", required=True, help="The sign-on letter's slug.")
@click.option(
    "--countries",
    "spec",
    required=True,
    help="all, an M49 region, signatories (their countries) or ISO codes: KE,SN.",
)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", "language", default="", help="Language (default: the campaign's).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes rendering PDFs (default: one per core).")  # fmt: skip
def letters(slug: str, spec: str, output: Path, language: str, workers: int | None) -> None:
    """The final letter, one copy per government, as a ZIP of PDFs, DOCX and an index."""
    from toolkit.campaigns.letters import (  # noqa: PLC0415
        campaign_letters,
        signatory_count,
        signatory_countries,
    )
    from toolkit.letters.batch import BatchError, select_countries  # noqa: PLC0415
    from toolkit.letters.cli import batch_summary, make_batch_with_progress  # noqa: PLC0415

    campaign = get_campaign(db.session, slug)
    if campaign is None:
        raise click.ClickException(f"no campaign '{slug}'")
    try:
        states = select_countries(db.session, spec, signatory_countries(db.session, campaign))
        batch = campaign_letters(db.session, campaign, states, language or campaign.language)
    except BatchError as exc:
        raise click.ClickException(str(exc)) from exc
    count = signatory_count(db.session, campaign)
    click.echo(f"{campaign.state} campaign: {count} approved signator"
               f"{'y' if count == 1 else 'ies'} included in each letter", err=True)  # fmt: skip
    record(db.session, "campaigns.letters", actor="cli", target=campaign,
           details={"countries": spec, "letters": len(batch), "signatories": count})  # fmt: skip
    db.session.commit()
    batch_summary(make_batch_with_progress(batch, output, workers), output)


def _campaign_or_fail(slug: str):  # noqa: ANN202 - a Campaign
    campaign = get_campaign(db.session, slug)
    if campaign is None:
        raise click.ClickException(f"no campaign '{slug}'")
    return campaign


@signatures_cli.command("recount")
@click.option("--campaign", "slug", default=None, help="Only this campaign (default: every one).")
def recount_command(slug: str | None) -> None:
    """Make the public counts exact now (they are otherwise retaken every few seconds)."""
    from toolkit.campaigns.counting import recount  # noqa: PLC0415

    changes = recount(db.session, _campaign_or_fail(slug) if slug else None)
    db.session.commit()
    for campaign, before, after in changes:
        stored = "none" if before is None else f"{before:,}"
        off = f" (off by {after - before:+,})" if before is not None and before != after else ""
        click.echo(f"{campaign.slug}: stored {stored}, exact {after:,}{off}")
    click.echo(f"{len(changes)} campaign(s) recounted.")


@campaigns_cli.command("pause")
@click.argument("slug")
def pause_command(slug: str) -> None:
    """Pause signing: the public page says so and no signature is taken until `resume`."""
    _set_paused(slug, True)


@campaigns_cli.command("resume")
@click.argument("slug")
def resume_command(slug: str) -> None:
    """Take signatures again after `pause`."""
    _set_paused(slug, False)


def _set_paused(slug: str, paused: bool) -> None:
    campaign = _campaign_or_fail(slug)
    word = "paused" if paused else "resumed"
    if campaign.signing_paused == paused:
        click.echo(f"'{slug}': signing was already paused." if paused
                   else f"'{slug}': signing was not paused.")  # fmt: skip
        return
    campaign.signing_paused = paused
    record(db.session, "campaigns.pause" if paused else "campaigns.resume", actor="cli",
           target=campaign)  # fmt: skip
    db.session.commit()
    note = "" if campaign.state == "open" else f" (the campaign is {campaign.state})"
    click.echo(f"'{slug}': signing {word}{note}.")
