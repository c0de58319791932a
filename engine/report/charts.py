"""Charts as inline SVG, drawn in Python so a page needs no script or
network to show them.

Figures arrive as Decimals with their text already formatted; floats
are used only for pixel positions. Every mark carries the exact figure
it stands for in a ``data-value`` attribute, so a page can be checked
against the data it was made from. Marks are ``rect.bar`` for bars and
columns and ``circle.point`` for points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

_LABEL_CHARS = 40


@dataclass(frozen=True)
class Bar:
    """One bar or column: what it is, its value and how it reads."""

    label: str
    value: Decimal
    shown: str
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """One row of a range chart: a low-middle-high range of a ratio,
    with an optional bar of what is already done, and a reference at 1
    (the quota)."""

    label: str
    low: Decimal
    middle: Decimal
    high: Decimal
    done: Decimal | None
    shown: str
    data: Mapping[str, str] = field(default_factory=dict)
    emphasis: bool = False


@dataclass(frozen=True)
class Point:
    """One point of a line chart; a missing value leaves a gap."""

    label: str
    value: Decimal | None
    shown: str
    data: Mapping[str, str] = field(default_factory=dict)


def attrs(data: Mapping[str, str]) -> str:
    """HTML attributes, escaped, each with a leading space."""
    return "".join(
        f' {escape(name)}="{escape(str(value))}"'
        for name, value in data.items()
    )


def _px(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _short(label: str) -> str:
    if len(label) <= _LABEL_CHARS:
        return label
    return label[: _LABEL_CHARS - 1] + "…"


def _svg(name: str, title: str, width: int, height: int, body: list[str]):
    head = (
        f'<svg class="chart" data-chart="{escape(name)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" '
        f'aria-label="{escape(title)}">'
    )
    return "\n".join([head, f"<title>{escape(title)}</title>", *body, "</svg>"])


# -- columns: a histogram -----------------------------------------------------


def column_chart(name: str, title: str, columns: Sequence[Bar]) -> str:
    """Vertical columns from zero, each labelled below and valued above.

    Meant for counts (a histogram); negative values draw as empty.
    """
    width, height = 1000, 230
    top, bottom, left = 24, 34, 12
    plot_h = height - top - bottom
    slot = (width - 2 * left) / max(len(columns), 1)
    tallest = max((c.value for c in columns), default=Decimal(0))
    scale = plot_h / float(tallest) if tallest > 0 else 0.0

    body = [_hline(left, width - left, top + plot_h, "axis")]
    for i, column in enumerate(columns):
        x = left + i * slot + slot * 0.12
        w = slot * 0.76
        h = max(float(column.value), 0.0) * scale
        y = top + plot_h - h
        body.append(
            f'<rect class="bar"{attrs(column.data)} x="{_px(x)}" '
            f'y="{_px(y)}" width="{_px(w)}" height="{_px(h)}" rx="2">'
            f"<title>{escape(column.label)}: {escape(column.shown)}</title>"
            "</rect>"
        )
        middle = x + w / 2
        body.append(_text(middle, y - 6, column.shown, "value", "middle"))
        body.append(
            _text(middle, top + plot_h + 18, column.label, "label", "middle")
        )
    return _svg(name, title, width, height, body)


# -- horizontal bars, negative values to the left -----------------------------


def bar_chart(name: str, title: str, bars: Sequence[Bar]) -> str:
    """Horizontal bars from a zero line, labelled on the left and valued
    at their end; negative values (a clawback) go to the left in another
    colour."""
    row, label_w, value_w, width = 30, 290, 130, 1000
    height = max(len(bars), 1) * row + 16
    low = min([Decimal(0), *(b.value for b in bars)])
    high = max([Decimal(0), *(b.value for b in bars)])
    plot_w = width - label_w - value_w
    span = float(high - low) or 1.0
    zero = label_w + plot_w * float(-low) / span

    body = []
    for i, bar in enumerate(bars):
        y = 8 + i * row
        end = label_w + plot_w * float(bar.value - low) / span
        x, w = min(zero, end), abs(end - zero)
        kind = "bar negative" if bar.value < 0 else "bar"
        body.append(
            f'<rect class="{kind}"{attrs(bar.data)} x="{_px(x)}" '
            f'y="{_px(y + 4)}" width="{_px(w)}" height="{row - 10}" rx="2">'
            f"<title>{escape(bar.label)}: {escape(bar.shown)}</title></rect>"
        )
        body.append(
            _text(label_w - 8, y + row / 2 + 1, _short(bar.label), "label",
                  "end", full=bar.label)
        )
        body.append(
            _text(max(zero, end) + 6, y + row / 2 + 1, bar.shown, "value",
                  "start", data=bar.data)
        )
    body.append(_vline(zero, 4, height - 4, "axis"))
    return _svg(name, title, width, height, body)


# -- ranges against a reference -----------------------------------------------


def range_chart(name: str, title: str, spans: Sequence[Span]) -> str:
    """One row per span: a bar of what is done, a line from low to high
    and a dot at the middle, on a scale where the dashed line is 1."""
    row, label_w, text_w, width = 26, 250, 260, 1000
    head = 22
    height = head + max(len(spans), 1) * row + 8
    plot_w = width - label_w - text_w
    reach = max([Decimal("1.5"), *(s.high for s in spans)])
    reach = max(reach, *(s.done or Decimal(0) for s in spans), Decimal(0))
    scale = plot_w / float(reach * Decimal("1.05"))

    def x_of(value: Decimal | int) -> float:
        return label_w + max(float(value), 0.0) * scale

    body = _range_axis(x_of, reach, head, height)
    for i, span in enumerate(spans):
        body += _range_row(span, head + i * row, row, x_of, label_w,
                           width - text_w + 8)
    return _svg(name, title, width, height, body)


def _range_axis(x_of, reach: Decimal, head: int, height: int) -> list[str]:
    out = []
    tick = Decimal(0)
    while tick <= reach:
        x = x_of(tick)
        kind = "reference" if tick == 1 else "grid"
        out.append(_vline(x, head - 4, height - 6, kind))
        label = "quota" if tick == 1 else f"{int(tick * 100)} %"
        out.append(_text(x, head - 8, label, "tick", "middle"))
        tick += Decimal("0.5")
    return out


def _range_row(span: Span, y: float, row: int, x_of, label_x: int,
               text_x: float) -> list[str]:
    middle_y = y + row / 2
    group = "range emphasis" if span.emphasis else "range"
    out = [f'<g class="{group}"{attrs(span.data)}>']
    out.append(
        f"<title>{escape(span.label)}: {escape(span.shown)}</title>"
    )
    if span.done is not None:
        out.append(
            f'<rect class="done" x="{_px(x_of(0))}" '
            f'y="{_px(y + 6)}" width="{_px(x_of(span.done) - x_of(0))}" '
            f'height="{row - 12}" rx="2"></rect>'
        )
    out.append(
        f'<line class="span" x1="{_px(x_of(span.low))}" '
        f'y1="{_px(middle_y)}" x2="{_px(x_of(span.high))}" '
        f'y2="{_px(middle_y)}"></line>'
    )
    out.append(
        f'<circle class="point" cx="{_px(x_of(span.middle))}" '
        f'cy="{_px(middle_y)}" r="4.5"></circle>'
    )
    out.append(_text(label_x - 8, middle_y + 4, _short(span.label), "label",
                     "end", full=span.label))
    out.append(_text(text_x, middle_y + 4, span.shown, "value", "start"))
    out.append("</g>")
    return out


# -- small line charts --------------------------------------------------------


def line_chart(name: str, title: str, points: Sequence[Point]) -> str:
    """A small line over periods; a missing value breaks the line and
    shows a dash. The values themselves belong in a table beside it:
    a small chart has no room to print them legibly."""
    width, height = 260, 96
    top, bottom, side = 12, 22, 22
    plot_h = height - top - bottom
    step = (width - 2 * side) / max(len(points) - 1, 1)
    known = [p.value for p in points if p.value is not None]
    low = min([Decimal(0), *known])
    high = max([Decimal(0), *known])
    span = float(high - low) or 1.0

    def y_of(value: Decimal) -> float:
        return top + plot_h - plot_h * float(value - low) / span

    body = [_hline(side / 2, width - side / 2, y_of(Decimal(0)), "axis")]
    body += _polylines(points, side, step, y_of)
    for i, point in enumerate(points):
        x = side + i * step if len(points) > 1 else width / 2
        body.append(_text(x, height - 8, point.label, "tick", "middle"))
        if point.value is None:
            body.append(_text(x, top + plot_h / 2, point.shown, "value",
                              "middle"))
            continue
        y = y_of(point.value)
        body.append(
            f'<circle class="point"{attrs(point.data)} cx="{_px(x)}" '
            f'cy="{_px(y)}" r="3.5"><title>{escape(point.label)}: '
            f"{escape(point.shown)}</title></circle>"
        )
    return _svg(name, title, width, height, body)


def _polylines(points: Sequence[Point], side: float, step: float, y_of):
    """One polyline per run of consecutive known values."""
    runs: list[list[str]] = [[]]
    for i, point in enumerate(points):
        if point.value is None:
            runs.append([])
            continue
        runs[-1].append(f"{_px(side + i * step)},{_px(y_of(point.value))}")
    return [
        f'<polyline class="trend" points="{" ".join(run)}"></polyline>'
        for run in runs
        if len(run) > 1
    ]


# -- primitives ---------------------------------------------------------------


def _text(x: float, y: float, text: str, kind: str, anchor: str, *,
          full: str | None = None, data: Mapping[str, str] | None = None):
    hint = f"<title>{escape(full)}</title>" if full and full != text else ""
    return (
        f'<text class="{kind}"{attrs(data or {})} x="{_px(x)}" y="{_px(y)}" '
        f'text-anchor="{anchor}">{hint}{escape(text)}</text>'
    )


def _hline(x1: float, x2: float, y: float, kind: str) -> str:
    return (
        f'<line class="{kind}" x1="{_px(x1)}" y1="{_px(y)}" '
        f'x2="{_px(x2)}" y2="{_px(y)}"></line>'
    )


def _vline(x: float, y1: float, y2: float, kind: str) -> str:
    return (
        f'<line class="{kind}" x1="{_px(x)}" y1="{_px(y1)}" '
        f'x2="{_px(x)}" y2="{_px(y2)}"></line>'
    )
