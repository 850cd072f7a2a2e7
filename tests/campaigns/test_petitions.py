"""Petitions: the same campaign and signature model, with a goal, reach and a hand-over PDF."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.campaigns.helpers import LINK_RE, make_campaign, path_of, sign
from tests.conftest import csrf_token, login, make_user
from toolkit.campaigns.models import Campaign, Signature, SignatureStatus
from toolkit.campaigns.privacy import erase_signer
from toolkit.campaigns.signing import COUNTED
from toolkit.db import utcnow
from toolkit.extensions import db
from toolkit.mail.models import OutboxMessage
from toolkit.mail.outbox import compose

PETITION = {"kind": "petition", "goal": 100, "require_moderation": False,
            "introduction": "Publish every draft of the treaty.",
            "field_rules": {"country": "required"}}  # fmt: skip


def petition(app, slug: str = "open-itu", **changes) -> int:
    return make_campaign(app, slug, **{**PETITION, **changes})


def add_signature(app, slug: str, name: str, country: str, *, status: str = "approved",
                  listed: bool = True, source: str = "web") -> None:  # fmt: skip
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
        n = db.session.scalar(select(func.count()).select_from(Signature)) or 0
        email = None if source == "paper" else f"s{n}@example.org"
        db.session.add(Signature(campaign_id=campaign.id, name=name, email=email,
                                 email_normalized=email, country=country, status=status,
                                 list_publicly=listed, source=source, confirmed_at=utcnow(),
                                 approved_at=utcnow()))  # fmt: skip
        db.session.commit()


def confirm_links(app) -> list[str]:
    """The confirmation links queued in the outbox (mail stays queued in these tests)."""
    with app.app_context():
        messages = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "signature-confirm")
            .order_by(OutboxMessage.id)
        ).all()
        for message in messages:
            compose(db.session, message)  # signers' mails are written when sent
        bodies = [message.text_body for message in messages]
        db.session.commit()
        return [link for body in bodies for link in LINK_RE.findall(body) if "/confirm/" in link]


# --- creating one ------------------------------------------------------------------------


def test_cli_creates_a_petition_with_a_goal_and_questions(app, runner, tmp_path):
    text = tmp_path / "petition.md"
    text.write_text("We ask the ITU to publish its drafts.", encoding="utf-8")
    result = runner.invoke(args=[
        "campaigns", "create", "--kind", "petition", "--slug", "drafts", "--title", "Publish",
        "--text-file", str(text), "--goal", "5000", "--question", "Your town *",
        "--question", "Why do you sign?", "--open"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created petition 'drafts' (open)" in result.output
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "drafts"))
        assert campaign.goal == 5000 and campaign.state == "open"
        assert not campaign.allow_organizations and not campaign.require_moderation
        assert campaign.rule("organization") == "hidden" and campaign.rule("role") == "hidden"
        assert [(q["name"], q["required"]) for q in campaign.custom_fields] == [
            ("your_town", True),
            ("why_do_you_sign", False),
        ]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--goal", "0"], "--goal: The goal must be a number above zero."),
        (["--goal", "-5"], "--goal: The goal must be a number above zero."),
        (["--deadline", (date.today() - timedelta(days=1)).isoformat()],
         "--deadline: The deadline is in the past."),
        (["--slug", "taken"], "--slug: The web address 'taken' is already taken."),
        (["--deadline", "next week"], "'next week' is not a date written YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_cli_refuses_bad_values_with_a_message(app, runner, tmp_path, options, message):
    petition(app, "taken")
    text = tmp_path / "p.md"
    text.write_text("Text.")
    args = ["campaigns", "create", "--kind", "petition", "--slug", "fresh", "--title", "T",
            "--text-file", str(text)]  # fmt: skip
    result = runner.invoke(args=[*args, *options])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_organizer_form_refuses_a_goal_of_zero_and_too_many_questions(app, client):
    make_user(app, "org@example.org")
    login(client, "org@example.org")
    data = {"kind": "petition", "title": "T", "slug": "new-one", "text": "Text.",
            "addressee": "itu", "language": "en", "goal": "0", "template": "", "rule_organization": "optional",
            "rule_role": "optional", "rule_city": "hidden", "rule_country": "required",
            "retention_days": "365", "allow_individuals": "y", "require_confirmation": "y",
            "csrf_token": csrf_token(client, "/admin/campaigns/new")}  # fmt: skip
    response = client.post("/admin/campaigns/new", data=data)
    assert response.status_code == 422
    assert "The goal must be a number above zero." in response.get_data(as_text=True)
    data["goal"] = "10"
    data["questions"] = "\n".join(f"Question {i}" for i in range(6))
    response = client.post("/admin/campaigns/new", data=data)
    assert response.status_code == 422
    assert "Ask at most 5 questions of your own." in response.get_data(as_text=True)
    data["questions"] = "Your town *\nعمرك"
    response = client.post("/admin/campaigns/new", data=data)
    assert response.status_code == 302
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "new-one"))
        assert [q["name"] for q in campaign.custom_fields] == ["your_town", "q2"]
        assert not campaign.allow_organizations


# --- the page ----------------------------------------------------------------------------


def test_petition_page_shows_goal_progress_first_names_and_share_links(app, client):
    petition(app)
    add_signature(app, "open-itu", "Amina Diallo", "SN")
    add_signature(app, "open-itu", "Ольга Петрова", "RU")
    add_signature(app, "open-itu", "Hidden Person", "KE", listed=False)
    add_signature(app, "open-itu", "Pending Person", "KE", status="pending")
    response = client.get("/campaigns/open-itu")
    page = response.get_data(as_text=True)
    assert "3 signatures" in page and "goal: 100" in page and "(3%)" in page
    assert '<progress max="100" value="3"' in page
    assert "Publish every draft of the treaty." in page
    assert "Amina <span" in page and "Diallo" not in page
    assert "Ольга" in page and "Петрова" not in page
    assert "Senegal" in page and "Hidden" not in page and "Pending" not in page
    assert 'name="organization"' not in page and 'name="role"' not in page
    assert '<input type="hidden" name="kind" value="individual">' in page
    assert "https://wa.me/?text=" in page and "mailto:?subject=" in page
    assert "<script" not in page  # no script at all, let alone a third party's
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_custom_questions_are_asked_required_and_kept(app, client):
    petition(app, require_confirmation=False, custom_fields=[
        {"name": "town", "label": "Your town", "required": True, "max_length": 20},
        {"name": "why", "label": "Why?", "required": False, "max_length": 200}])  # fmt: skip
    page = client.get("/campaigns/open-itu").get_data(as_text=True)
    assert "Your town" in page and 'name="q_town"' in page
    response = sign(client, "open-itu", kind="individual", organization=None, role=None)
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    response = sign(client, "open-itu", kind="individual", organization=None, role=None,
                    q_town="x" * 21)  # fmt: skip
    assert "Field cannot be longer than 20 characters." in response.get_data(as_text=True)
    response = sign(client, "open-itu", kind="individual", organization=None, role=None,
                    q_town="Thiès", q_why="")  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.extra == {"town": "Thiès", "why": ""}
        assert signature.kind == "individual"


def test_an_organization_cannot_sign_a_petition(app, client):
    petition(app)
    response = sign(client, "open-itu", kind="organization")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


# --- reach: the API and the widget -------------------------------------------------------


def test_api_gives_the_confirmed_count_goal_and_state_cacheably(app, client):
    petition(app)
    add_signature(app, "open-itu", "A B", "SN")
    add_signature(app, "open-itu", "C D", "SN", status="pending")
    add_signature(app, "open-itu", "E F", "SN", status="withdrawn")
    response = client.get("/api/v1/campaigns/open-itu")
    assert response.status_code == 200
    data = response.get_json()
    assert (data["signatures"], data["goal"], data["state"]) == (1, 100, "open")
    assert data["url"].endswith("/campaigns/open-itu")
    cache = response.headers["Cache-Control"]
    assert "public" in cache and "max-age=30" in cache and "stale-while-revalidate" in cache
    again = client.get(
        "/api/v1/campaigns/open-itu", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    add_signature(app, "open-itu", "G H", "KE")
    changed = client.get(
        "/api/v1/campaigns/open-itu", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert changed.status_code == 200 and changed.get_json()["signatures"] == 2


def test_api_hides_drafts_and_unknown_campaigns(app, client):
    petition(app, "secret", open_it=False)
    for slug in ("secret", "nothing-here"):
        response = client.get(f"/api/v1/campaigns/{slug}")
        assert response.status_code == 404
        assert "no published campaign" in response.get_json()["error"]


def test_widget_may_be_framed_and_shows_the_count(app, client):
    petition(app)
    add_signature(app, "open-itu", "A B", "SN")
    response = client.get("/campaigns/open-itu/widget")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert "<strong>1</strong> signature" in page and 'value="1"' in page
    assert 'href="http://127.0.0.1:5000/campaigns/open-itu#sign"' in page
    # every other page still refuses to be framed
    assert client.get("/campaigns/open-itu").headers["X-Frame-Options"] == "DENY"


def test_widget_of_a_draft_is_not_found(app, client):
    petition(app, open_it=False)
    assert client.get("/campaigns/open-itu/widget").status_code == 404


# --- the delivery document ---------------------------------------------------------------


def test_delivery_pdf_has_totals_by_country_and_only_agreed_names(app, client):
    organizer = make_user(app, "org@example.org")
    petition(app, organizer_id=organizer)
    add_signature(app, "open-itu", "Amina Diallo", "SN")
    add_signature(app, "open-itu", "Moussa Ndiaye", "SN")
    add_signature(app, "open-itu", "王小明", "CN")
    add_signature(app, "open-itu", "Quiet Signer", "KE", listed=False)
    add_signature(app, "open-itu", "Paper Signer", "KE", source="paper")
    add_signature(app, "open-itu", "Not Confirmed", "KE", status="pending")
    login(client, "org@example.org")
    response = client.get("/admin/campaigns/open-itu/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    text = re.sub(r"\s+", " ", text)
    assert "5 people signed this petition." in text
    assert "1 signed on paper" in text
    assert "Senegal 2" in text and "Kenya 2" in text and "China 1" in text
    assert "Amina Diallo" in text and "王小明" in text and "Paper Signer" in text
    assert "Quiet Signer" not in text and "Not Confirmed" not in text
    assert "Publish every draft of the treaty." in text


# --- load: sign and confirm at once ------------------------------------------------------


def test_count_matches_the_database_after_1000_concurrent_sign_and_confirm_flows(app):
    """1,000 flows on 20 threads, 10% repeated emails; the page's count is the database's."""
    app.config["MAIL_DELIVERY"] = "worker"  # mail stays queued: links are read from the outbox
    petition(app, goal=2000)
    threads_count, flows = 20, 1000
    emails = [f"p{i - 9}@example.org" if i % 10 == 9 else f"p{i}@example.org"
              for i in range(flows)]  # fmt: skip
    clients = [app.test_client() for _ in range(threads_count)]
    tokens = [
        csrf_token(c, "/letters/delegation-request") for c in clients
    ]  # for the confirm buttons
    failures: list[str] = []

    def work(t: int) -> None:
        for i in range(t, flows, threads_count):
            data = {"kind": "individual", "name": f"Signer {i}", "email": emails[i],
                    "country": "KE", "csrf_token": tokens[t]}  # fmt: skip
            status = clients[t].post("/campaigns/open-itu/sign", data=data).status_code
            if status != 302:
                failures.append(f"sign {i}: {status}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    links = confirm_links(app)
    assert len(links) == len(set(emails)) == 900

    def confirm_all(t: int) -> None:
        for link in links[t::threads_count]:
            status = clients[t].post(path_of(link), data={"csrf_token": tokens[t]}).status_code
            if status not in (200, 302, 303):
                failures.append(f"confirm: {status}")

    threads = [threading.Thread(target=confirm_all, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        in_database = db.session.scalar(
            select(func.count()).select_from(Signature).where(Signature.status.in_(COUNTED))
        )
        distinct = db.session.scalar(select(func.count(func.distinct(Signature.email_normalized))))
    assert in_database == distinct == len(set(emails))
    page = app.test_client().get("/campaigns/open-itu").get_data(as_text=True)
    assert f"{in_database:,} signatures" in page
    assert (
        app.test_client().get("/api/v1/campaigns/open-itu").get_json()["signatures"] == in_database
    )
    assert SignatureStatus.CONFIRMED  # the statuses counted are confirmed and approved


def test_an_erased_signer_leaves_the_named_list_but_not_the_count(app, client):
    organizer = make_user(app, "org@example.org")
    petition(app, organizer_id=organizer)
    add_signature(app, "open-itu", "Amina Diallo", "SN")
    add_signature(app, "open-itu", "Forget Me", "SN")
    with app.app_context():
        address = db.session.scalar(select(Signature.email).where(Signature.name == "Forget Me"))
        erase_signer(db.session, address, "cli")
        db.session.commit()
    login(client, "org@example.org")
    response = client.get("/admin/campaigns/open-itu/letter.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    assert "2 people signed this petition." in re.sub(r"\s+", " ", text)
    assert "Amina Diallo" in text and "Forget Me" not in text


def test_presentable_export_leaves_out_erased_signers(app, client):
    organizer = make_user(app, "org@example.org")
    petition(app, organizer_id=organizer)
    add_signature(app, "open-itu", "Amina Diallo", "SN")
    add_signature(app, "open-itu", "Forget Me", "SN")
    with app.app_context():
        address = db.session.scalar(select(Signature.email).where(Signature.name == "Forget Me"))
        erase_signer(db.session, address, "cli")
        db.session.commit()
    login(client, "org@example.org")
    response = client.get("/admin/campaigns/open-itu/export?shape=presentable&format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows] == ["name", "Amina Diallo"]
