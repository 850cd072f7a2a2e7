"""The public suggestion form is rate limited per IP address, with a readable refusal."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from tests.conftest import base_config, csrf_token
from toolkit import create_app
from toolkit.extensions import db
from toolkit.resources.models import Resource


def test_the_sixth_suggestion_in_an_hour_gets_a_readable_429(database_url: str, tmp_path: Path):
    app: Flask = create_app({**base_config(database_url, tmp_path), "RATELIMIT_ENABLED": True})
    client = app.test_client()
    try:
        statuses = []
        for number in range(6):
            data = {"title": f"Resource {number}", "url": f"https://example.org/{number}",
                    "csrf_token": csrf_token(client, "/resources/suggest")}  # fmt: skip
            response = client.post("/resources/suggest", data=data)
            statuses.append(response.status_code)
        assert statuses == [302] * 5 + [429]
        page = response.get_data(as_text=True)
        assert "You have sent this form many times in a short while." in page
        assert "Traceback" not in page
        # reading the form is not limited
        assert client.get("/resources/suggest").status_code == 200
        with app.app_context():
            assert db.session.scalar(select(func.count(Resource.id))) == 5
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
