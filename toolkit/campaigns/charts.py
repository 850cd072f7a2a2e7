"""Charts for the campaign dashboard as SVG, drawn on the server: no JavaScript, no library.

Each function takes plain numbers and already translated words and returns markup-safe SVG in
which every word is escaped. The SVG scales with its ``viewBox``; it is sized so its text stays
readable at the full width of a phone. Screen readers get its title and description, and the
page puts a table with the same numbers after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date

from markupsafe import Markup, escape

from toolkit.campaigns.stats import DayCount

# Colors on white, each at least 3:1 against the white around it (WCAG 1.4.11): the ink 17:1,
# the counted blue 8.4:1, the orange for signatures not counted (yet) 4.3:1. Stacked segments
# are kept apart by a white gap, and the legend and the tables name them.
INK = "#1a1a1a"
MUTED = "#555555"
GRID = "#d8dce2"
COUNTED_COLOR = "#1d4e89"
UNCOUNTED_COLOR = "#c05f00"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
FONT_SIZE = 13
WIDTH = 360  # viewBox units: about a phone's width in CSS pixels, so 13 units stay ~12px
LABEL_CHARS = 18  # country names longer than this are shortened in the chart (not the table)


def _e(value: object) -> str:
    """Escaped text for SVG content or an attribute value."""
    return str(escape(str(value)))


def _n(value: float) -> str:
    """A coordinate, short: 12.5 rather than 12.500000001."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_scale(largest: int, ticks: int = 4) -> tuple[int, int]:
    """The top of the value axis and the step between gridlines (1, 2 or 5 times a power of 10)."""
    if largest <= 0:
        return 1, 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    return math.ceil(largest / step) * step, step


def tick_indexes(count: int, most: int = 4) -> list[int]:
    """Which of ``count`` bars get a label under them: the first, the last, evenly between."""
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def _shorten(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1].rstrip() + "…"


def _open_svg(chart_id: str, height: float, title: str, description: str) -> list[str]:
    cid = _e(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'width="100%" role="img" aria-labelledby="{cid}-title" aria-describedby="{cid}-desc" '
        f'font-family="{_e(FONT)}" font-size="{FONT_SIZE}" fill="{INK}" class="chart">',
        f'<title id="{cid}-title">{_e(title)}</title>',
        f'<desc id="{cid}-desc">{_e(description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{_n(height)}" fill="#ffffff"/>',
    ]


def daily_chart(
    days: Sequence[DayCount], *, chart_id: str, title: str, description: str,
    counted_label: str, uncounted_label: str, axis_label: str,
    day_label: Callable[[date], str] = date.isoformat,
    day_title: Callable[[DayCount], str] | None = None,
    number: Callable[[int], str] = str,
) -> Markup:  # fmt: skip
    """Signatures per day as stacked vertical bars: counted below, not counted (yet) above.

    One ``<g class="day">`` per day, each with its two bars and a tooltip; a few days are
    labelled under the axis. ``day_label`` writes a date under the axis, ``day_title`` a day's
    tooltip and ``number`` a count, each in the reader's language.
    """
    height, top, bottom = 250.0, 40.0, 46.0
    largest = max((d.signed for d in days), default=0)
    scale_top, step = nice_scale(largest)
    left = 10.0 + 7.5 * len(number(scale_top))
    right = WIDTH - 10.0
    plot_h = height - top - bottom
    base = top + plot_h
    parts = _open_svg(chart_id, height, title, description)
    # Legend, above the plot.
    parts.append('<g class="legend" aria-hidden="true">')
    parts.append(f'<rect x="{_n(left)}" y="8" width="12" height="12" fill="{COUNTED_COLOR}"/>')
    parts.append(f'<text x="{_n(left + 17)}" y="18.5">{_e(counted_label)}</text>')
    middle = left + (right - left) / 2
    parts.append(f'<rect x="{_n(middle)}" y="8" width="12" height="12" '
                 f'fill="{UNCOUNTED_COLOR}"/>')  # fmt: skip
    parts.append(f'<text x="{_n(middle + 17)}" y="18.5">{_e(uncounted_label)}</text></g>')
    # Value axis: gridlines and their numbers.
    parts.append(f'<g class="y-axis" fill="{MUTED}" text-anchor="end">')
    for value in range(0, scale_top + 1, step):
        y = base - value / scale_top * plot_h
        parts.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(y)}" y2="{_n(y)}" '
                     f'stroke="{GRID if value else INK}" stroke-width="1"/>')  # fmt: skip
        parts.append(f'<text x="{_n(left - 5)}" y="{_n(y + 4.5)}">{_e(number(value))}</text>')
    parts.append("</g>")
    # The bars.
    slot = (right - left) / max(len(days), 1)
    gap = slot * 0.2 if slot >= 4 else 0.0
    parts.append('<g class="bars">')
    for index, day in enumerate(days):
        x = left + index * slot + gap / 2
        counted_h = day.confirmed / scale_top * plot_h
        other_h = max(day.signed - day.confirmed, 0) / scale_top * plot_h
        separator = 1.0 if counted_h and other_h else 0.0
        tooltip = day_title(day) if day_title else f"{day.day.isoformat()}: {day.signed}"
        parts.append(
            f'<g class="day"><title>{_e(tooltip)}</title>'
            f'<rect class="bar-counted" x="{_n(x)}" y="{_n(base - counted_h)}" '
            f'width="{_n(slot - gap)}" height="{_n(counted_h)}" fill="{COUNTED_COLOR}"/>'
            f'<rect class="bar-uncounted" x="{_n(x)}" '
            f'y="{_n(base - counted_h - other_h)}" width="{_n(slot - gap)}" '
            f'height="{_n(max(other_h - separator, 0))}" fill="{UNCOUNTED_COLOR}"/></g>'
        )
    parts.append("</g>")
    # Day axis: a few dates, then the axis' name.
    parts.append(f'<g class="x-axis" fill="{MUTED}">')
    ticks = tick_indexes(len(days))
    for index in ticks:
        center = left + (index + 0.5) * slot
        if len(ticks) > 1 and index == ticks[0]:
            anchor, x = "start", left + index * slot
        elif len(ticks) > 1 and index == ticks[-1]:
            anchor, x = "end", left + (index + 1) * slot
        else:
            anchor, x = "middle", center
        parts.append(f'<line x1="{_n(center)}" x2="{_n(center)}" y1="{_n(base)}" '
                     f'y2="{_n(base + 4)}" stroke="{INK}"/>')  # fmt: skip
        parts.append(f'<text class="tick" x="{_n(x)}" y="{_n(base + 18)}" '
                     f'text-anchor="{anchor}">{_e(day_label(days[index].day))}</text>')  # fmt: skip
    parts.append(f'<text class="axis-label" x="{_n((left + right) / 2)}" y="{_n(height - 6)}" '
                 f'text-anchor="middle" fill="{INK}">{_e(axis_label)}</text></g>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


def country_chart(
    rows: Sequence[tuple[str, int]], *, chart_id: str, title: str, description: str,
    number: Callable[[int], str] = str,
) -> Markup:  # fmt: skip
    """Counted signatures by country as horizontal bars, largest first as given.

    ``rows`` are (label, count) pairs, already cut to the top countries plus "other". Long
    labels are shortened in the chart; the tooltip and the table keep them whole.
    """
    row_h, top, bottom = 24.0, 8.0, 8.0
    height = top + row_h * max(len(rows), 1) + bottom
    label_w = 8.0 + 7.0 * LABEL_CHARS
    largest = max((count for _, count in rows), default=0) or 1
    value_w = 10.0 + 7.5 * len(number(largest))
    bar_left, bar_right = label_w + 6, WIDTH - value_w
    parts = _open_svg(chart_id, height, title, description)
    parts.append(f'<line x1="{_n(bar_left)}" x2="{_n(bar_left)}" y1="{_n(top)}" '
                 f'y2="{_n(height - bottom)}" stroke="{INK}"/>')  # fmt: skip
    parts.append('<g class="bars">')
    for index, (label, count) in enumerate(rows):
        y = top + index * row_h
        width = count / largest * (bar_right - bar_left)
        text_y = y + row_h / 2 + 4.5
        parts.append(
            f'<g class="country"><title>{_e(label)}: {_e(number(count))}</title>'
            f'<text x="{_n(label_w)}" y="{_n(text_y)}" text-anchor="end">'
            f"{_e(_shorten(label))}</text>"
            f'<rect class="bar" x="{_n(bar_left)}" y="{_n(y + 4)}" width="{_n(width)}" '
            f'height="{_n(row_h - 8)}" fill="{COUNTED_COLOR}"/>'
            f'<text x="{_n(bar_left + width + 4)}" y="{_n(text_y)}">{_e(number(count))}</text>'
            "</g>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))
