"""Every organizer route, walked as the anonymous, an organizer and an admin.

Anonymous: 302 to the login page. Organizer: 403 on admin-only routes. Admin: allowed.
A new route under /admin must be classified here, or this test fails and says so.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from tests.campaigns.helpers import make_campaign
from tests.conftest import csrf_token, login, make_user
from toolkit.campaigns.models import Signature
from toolkit.campaigns.service import get_campaign
from toolkit.campaigns.signing import SignerDetails, sign
from toolkit.contacts.corrections import NewCorrection, suggest_correction
from toolkit.contacts.directory import get_member_state
from toolkit.extensions import db

ADMIN_ONLY_ENDPOINTS = re.compile(
    r"^(admin\.(users|create_user_view|change_role|toggle_active|audit|privacy\w*)|mail\..*)$"
)


def organizer_rules(app: Flask) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")),
        key=lambda rule: rule.rule,
    )


def sample_values(app: Flask, organizer_id: int) -> dict[str, object]:
    """A real object for every kind of id an organizer route takes."""
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        signed = sign(db.session, campaign, SignerDetails(name="A", email="a@example.org",
                                                          email_normalized="a@example.org"))  # fmt: skip
        correction = suggest_correction(
            db.session, get_member_state(db.session, "KE"),
            NewCorrection("wrong", "right", "https://example.org/source"),
        )  # fmt: skip
        db.session.commit()
        values = {"user_id": organizer_id, "signature_id": signed.signature.id,
                  "correction_id": correction.id, "job_id": "no-such-job"}  # fmt: skip
        values.update(extra_sample_values())
        db.session.commit()
        from toolkit.mail.outbox import deliver_pending

        deliver_pending(db.session, app.config)  # written as .eml, so its download exists
        assert db.session.scalar(select(Signature.id)) is not None
    return values


# Pages of a background job: the sample id names no job, so an allowed visitor gets "not found".
UNKNOWN_JOB = {"campaigns.admin.letters_job", "campaigns.admin.letters_download"}


def extra_sample_values() -> dict[str, object]:
    """Ids owned by the mail and resources domains."""
    from toolkit.mail.outbox import queue_message
    from toolkit.resources.models import Resource, TimelineEntry

    message = queue_message(db.session, to="x@example.org", subject="s", text="t", kind="test")
    db.session.flush()
    resource = db.session.scalar(select(Resource))
    entry = db.session.scalar(select(TimelineEntry))
    return {
        "message_id": message.id,
        "resource_id": resource.id if resource else 1,
        "entry_id": entry.id if entry else 1,
    }


def build(rule, values: dict[str, object]) -> str:
    path = rule.rule
    for name in rule.arguments:
        if name == "slug":
            value = "let-us-in" if path.startswith("/admin/campaigns") else "wcit-12"
        elif name in values:
            value = values[name]
        else:
            pytest.fail(
                f"{rule.rule}: add a sample value for <{name}> in tests/admin/test_access.py"
            )
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(value), path)
    return path


@pytest.fixture
def setup(app, runner):
    runner.invoke(args=["resources", "load-demo"])
    organizer = make_user(app, "org@example.org", "organizer")
    make_user(app, "admin@example.org", "admin")
    make_campaign(app, organizer_id=organizer)
    return sample_values(app, organizer)


def walk(app, client, values) -> list[tuple[str, str, str, int, str]]:
    results = []
    token = csrf_token(client, "/letters/delegation-request")
    for rule in organizer_rules(app):
        path = build(rule, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data={"csrf_token": token})
            response.get_data()  # consume streamed exports, as a browser would
            response.close()
            results.append((rule.endpoint, method, path, response.status_code,
                            response.headers.get("Location", "")))  # fmt: skip
    return results


def test_anonymous_is_sent_to_login_everywhere(app, client, setup):
    results = walk(app, client, setup)
    assert len(results) > 20
    for endpoint, method, path, status, location in results:
        assert status == 302 and "/login" in location, (endpoint, method, path, status)


def test_organizer_gets_403_on_admin_only_routes_and_in_elsewhere(app, client, setup):
    login(client, "org@example.org")
    for endpoint, method, path, status, location in walk(app, client, setup):
        if ADMIN_ONLY_ENDPOINTS.match(endpoint):
            assert status == 403, (endpoint, method, path, status)
        else:
            assert status not in (403, 500) and "/login" not in location, (
                endpoint,
                method,
                path,
                status,
            )
            if method == "GET":
                assert status in (200, 202) or (endpoint in UNKNOWN_JOB and status == 404), (
                endpoint, path, status)  # fmt: skip


def test_admin_is_allowed_everywhere(app, client, setup):
    login(client, "admin@example.org")
    for endpoint, method, path, status, location in walk(app, client, setup):
        assert status not in (403, 500) and "/login" not in location, (
            endpoint,
            method,
            path,
            status,
        )
        if method == "GET":
            assert status in (200, 202) or (endpoint in UNKNOWN_JOB and status == 404), (
                endpoint, path, status)  # fmt: skip
