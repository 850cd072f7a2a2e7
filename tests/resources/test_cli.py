"""`toolkit resources load-demo`: the WCIT-12 bank, loaded once however often it runs."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import func, select

from toolkit.extensions import db
from toolkit.resources.cli import DEMO_DIR
from toolkit.resources.models import Resource, ResourceStatus, TalkingPoints, TimelineEntry
from toolkit.validation import is_http_url


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(Resource.id))),
                db.session.scalar(select(func.count(TimelineEntry.id))),
                db.session.scalar(select(func.count(TalkingPoints.id))))  # fmt: skip


def test_load_demo_is_idempotent_and_keeps_what_organizers_changed(app, runner):
    first = runner.invoke(args=["resources", "load-demo"])
    assert first.exit_code == 0, first.output
    assert "wcit-12: resources 26 added, 0 already there; timeline 3 added" in first.output
    assert counts(app) == (26, 3, 1)
    with app.app_context():
        resource = db.session.scalar(select(Resource).order_by(Resource.id))
        resource.url = "https://example.org/found-by-an-organizer"
        db.session.commit()
    again = runner.invoke(args=["resources", "load-demo"])
    assert again.exit_code == 0, again.output
    assert "resources 0 added, 26 already there; timeline 0 added, 3 already there" in again.output
    assert "talking points kept as they were" in again.output
    assert counts(app) == (26, 3, 1)
    with app.app_context():
        kept = db.session.scalar(select(Resource).order_by(Resource.id))
        assert kept.url == "https://example.org/found-by-an-organizer"
        statuses = set(db.session.scalars(select(Resource.status)))
        assert statuses == {ResourceStatus.APPROVED.value}


def test_load_demo_explains_a_broken_file(app, runner, tmp_path: Path):
    broken = tmp_path / "broken.toml"
    broken.write_text('event = "wcit-12"\n[[resource]]\ntitle = "x"\ncategory = "podcasts"\n')
    result = runner.invoke(args=["resources", "load-demo", str(broken)])
    assert result.exit_code != 0 and "resource 1: Choose a category." in result.output
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('event = "wcit-99"\n')
    result = runner.invoke(args=["resources", "load-demo", str(unknown)])
    assert result.exit_code != 0 and "there is no event 'wcit-99'" in result.output
    assert counts(app) == (0, 0, 0)


def test_the_demo_file_lists_every_resource_of_the_original_bank_with_empty_links():
    data = tomllib.loads((DEMO_DIR / "wcit-12.toml").read_text(encoding="utf-8"))
    items = data["resource"]
    assert len(items) == 26
    assert sum(i["category"] == "policy-analysis" for i in items) == 19
    assert sum(i["category"] == "advocacy-resource" for i in items) == 7
    for item in items:
        assert item["url"] == "" or is_http_url(item["url"])
        assert item["language"] == "en" and item["author"] and item["summary"]
    assert len({i["title"] for i in items}) == 26  # loading matches by title: no duplicates
    assert {"starts_on", "title"} <= set(data["timeline"][0]) and data["talking_points"]["body"]
