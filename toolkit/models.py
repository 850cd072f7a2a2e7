"""Every domain's models, imported in one place so Alembic and the app see the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "toolkit.events.models",
    "toolkit.contacts.models",
    "toolkit.accounts.models",
    "toolkit.mail.models",
    "toolkit.resources.models",
    "toolkit.campaigns.models",
)


def import_all_models() -> None:
    """Import each domain's models module (those not written yet are skipped)."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
