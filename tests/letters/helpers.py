"""Form payloads shared by the letter tests."""

from __future__ import annotations

SENDER = {
    "name": "Kenya ICT Action Network",
    "description": "A coalition of groups working for an open Internet in Kenya.",
    "website": "https://example.org",
    "address": "PO Box 12345\nNairobi",
    "contact_name": "Grace Wanjiru",
    "contact_role": "Coordinator",
    "email": "grace@example.org",
    "phone": "+254 20 123 4567",
    "country": "KE",
}


def delegation_form(**changes: str) -> dict[str, str]:
    """A valid delegation-request form for Kenya; change any field by keyword."""
    data = {
        **SENDER,
        "recipient_country": "KE",
        "event": "wcit-12",
        "language": "en",
        "date": "2012-11-20",
        "representative_name": "Grace Wanjiru",
        "representative_expertise": "",
        "own_words": "Kenyans rely on mobile Internet for work and school.",
    }
    data.update(changes)
    return data
