"""`toolkit resources load-demo`: the WCIT-12 resource bank, timeline and talking points."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from toolkit.extensions import db
from toolkit.resources.bank import ResourceError, load_demo

resources_cli = AppGroup("resources", help="The resource bank.")

DEMO_DIR = Path(__file__).resolve().parent / "demo"


@resources_cli.command("load-demo")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_demo_command(files: tuple[Path, ...]) -> None:
    """Load demo resources (default: every file in toolkit/resources/demo/); safe to re-run."""
    paths = list(files) or sorted(DEMO_DIR.glob("*.toml"))
    for path in paths:
        try:
            report = load_demo(db.session, path)
        except ResourceError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(
            f"{report.event}: resources {report.resources_added} added, "
            f"{report.resources_kept} already there; timeline {report.timeline_added} added, "
            f"{report.timeline_kept} already there; talking points "
            f"{'added' if report.talking_points_added else 'kept as they were'}"
        )
