"""The organizer dashboard: figures counted by the database, SVG charts, their tables, access."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from tests.campaigns.helpers import make_campaign
from tests.conftest import login, make_user
from toolkit.campaigns.charts import WIDTH, country_chart, daily_chart, nice_scale, tick_indexes
from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.stats import (
    OTHER_COUNTRIES,
    UNKNOWN_COUNTRY,
    Conversion,
    CountryCount,
    DayCount,
    SourceCount,
    by_source,
    conversion,
    deadline_of,
    fill_days,
    goal_percent,
    signatures_per_day,
    summarize,
    top_countries,
    totals_by_country,
)
from toolkit.extensions import db

SVG = "{http://www.w3.org/2000/svg}"
SVG_RE = re.compile(r"<svg\b.*?</svg>", re.S)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


# (created_at, status, country, source, ever confirmed)
ROWS = [
    (at(1, 9), "confirmed", "SN", "web", True),
    (at(1, 23, 30), "approved", "SN", "web", True),  # still 1 March in UTC
    (at(1, 12), "pending", "FR", "web", False),
    (at(3, 0, 10), "approved", "", "paper", False),  # paper: approved without an email
    (at(3, 10), "withdrawn", "FR", "web", True),
    (at(4, 5), "rejected", "BR", "web", False),
    (at(4, 6), "confirmed", "BR", "web", True),
]


def add_signatures(app, campaign_id: int, rows, prefix: str = "s") -> None:
    """Signatures written straight through the ORM, with the times and states given."""
    with app.app_context():
        for n, (created_at, status, country, source, confirmed) in enumerate(rows):
            email = None if source == "paper" else f"{prefix}{n}@example.org"
            db.session.add(Signature(
                campaign_id=campaign_id, name=f"Signer {n}", email=email, email_normalized=email,
                email_domain="example.org", country=country, source=source, status=status,
                created_at=created_at, confirmed_at=created_at if confirmed else None,
            ))  # fmt: skip
        db.session.commit()


def make_petition(app, organizer_id: int | None = None, **changes) -> int:
    """A petition with a goal of 10, a deadline in ten days, and the signatures of ROWS."""
    values = {"kind": "petition", "goal": 10,
              "deadline": datetime.now(UTC).date() + timedelta(days=10)}  # fmt: skip
    values.update(changes)
    campaign_id = make_campaign(app, "save-the-net", organizer_id=organizer_id, **values)
    add_signatures(app, campaign_id, ROWS)
    # Another campaign's signatures must never show up.
    other = make_campaign(app, "someone-else")
    add_signatures(app, other, [(at(20, 8, month=2), "approved", "DE", "web", True)], "x")
    return campaign_id


def svgs(html: str) -> list[ET.Element]:
    """Every inline SVG of a page, parsed (so each must be well-formed XML)."""
    return [ET.fromstring(match) for match in SVG_RE.findall(html)]


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of a table's body, as text."""
    match = re.search(rf'<table id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert match, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in rows]  # fmt: skip


def test_stats_count_in_the_database_on_each_backend(app):
    campaign_id = make_petition(app)
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        if db.engine.dialect.name == "postgresql":
            # A server in another time zone must still count days in UTC.
            db.session.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        assert signatures_per_day(db.session, campaign) == [
            DayCount(date(2024, 3, 1), 3, 2),
            DayCount(date(2024, 3, 2), 0, 0),  # nobody signed: shown as zero
            DayCount(date(2024, 3, 3), 2, 1),
            DayCount(date(2024, 3, 4), 2, 1),
        ]
        assert totals_by_country(db.session, campaign) == [
            CountryCount("SN", 2),
            CountryCount("BR", 1),
            CountryCount(UNKNOWN_COUNTRY, 1),
        ]
        assert conversion(db.session, campaign) == Conversion(signed=7, confirmed=4)
        assert by_source(db.session, campaign) == [SourceCount("web", 6, 3),
                                                   SourceCount("paper", 1, 1)]  # fmt: skip
        summary = summarize(db.session, campaign)
        assert (summary.counted, summary.goal, summary.goal_percent) == (4, 10, 40)
        assert summary.deadline.days_left == 10 and not summary.deadline.passed


def test_stats_of_a_campaign_nobody_signed(app):
    campaign_id = make_campaign(app, "quiet")
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        summary = summarize(db.session, campaign)
        assert summary.per_day == [] and summary.countries == []
        assert summary.conversion == Conversion(0, 0) and summary.conversion.rate is None
        assert summary.sources == [SourceCount("web", 0, 0), SourceCount("paper", 0, 0)]
        assert summary.counted == 0 and summary.goal_percent is None and summary.deadline is None


def test_pure_helpers():
    assert fill_days([]) == []
    filled = fill_days([DayCount(date(2024, 1, 30), 1, 1), DayCount(date(2024, 2, 2), 2, 0)])
    assert [d.day.isoformat() for d in filled] == ["2024-01-30", "2024-01-31", "2024-02-01",
                                                    "2024-02-02"]  # fmt: skip
    assert [d.signed for d in filled] == [1, 0, 0, 2]
    rows = [CountryCount(f"C{n:02}", 100 - n) for n in range(20)]
    top = top_countries(rows)
    assert len(top) == 16 and top[-1] == CountryCount(OTHER_COUNTRIES, sum(100 - n for n in
                                                                        range(15, 20)))  # fmt: skip
    assert top_countries(rows[:16]) == rows[:16]  # no "other" standing for one country
    assert (
        goal_percent(4, 10) == 40 and goal_percent(15, 10) == 150 and goal_percent(3, None) is None
    )
    assert nice_scale(0) == (1, 1) and nice_scale(3) == (3, 1) and nice_scale(37) == (40, 10)
    assert tick_indexes(3) == [0, 1, 2] and tick_indexes(31) == [0, 10, 20, 30]


def test_days_left_to_the_deadline():
    # SQLite gives back naive datetimes, which are UTC.
    campaign = Campaign(deadline=datetime(2024, 3, 10, 23, 59, 59))
    assert deadline_of(campaign, now=at(1, 12)).days_left == 9
    assert deadline_of(campaign, now=at(10, 8)).days_left == 0  # the last day
    late = deadline_of(campaign, now=at(11, 0, 1))
    assert late.passed and late.days_left == 0
    assert deadline_of(Campaign(deadline=None)) is None


def test_the_dashboard_shows_the_figures_charts_and_tables(app, client):
    owner = make_user(app, "owner@example.org")
    make_petition(app, organizer_id=owner)
    login(client, "owner@example.org")
    show = client.get("/admin/campaigns/save-the-net").get_data(as_text=True)
    assert 'href="/admin/campaigns/save-the-net/dashboard"' in show
    response = client.get("/admin/campaigns/save-the-net/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<p class="count" id="counted">4</p>', html)
    assert "40% of the goal of 10 signatures" in html and 'max="10" value="4"' in html
    conversion_text = re.sub(r"\s+", " ", re.search(r'id="conversion">(.*?)</dd>', html,
                                                    re.S).group(1))  # fmt: skip
    assert "4 of the 7 people who signed confirmed their email address: 57%." in conversion_text
    assert "10 days left" in html
    assert table_rows(html, "sources") == [["On the web", "6", "3"], ["On paper", "1", "1"]]
    assert table_rows(html, "days-table") == [["Mar 1, 2024", "3", "2"], ["Mar 2, 2024", "0", "0"],
                                              ["Mar 3, 2024", "2", "1"], ["Mar 4, 2024", "2", "1"]]  # fmt: skip
    assert table_rows(html, "countries-table") == [["Senegal", "2"], ["Brazil", "1"],
                                                   ["unknown", "1"]]  # fmt: skip
    daily, countries = svgs(html)
    for svg in (daily, countries):
        assert svg.get("role") == "img" and svg.get("viewBox", "").startswith(f"0 0 {WIDTH} ")
        title_id, desc_id = svg.get("aria-labelledby"), svg.get("aria-describedby")
        assert svg.find(f"{SVG}title").get("id") == title_id
        assert svg.find(f"{SVG}desc").get("id") == desc_id
    assert daily.find(f"{SVG}title").text == "Signatures per day"
    days = daily.findall(f".//{SVG}g[@class='day']")
    assert len(days) == 4  # the empty 2 March included
    heights = [[float(r.get("height")) for r in g.findall(f"{SVG}rect")] for g in days]
    assert heights[1] == [0, 0] and all(sum(h) > 0 for n, h in enumerate(heights) if n != 1)
    assert days[0].find(f"{SVG}title").text == "March 1, 2024: 3 signed, 2 counted"
    ticks = [t.text for t in daily.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks == ["1 Mar", "2 Mar", "3 Mar", "4 Mar"]
    bars = countries.findall(f".//{SVG}g[@class='country']")
    assert [g.find(f"{SVG}title").text for g in bars] == ["Senegal: 2", "Brazil: 1", "unknown: 1"]
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in bars]
    assert widths[0] == 2 * widths[1] == 2 * widths[2]
    for shape in ("full", "presentable"):
        for fmt in ("csv", "xlsx", "json"):
            href = f"/admin/campaigns/save-the-net/export?shape={shape}&amp;format={fmt}"
            assert href in html


def test_an_empty_campaign_has_a_dashboard_without_charts(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, "quiet", organizer_id=owner)
    login(client, "owner@example.org")
    html = client.get("/admin/campaigns/quiet/dashboard").get_data(as_text=True)
    assert "Nobody has signed yet." in html and "No deadline is set" in html
    assert "<svg" not in html and "goal-progress" not in html


def test_top_fifteen_countries_and_the_rest_as_other(app, client):
    owner = make_user(app, "owner@example.org")
    campaign_id = make_campaign(app, "many", organizer_id=owner, kind="petition")
    codes = ["AR", "AU", "BR", "CA", "CL", "DE", "EG", "ES", "FR", "GH", "IN", "JP", "KE", "MX",
             "NG", "SN", "ZA"]  # fmt: skip
    rows = [(at(1, 9), "approved", code, "web", True)
            for n, code in enumerate(codes) for _ in range(20 - n)]  # fmt: skip
    add_signatures(app, campaign_id, rows)
    login(client, "owner@example.org")
    html = client.get("/admin/campaigns/many/dashboard").get_data(as_text=True)
    _, countries = svgs(html)
    assert len(countries.findall(f".//{SVG}g[@class='country']")) == 16
    table = table_rows(html, "countries-table")
    assert len(table) == 16 and table[0] == ["Argentina", "20"]
    assert table[-1] == ["other countries", str(5 + 4)]  # SN (5) and ZA (4)


def test_hostile_labels_are_escaped(app, client):
    owner = make_user(app, "owner@example.org")
    campaign_id = make_campaign(app, "hostile", organizer_id=owner)
    add_signatures(app, campaign_id, [(at(1, 9), "approved", '<"', "web", True),
                                      (at(1, 10), "approved", "&<", "web", True)])  # fmt: skip
    login(client, "owner@example.org")
    html = client.get("/admin/campaigns/hostile/dashboard").get_data(as_text=True)
    assert '<"' not in html and "&<" not in html
    assert "&lt;&#34;" in html and "&amp;&lt;" in html
    _, countries = svgs(html)  # still well-formed
    assert sorted(g.find(f"{SVG}title").text for g in countries.iter(f"{SVG}g")
                  if g.get("class") == "country") == ["&<: 1", '<": 1']  # fmt: skip
    # The chart functions escape every word they are given.
    evil = "<script>alert(1)</script>"
    chart = country_chart([(evil, 3)], chart_id='x" onload="alert(1)', title=evil,
                          description=evil)  # fmt: skip
    day = daily_chart([DayCount(date(2024, 3, 1), 2, 1)], chart_id="d", title=evil,
                      description=evil, counted_label=evil, uncounted_label=evil,
                      axis_label=evil, day_label=lambda _: evil,
                      day_title=lambda _: evil)  # fmt: skip
    for svg in (chart, day):
        assert "<script" not in svg and 'onload="' not in svg
        root = ET.fromstring(str(svg))
        assert root.find(f"{SVG}title").text == evil
        assert not [el for el in root.iter() if el.tag.endswith("script")]


def test_other_organizers_get_403_and_the_anonymous_the_login(app, client):
    owner = make_user(app, "owner@example.org")
    make_user(app, "other@example.org")
    make_petition(app, organizer_id=owner)
    path = "/admin/campaigns/save-the-net/dashboard"
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "other@example.org")
    assert client.get(path).status_code == 403
    assert client.get("/admin/campaigns/no-such-campaign/dashboard").status_code == 404
