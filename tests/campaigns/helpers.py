"""Builders for campaign tests."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from toolkit.accounts.models import User
from toolkit.campaigns.service import NewCampaign, create_campaign, open_campaign
from toolkit.extensions import db

TEXT = "We, the undersigned, ask that civil society may **follow and take part** in the conference."


def make_campaign(app: Flask, slug: str = "let-us-in", *, organizer_id: int | None = None,
                  open_it: bool = True, **changes: object) -> int:  # fmt: skip
    """A campaign made through the service; returns its id."""
    values = {"kind": "sign-on", "slug": slug, "title": "Let civil society in", "text": TEXT,
              "field_rules": {"country": "required", "organization": "optional"}}  # fmt: skip
    values.update(changes)
    with app.app_context():
        creator = db.session.get(User, organizer_id) if organizer_id else None
        campaign = create_campaign(db.session, NewCampaign(**values), creator)
        if open_it:
            open_campaign(campaign)
        db.session.commit()
        return campaign.id


def sign(client: FlaskClient, slug: str = "let-us-in", token_url: str = "", **changes: str):
    """Sign through the real form."""
    data = {"kind": "organization", "name": "Amina Diallo", "email": "amina@example.org",
            "organization": "Jonction", "role": "Director", "country": "SN",
            "list_publicly": "y", "nickname": ""}  # fmt: skip
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    if token_url:  # a form other than the public one, which carries no session token
        data["csrf_token"] = csrf_token(client, token_url)
    return client.post(f"/campaigns/{slug}/sign", data=data)


LINK_RE = re.compile(r"https?://[^\s\"<>]+/campaigns/[^\s\"<>]+")


def links(message) -> list[str]:  # noqa: ANN001 - an email.message.EmailMessage
    """Every campaign link in a message's plain-text part."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    return LINK_RE.findall(body)


def path_of(link: str) -> str:
    """The path of an absolute link, for the test client."""
    return "/" + link.split("/", 3)[3]
