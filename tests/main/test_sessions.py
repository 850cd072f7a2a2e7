"""Session cookies: the signer is made once, and follows a change of keys (rotation)."""

from __future__ import annotations

import pytest
from flask import Flask, session
from itsdangerous import BadSignature


def test_the_signer_is_made_once_and_follows_the_keys(sqlite_app: Flask):
    app = sqlite_app
    cookies = app.session_interface
    first = cookies.get_signing_serializer(app)
    assert cookies.get_signing_serializer(app) is first
    token = first.dumps({"_user_id": "7"})
    old_key = app.secret_key

    app.secret_key = app.config["SECRET_KEY"] = "a new key, rotated in"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    rotated = cookies.get_signing_serializer(app)
    assert rotated is not first
    assert rotated.loads(token) == {"_user_id": "7"}  # the old key is still accepted

    app.config["SECRET_KEY_FALLBACKS"] = []
    with pytest.raises(BadSignature):
        cookies.get_signing_serializer(app).loads(token)


def test_a_session_set_in_one_request_is_read_in_the_next(sqlite_app: Flask):
    app = sqlite_app

    @app.get("/_test/remember/<value>")
    def remember(value: str) -> str:
        session["value"] = value
        return "ok"

    @app.get("/_test/recall")
    def recall() -> str:
        return session.get("value", "nothing")

    client = app.test_client()
    client.get("/_test/remember/Ω")
    assert client.get("/_test/recall").get_data(as_text=True) == "Ω"
    app.secret_key = app.config["SECRET_KEY"] = "another key"
    assert client.get("/_test/recall").get_data(as_text=True) == "nothing"
