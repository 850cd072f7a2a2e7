"""/api/v1: member states and their contact points, as cacheable JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, url_for

from toolkit.caching import cache_publicly
from toolkit.campaigns.counting import public_count
from toolkit.campaigns.models import CampaignState
from toolkit.campaigns.service import get_campaign
from toolkit.contacts.directory import (
    countries_with_verified_contact,
    get_member_state,
    list_member_states,
)
from toolkit.contacts.models import LANGUAGES, MemberState
from toolkit.extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # read-only JSON; no cookies are needed or trusted here

OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.json"
MAX_AGE = 300


def json_response(
    data: object, status: int = 200, *, cacheable: bool = True, max_age: int = MAX_AGE
) -> Response:
    """JSON with an ETag; a matching If-None-Match gets 304 and no body."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    if cacheable and status == 200:
        response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
        # A live figure (a count) may be served a little stale rather than not at all.
        return cache_publicly(response, max_age, live=max_age < MAX_AGE)
    return response


def error(status: int, message: str) -> Response:
    """A JSON error with a message a developer can act on."""
    return json_response({"error": message, "status": status}, status, cacheable=False)


def _state_summary(state: MemberState, verified: set[str]) -> dict:
    return {
        "iso2": state.iso2,
        "iso3": state.iso3,
        "numeric": state.numeric,
        "names": {lang: state.name(lang) for lang in LANGUAGES},
        "official_name_en": state.official_name_en,
        "m49_region": state.m49_region,
        "m49_subregion": state.m49_subregion,
        "itu_region": state.itu_region or None,
        "has_verified_contact_point": state.iso2 in verified,
    }


@bp.get("/countries")
def countries() -> Response:
    """Every member state, with whether a verified contact point exists."""
    verified = countries_with_verified_contact(db.session)
    states = list_member_states(db.session)
    return json_response({"countries": [_state_summary(s, verified) for s in states]})


@bp.get("/countries/<code>")
def country(code: str) -> Response:
    """One member state and its contact points."""
    state = get_member_state(db.session, code)
    if state is None:
        return error(404, f"No member state has the ISO 3166 alpha-2 code '{code[:10]}'.")
    data = _state_summary(state, countries_with_verified_contact(db.session))
    data["contact_points"] = [
        {
            "role": p.role,
            "organization": p.organization,
            "addressee_name": p.addressee_name,
            "addressee_title": p.addressee_title,
            "address_lines": p.address_lines,
            "email": p.email,
            "phone": p.phone,
            "website": p.website,
            "source": p.source,
            "verified_on": p.verified_on.isoformat() if p.verified_on else None,
            "status": p.status,
        }
        for p in sorted(state.contact_points, key=lambda p: (p.status != "verified", p.id))
    ]
    return json_response(data)


@bp.get("/campaigns/<slug>")
def campaign(slug: str) -> Response:
    """A published campaign's confirmed count (batched under a surge), goal and state (drafts
    are not found)."""
    found = get_campaign(db.session, slug)
    if found is None or found.state == CampaignState.DRAFT:
        return error(404, f"no published campaign '{slug[:80]}'")
    data = {
        "slug": found.slug,
        "kind": found.kind,
        "title": found.title,
        "state": found.state,
        "signatures": public_count(db.session, found),
        "goal": found.goal,
        "deadline": found.deadline.date().isoformat() if found.deadline else None,
        "url": current_app.config["BASE_URL"].rstrip("/") + url_for("campaigns.show", slug=slug),
    }
    return json_response(data, max_age=int(current_app.config["PUBLIC_MAX_AGE"]))


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API's description (OpenAPI 3.1)."""
    return json_response(json.loads(OPENAPI_FILE.read_text(encoding="utf-8")))
