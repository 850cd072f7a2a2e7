"""The organizer's dashboard of one campaign: counts, conversion, sources, deadline, charts."""

from __future__ import annotations

from flask import render_template
from flask_babel import format_date, format_decimal, format_percent, get_locale
from flask_babel import gettext as _

from toolkit.accounts.access import organizer_required
from toolkit.campaigns.admin import _managed_or_403, bp
from toolkit.campaigns.charts import country_chart, daily_chart
from toolkit.campaigns.stats import (
    OTHER_COUNTRIES,
    UNKNOWN_COUNTRY,
    DayCount,
    summarize,
    top_countries,
)
from toolkit.contacts.directory import member_state_choices
from toolkit.exports.writers import FORMATS
from toolkit.extensions import db


def _number(value: int) -> str:
    return format_decimal(value)


def country_labels(codes: list[str], language: str) -> dict[str, str]:
    """Names for country codes in the reader's language; unknown codes stay as they are."""
    names = dict(member_state_choices(db.session, language))
    special = {UNKNOWN_COUNTRY: _("unknown"), OTHER_COUNTRIES: _("other countries")}
    return {code: special.get(code) or names.get(code) or code for code in codes}


def _day_title(day: DayCount) -> str:
    return _("%(day)s: %(signed)s signed, %(counted)s counted", day=format_date(day.day, "long"),
             signed=_number(day.signed), counted=_number(day.confirmed))  # fmt: skip


@bp.get("/<slug>/dashboard")
@organizer_required
def dashboard(slug: str) -> str:
    """Figures and charts for one campaign, each chart followed by a table of its numbers."""
    campaign = _managed_or_403(slug)
    summary = summarize(db.session, campaign)
    top = top_countries(summary.countries)
    labels = country_labels([row.country for row in top], str(get_locale() or "en"))
    countries = [(labels[row.country], row.count) for row in top]
    daily_svg = daily_chart(
        summary.per_day, chart_id="chart-days", title=_("Signatures per day"),
        description=_("Signatures made each day (UTC), from the first to the last; the lower "
                      "part of each bar counts, the upper part does not count (yet)."),
        counted_label=_("counted"), uncounted_label=_("not counted (yet)"),
        axis_label=_("Day (UTC)"), day_label=lambda day: format_date(day, "d MMM"),
        day_title=_day_title, number=_number,
    )  # fmt: skip
    countries_svg = country_chart(
        countries, chart_id="chart-countries", title=_("Counted signatures by country"),
        description=_("The countries with the most counted signatures, most first."),
        number=_number,
    )  # fmt: skip
    return render_template(
        "campaigns/admin/dashboard.html", campaign=campaign, summary=summary,
        countries=countries, daily_svg=daily_svg, countries_svg=countries_svg, formats=FORMATS,
        number=_number, percent=format_percent, format_date=format_date,
    )  # fmt: skip
