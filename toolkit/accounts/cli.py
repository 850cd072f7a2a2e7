"""`toolkit users create|list` and `toolkit audit list`."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from toolkit.accounts.audit import recent_events, record
from toolkit.accounts.models import Role
from toolkit.accounts.service import AccountError, create_user, list_users
from toolkit.extensions import db

users_cli = AppGroup("users", help="Organizer accounts.")
audit_cli = AppGroup("audit", help="The audit log.")


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.ORGANIZER.value,
    show_default=True,
)  # fmt: skip
@click.option("--name", default="", help="The person's name, shown to other organizers.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create an organizer or admin account."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(db.session, email, password, role, name)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    record(db.session, "users.create", actor="cli", target=user, details={"role": role})
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


@users_cli.command("list")
def list_command() -> None:
    """Every account with its role and last login."""
    for user in list_users(db.session):
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        state = "" if user.active else " (disabled)"
        click.echo(f"{user.role:<10} {user.email}{state}  last login: {last}")


@audit_cli.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--action", default=None, help="Only this action, e.g. auth.login_failed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit_list(limit: int, action: str | None, as_json: bool) -> None:
    """The newest audit events first."""
    for event in recent_events(db.session, limit=limit, action=action):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "at": event.at.isoformat(),
                        "actor": event.actor,
                        "action": event.action,
                        "target": f"{event.target_type}:{event.target_id}",
                        "details": event.details,
                        "ip": event.ip,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            target = f"{event.target_type}:{event.target_id}" if event.target_type else "-"
            actor = event.actor or "-"
            click.echo(f"{event.at:%Y-%m-%d %H:%M:%S}  {event.action:<22} {actor:<30} {target}")
