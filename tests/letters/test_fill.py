"""The sandbox: templates are data, so they can neither escape nor inject."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.letters.context import SAMPLE_EVENT, SAMPLE_SENDER, context_for, sample_recipient
from toolkit.letters.fill import LetterFillError, fill, make_environment


def _write(tmp_path: Path, body: str, *, subject: str = "Subject") -> Path:
    folder = tmp_path / "t"
    folder.mkdir(exist_ok=True)
    (folder / "en.html").write_text(
        f"{{% block subject %}}{subject}{{% endblock %}}"
        "{% block salutation %}Dear Minister,{% endblock %}"
        f"{{% block body %}}{body}{{% endblock %}}"
        "{% block closing %}Yours,{% endblock %}"
    )
    return tmp_path


def _context(**sender_changes):
    sender = SAMPLE_SENDER.__class__(**{**SAMPLE_SENDER.__dict__, **sender_changes})
    return context_for(
        sender=sender,
        recipient=sample_recipient("government"),
        event=SAMPLE_EVENT,
        letter_date=SAMPLE_EVENT.start,
        language="en",
        fields={},
        own_words="",
        signatory_count=0,
    )


def test_values_are_escaped(tmp_path: Path):
    env = make_environment(_write(tmp_path, "<p>{{ sender.name }}</p>"))
    letter = fill(env, "t/en.html", _context(name='<script>alert(1)</script><img src="x">'))
    assert "<script>" not in letter.body
    assert "&lt;script&gt;" in letter.body
    assert "<img" not in letter.body


def test_template_markup_outside_the_allowed_tags_is_dropped(tmp_path: Path):
    body = '<p onclick="x()">Hi</p><script>bad()</script><img src="file:///etc/passwd">'
    env = make_environment(_write(tmp_path, body))
    letter = fill(env, "t/en.html", _context())
    assert str(letter.body) == "<p>Hi</p>"


@pytest.mark.parametrize(
    "expression",
    [
        "{{ sender.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ config }}",
        "{{ request }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_sandbox_refuses_escapes_and_app_globals(tmp_path: Path, expression: str):
    env = make_environment(_write(tmp_path, f"<p>{expression}</p>"))
    with pytest.raises(LetterFillError) as info:
        fill(env, "t/en.html", _context())
    assert info.value.location.startswith("t/en.html") or "en.html" in info.value.location


def test_subject_is_plain_text(tmp_path: Path):
    env = make_environment(_write(tmp_path, "<p>x</p>", subject="A &amp; B <em>now</em>"))
    assert fill(env, "t/en.html", _context()).subject == "A & B now"
