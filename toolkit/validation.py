"""Cleaning and checking what people type, shared by every form, the CLI and the API."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email


def clean_text(value: object, *, multiline: bool = False) -> object:
    """NFC-normalise and drop control characters; keep every script (and line breaks if asked)."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    kept = []
    for char in value:
        if char == "\n" and multiline:
            kept.append(char)
        elif char == "\t":
            kept.append(" ")
        elif unicodedata.category(char) != "Cc":
            kept.append(char)
    text = "".join(kept)
    if multiline:
        lines = [line.rstrip() for line in text.split("\n")]
        return "\n".join(lines).strip()
    return " ".join(text.split())


def clean_line(value: object) -> object:
    """A one-line value: control characters dropped, spaces folded."""
    return clean_text(value, multiline=False)


def clean_block(value: object) -> object:
    """A multi-line value: control characters dropped, line breaks kept."""
    return clean_text(value, multiline=True)


def normalize_email(value: str, *, check_deliverability: bool = False) -> str:
    """The address as email-validator normalises it; raises ValueError with its explanation."""
    try:
        result = validate_email(value, check_deliverability=check_deliverability)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized


def is_http_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host: never javascript:, data: or file:."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def has_control_characters(value: str) -> bool:
    """True when a value holds control characters (other than line breaks and tabs)."""
    return any(unicodedata.category(char) == "Cc" and char not in "\n\r\t" for char in value)


def nfc(value: object) -> object:
    """Unicode NFC, so the same name typed on two keyboards is stored the same way."""
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


def safe_next(target: str | None) -> str | None:
    """Only a path on this site is a safe place to go next (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ord(char) < 32 for char in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and "\\" not in target else None
