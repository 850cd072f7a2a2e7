"""Organizer accounts: create, authenticate, reset passwords. Plain values in, domain errors out."""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from toolkit.accounts.models import Role, User
from toolkit.db import utcnow
from toolkit.validation import normalize_email

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
RESET_SALT = "toolkit.password-reset"
# Checked when no account matches, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password, only a timing guard")


class AccountError(ValueError):
    """A request about an account cannot be done; the message is for the person who asked."""


def check_password_rules(password: str) -> None:
    """Long enough to resist guessing, short enough not to be a denial of service."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters.")


def find_user(session: Session, email: str) -> User | None:
    """The account with this email (case-insensitive), if any."""
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(
    session: Session, email: str, password: str, role: Role | str = Role.ORGANIZER, name: str = ""
) -> User:
    """A new account; raises AccountError for a bad email, weak password or existing account."""
    try:
        email = normalize_email(email)
    except ValueError as exc:
        raise AccountError(str(exc)) from exc
    if role not in {r.value for r in Role}:
        raise AccountError(f"The role must be one of: {', '.join(r.value for r in Role)}.")
    check_password_rules(password)
    if find_user(session, email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    user = User(email=email, name=name, password_hash=generate_password_hash(password), role=role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # created at the same moment by someone else
        session.rollback()
        raise AccountError(f"An account for {email} already exists.") from exc
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account these credentials open, or None; same cost whether or not it exists."""
    user = find_user(session, email) if email else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def set_password(user: User, password: str) -> None:
    """Replace the password (which also voids every reset link sent before)."""
    check_password_rules(password)
    user.password_hash = generate_password_hash(password)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def make_reset_token(secret_key: str, user: User) -> str:
    """A signed link token; it dies when used (the password changes) or when it expires."""
    serializer = URLSafeTimedSerializer(secret_key, salt=RESET_SALT)
    return serializer.dumps({"u": user.id, "h": _fingerprint(user)})


def check_reset_token(session: Session, secret_key: str, token: str, max_age: int) -> User:
    """The account a reset token is for; AccountError when expired, tampered with or used."""
    serializer = URLSafeTimedSerializer(secret_key, salt=RESET_SALT)
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise AccountError("This link has expired. Ask for a new one.") from exc
    except BadSignature as exc:
        raise AccountError("This link is not valid. Ask for a new one.") from exc
    user = session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("h") != _fingerprint(user):
        raise AccountError("This link has already been used or is no longer valid.")
    return user


def list_users(session: Session) -> list[User]:
    """Every account, admins first."""
    return list(session.scalars(select(User).order_by(User.role, User.email)))
