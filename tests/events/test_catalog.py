"""Events as data: loaded from letter_templates/events.toml, dates written out per language."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from toolkit.events.catalog import EventDataError, format_date_range, get_event, read_events
from toolkit.extensions import db


def test_shipped_events_are_loaded(app):
    with app.app_context():
        wcit = get_event(db.session, "wcit-12")
        assert (wcit.city, wcit.start, wcit.end) == ("Dubai", date(2012, 12, 3), date(2012, 12, 14))
        wtpf = get_event(db.session, "wtpf-13")
        assert (wtpf.city, wtpf.start, wtpf.end) == ("Geneva", date(2013, 5, 14), date(2013, 5, 16))


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("en_GB", "3–14 December 2012"),
        ("fr", "3–14 décembre 2012"),
        ("es", "3–14 de diciembre de 2012"),
        ("ru", "3–14 декабря 2012\u202fг."),
    ],
)
def test_date_ranges_are_written_out(locale: str, expected: str):
    assert format_date_range(date(2012, 12, 3), date(2012, 12, 14), locale) == expected


def test_range_across_months():
    assert format_date_range(date(2013, 5, 30), date(2013, 6, 2), "en_GB") == (
        "30 May 2013 – 2 June 2013"
    )


def test_bad_events_file(tmp_path: Path):
    (tmp_path / "events.toml").write_text(
        '[[event]]\nslug = "x"\nname = "X"\nfull_name = "X"\ncity = "C"\ncountry = "CH"\n'
        "start = 2013-05-16\nend = 2013-05-14\n"
    )
    with pytest.raises(EventDataError, match="ends before it starts"):
        read_events(tmp_path)
