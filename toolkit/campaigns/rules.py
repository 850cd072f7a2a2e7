"""What signing needs to know of a campaign, kept by each web process for a few seconds.

Signing is the busiest request in a surge, and loading the whole campaign (an ORM object
with its text) cost it as much as storing the signature. So a web process keeps a small,
frozen copy of a campaign's signing rules for ``CAMPAIGN_CACHE_SECONDS`` (0: read on every
request).

Whether a campaign takes signatures is never taken from the copy alone: the signature's
insert checks in the database that the campaign is open, not paused and before its deadline
(``signing.sign``), so closing or pausing takes effect at once on every process. A change to
the form (which fields are asked, the organizer's questions, confirmation by email) reaches
other processes within those seconds, as it reaches a page already open in a browser. The
process that makes the change forgets its copy at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from toolkit.campaigns.models import Campaign, FieldRule, field_rule

EXTENSION = "toolkit.signing_rules"
_lock = threading.Lock()


@dataclass(frozen=True)
class SigningRules:
    """A campaign as the signing form and ``signing.sign`` see it (the same attribute names
    as Campaign, so either can be given to them)."""

    id: int
    slug: str
    state: str
    deadline: datetime | None
    signing_paused: bool
    allow_organizations: bool
    allow_individuals: bool
    require_confirmation: bool
    require_moderation: bool
    field_rules: Mapping[str, str]
    custom_fields: tuple[Mapping, ...]

    def rule(self, field: str) -> FieldRule:
        """How the signing form treats an optional field."""
        return field_rule(self.field_rules, field)


_COLUMNS = tuple(Campaign.__table__.c[name] for name in SigningRules.__dataclass_fields__)


def _load(session: Session, slug: str) -> SigningRules | None:
    row = session.execute(select(*_COLUMNS).where(Campaign.__table__.c.slug == slug)).one_or_none()
    if row is None:
        return None
    values = row._asdict()
    values["field_rules"] = dict(values["field_rules"] or {})
    values["custom_fields"] = tuple(values["custom_fields"] or ())
    return SigningRules(**values)


def _cache() -> dict[str, tuple[float, SigningRules | None]]:
    """This app's copies by slug, each with when it was read (time.monotonic)."""
    return current_app.extensions.setdefault(EXTENSION, {})


def signing_rules(session: Session, slug: str) -> SigningRules | None:
    """The campaign's signing rules, from this process's copy while it is fresh; None when
    no campaign has this slug."""
    if not slug or len(slug) > 80:
        return None
    max_age = float(current_app.config.get("CAMPAIGN_CACHE_SECONDS", 0))
    if max_age <= 0:
        return _load(session, slug)
    cache, now = _cache(), time.monotonic()
    cached = cache.get(slug)
    if cached is not None and now - cached[0] < max_age:
        return cached[1]
    rules = _load(session, slug)
    with _lock:
        if len(cache) > 1000:  # many slugs tried (a scan): start over rather than grow
            cache.clear()
        cache[slug] = (now, rules)
    return rules


def forget_signing_rules(slug: str | None = None) -> None:
    """Drop this process's copy of one campaign's rules (every campaign's without a slug)."""
    if not has_app_context():
        return
    with _lock:
        if slug is None:
            _cache().clear()
        else:
            _cache().pop(slug, None)


@event.listens_for(Campaign, "after_insert")  # a slug that found nothing may now
@event.listens_for(Campaign, "after_update")
@event.listens_for(Campaign, "after_delete")
def _campaign_changed(_mapper, _connection, _target) -> None:  # noqa: ANN001 - SQLAlchemy's
    """An organizer changed a campaign in this process: no copy here outlives the change
    (its slug may have changed too, so every copy goes)."""
    forget_signing_rules()
