"""Server-rendered SVG bar charts: geometry computed here, drawn by templates/reports/_chart.html.

No JavaScript and no style attributes (the CSP forbids inline styles): bars are positioned with
SVG attributes and coloured by classes in static/css/portal.css. Each chart comes with the
table of its numbers, so nothing is only in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 720
LABEL_WIDTH = 260
VALUE_WIDTH = 90
ROW = 26
BAR = 18


@dataclass
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float
    text_y: int


@dataclass
class Chart:
    id: str
    title: str
    value_label: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    bar_x: int = LABEL_WIDTH + 8
    value_x: int = 0
    track_width: float = 0
    width: int = WIDTH


def _shorten(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(chart_id: str, title: str, value_label: str, items, *, share: bool = False) -> Chart:
    """items: (label, value) pairs; a share is drawn against 100 %, a count against the largest."""
    items = [(label, value) for label, value in items]
    top = 1.0 if share else max([value or 0 for _label, value in items] or [0]) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 16
    bars = []
    for index, (label, value) in enumerate(items):
        if value is None:
            text = "–"
        elif share:
            text = f"{value * 100:.1f} %"
        else:
            text = f"{value:,}"
        y = 8 + index * ROW
        bars.append(
            Bar(
                label=_shorten(str(label)),
                value=value or 0,
                text=text,
                y=y,
                width=round(span * (value or 0) / top, 1),
                text_y=y + BAR - 4,
            )
        )
    chart = Chart(id=chart_id, title=title, value_label=value_label, bars=bars, height=16 + len(bars) * ROW)
    chart.value_x = chart.bar_x + span + 8
    chart.track_width = span
    return chart
