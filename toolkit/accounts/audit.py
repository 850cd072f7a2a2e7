"""The audit log: record what organizers and the system do with people's data and decisions."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from toolkit.accounts.models import AuditEvent, User


def record(
    session: Session,
    action: str,
    *,
    actor: User | str | None = None,
    target: object = None,
    target_type: str = "",
    target_id: object = "",
    details: Mapping[str, object] | None = None,
    ip: str = "",
) -> AuditEvent:
    """Add an audit event to the session (the caller commits it with the change it records).

    ``actor`` is a User, or a label such as "cli" or an email for someone without an account.
    ``target`` may be any model instance: its table name and id are recorded.
    """
    if target is not None:
        target_type = target_type or getattr(target, "__tablename__", type(target).__name__)
        target_id = target_id or getattr(target, "id", "") or ""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if isinstance(actor, User) else None,
        actor=actor.email if isinstance(actor, User) else (actor or ""),
        target_type=target_type,
        target_id=str(target_id),
        details=dict(details or {}),
        ip=ip[:64],
    )
    session.add(event)
    return event


def recent_events(
    session: Session, *, limit: int = 100, action: str | None = None
) -> list[AuditEvent]:
    """The newest audit events first, optionally of one action."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))
