"""The dashboard a sales manager opens, as one self-contained HTML page.

Everything shown comes from the report data (see
:mod:`engine.insights.report_data`): figures are formatted from its
exact decimal strings, and each element that shows one carries that
string in a ``data-value`` attribute. Totals and medians computed here
are exact Decimal arithmetic on those strings.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import quote

from . import figures
from .charts import Bar, Point, Span, attrs, bar_chart, column_chart
from .charts import line_chart, range_chart
from .page import SORT_SCRIPT, page
from .statement import render_statement

log = logging.getLogger(__name__)

Data = Mapping[str, Any]

# Attainment bands of the distribution: each includes its lower edge.
ATTAINMENT_EDGES = (
    Decimal("0.5"), Decimal("0.75"), Decimal("1"), Decimal("1.25"),
    Decimal("1.5"),
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_NUM = ' class="num"'


def render_report(data: Data) -> dict[str, str]:
    """Every page of a report, by its path relative to the report folder:
    ``index.html`` and ``statements/<payee>.html``."""
    pages = {"index.html": render_dashboard(data)}
    for statement in _rows(data, "statements"):
        name = statement_filename(str(statement.get("payee_id", "")))
        pages[f"statements/{name}"] = render_statement(data, statement)
    log.debug("Rendered %d report pages.", len(pages))
    return pages


def statement_filename(payee_id: str) -> str:
    """The file name of a payee's statement: the payee id itself when it
    is safe in a file name, else a safe form with a short hash so that
    two ids never share a file.

    >>> statement_filename("AE-001"), statement_filename("a/b")
    ('AE-001.html', 'a_b-c14cddc0.html')
    """
    safe = _SAFE_NAME.sub("_", payee_id)
    if safe != payee_id or not safe or safe.startswith("."):
        digest = hashlib.sha256(payee_id.encode()).hexdigest()[:8]
        safe = f"{safe.lstrip('.') or 'payee'}-{digest}"
    return f"{safe}.html"


def render_dashboard(data: Data) -> str:
    """The dashboard: headline figures, charts, leaderboard and
    coaching flags."""
    linked = {str(s.get("payee_id")) for s in _rows(data, "statements")}
    body = [
        *_header(data),
        *_headlines(data),
        *_attainment_section(data),
        *_payout_section(data),
        *_forecast_section(data),
        *_kpi_section(data),
        *_leaderboard_section(data, linked),
        *_coaching_section(data, linked),
        _footer(),
    ]
    title = f"{data.get('project', 'Attain')}: sales performance"
    return page(title, body, script=SORT_SCRIPT)


# -- header and headline figures ----------------------------------------------


def _header(data: Data) -> list[str]:
    asked = data.get("generated_for") or {}
    periods = ", ".join(str(p) for p in data.get("periods") or []) or "none"
    return [
        '<header class="page">',
        f"<h1>{escape(str(data.get('project', '')))}</h1>",
        '<p class="meta">Sales performance for '
        f'<span data-field="periods">{escape(periods)}</span>, as of '
        f'<span data-field="as-of">{escape(str(asked.get("as_of", "")))}'
        f"</span>. Amounts in {escape(_currency(data))}.</p>",
        "</header>",
    ]


def _headlines(data: Data) -> list[str]:
    total = sum(
        (figures.decimal(r.get("amount")) or Decimal(0)
         for r in _rows(data, "payout_by_component")),
        Decimal(0),
    )
    ratios = [
        value for r in _rows(data, "leaderboard")
        if (value := figures.decimal(r.get("attainment"))) is not None
    ]
    middle = figures.median(ratios)
    below = sorted({
        str(r.get("id")) for r in _forecast_rows(data, "payee")
        if r.get("below_threshold")
    })
    cards = [
        _card("total-payout", "Total payout", _exact(total),
              figures.money(total), _currency(data)),
        _card("median-attainment", "Median attainment", _exact(middle),
              figures.percent(middle),
              f"over {len(ratios)} payees with a quota"),
        _card("below-threshold", "Projected below threshold",
              str(len(below)), str(len(below)), "payees, by the forecast p50"),
        _forecast_card(data),
    ]
    return ['<section id="headlines" class="cards">', *cards, "</section>"]


def _forecast_card(data: Data) -> str:
    teams = [r for r in _forecast_rows(data, "team") if _has_range(r)]
    if not teams:
        return _card("forecast-p50", "Forecast p50 attainment", "",
                     figures.DASH, "no team forecast against a quota")
    top = max(teams, key=lambda r: figures.decimal(r.get("quota")) or 0)
    attainment = top.get("attainment") or {}
    payout = top.get("payout") or {}
    detail = (
        f"{top.get('name', '')}, {top.get('period', '')}: range "
        f"{figures.percent(attainment.get('p10'))} to "
        f"{figures.percent(attainment.get('p90'))}; payout p50 "
        f"{figures.money(payout.get('p50'))}"
    )
    return _card("forecast-p50", "Forecast p50 attainment",
                 str(attainment.get("p50", "")),
                 figures.percent(attainment.get("p50")), detail)


def _card(key: str, label: str, exact: str, shown: str, detail: str) -> str:
    return (
        f'<div class="card" data-figure="{escape(key)}">'
        f'<div class="label">{escape(label)}</div>'
        f'<div class="figure" data-value="{escape(exact)}">'
        f"{escape(shown)}</div>"
        f'<div class="detail">{escape(detail)}</div></div>'
    )


# -- charts -------------------------------------------------------------------


def _attainment_section(data: Data) -> list[str]:
    rows = _rows(data, "attainment")
    values = [
        value for r in rows
        if (value := figures.decimal(r.get("attainment"))) is not None
    ]
    counts = attainment_histogram(values)
    columns = [
        Bar(label, Decimal(n), str(n), {"data-bin": label, "data-count": str(n)})
        for label, n in counts
    ]
    return [
        '<section id="attainment">',
        "<h2>Attainment distribution</h2>",
        f'<p class="note">{len(values)} payee-periods with a quota; each '
        "band includes its lower edge.</p>",
        _wide(column_chart("attainment-distribution",
                           "Attainment distribution", columns)),
        "</section>",
    ]


def attainment_histogram(values: Sequence[Decimal]) -> list[tuple[str, int]]:
    """How many attainments fall in each band of ATTAINMENT_EDGES.

    >>> attainment_histogram([Decimal("0.5"), Decimal("1.7"), Decimal("-1")])
    [('< 50 %', 1), ('50-75 %', 1), ('75-100 %', 0), ('100-125 %', 0), \
('125-150 %', 0), ('≥ 150 %', 1)]
    """
    edges = list(ATTAINMENT_EDGES)
    labels = [f"< {edges[0] * 100:.0f} %"]
    labels += [
        f"{low * 100:.0f}-{high * 100:.0f} %"
        for low, high in zip(edges, edges[1:])
    ]
    labels.append(f"≥ {edges[-1] * 100:.0f} %")
    counts = [0] * len(labels)
    for value in values:
        counts[sum(1 for edge in edges if value >= edge)] += 1
    return list(zip(labels, counts))


def _payout_section(data: Data) -> list[str]:
    rows = _rows(data, "payout_by_component")
    bars = [
        Bar(
            f"{r.get('component_name') or r.get('component')} "
            f"({r.get('plan_id')})",
            figures.decimal(r.get("amount")) or Decimal(0),
            figures.money(r.get("amount")),
            {
                "data-plan": str(r.get("plan_id", "")),
                "data-component": str(r.get("component", "")),
                "data-value": str(r.get("amount", "")),
            },
        )
        for r in rows
    ]
    periods = ", ".join(str(p) for p in data.get("periods") or [])
    return [
        '<section id="payout-by-component">',
        "<h2>Payout by component</h2>",
        f'<p class="note">Totals over {escape(periods)}, in '
        f"{escape(_currency(data))}.</p>",
        _wide(bar_chart("payout-by-component", "Payout by component", bars))
        if bars else _empty("No payout in these periods."),
        "</section>",
    ]


def _forecast_section(data: Data) -> list[str]:
    teams = _forecast_rows(data, "team")
    # Most at risk first; payees without a quota have no attainment and
    # come last.
    payees = sorted(
        _forecast_rows(data, "payee"),
        key=lambda r: (not _has_range(r), figures.decimal(
            (r.get("attainment") or {}).get("p50")) or Decimal(0)),
    )
    rows = teams + payees
    if not rows:
        return _section("forecast", "Forecast against quota",
                        [_empty("No forecast in the report data.")])
    # A row without a quota has no attainment to draw; the table has it.
    spans = [_span(r) for r in rows if _has_range(r)]
    chart = _wide(range_chart("forecast", "Forecast attainment against quota",
                              spans)) if spans else ""
    periods = sorted({str(r.get("period", "")) for r in rows})
    note = (
        f'<p class="note">Projected end of {escape(", ".join(periods))}. '
        "Each row: the bar is what has closed, the line the p10 to p90 "
        "range of projected attainment, the dot the p50; the dashed line "
        "is quota. Payees most at risk come first.</p>"
    )
    return _section("forecast", "Forecast against quota",
                    [note, chart, *_forecast_table(rows), *_overdue(payees)])


def _has_range(row: Data) -> bool:
    attainment = row.get("attainment")
    return isinstance(attainment, Mapping) and all(
        figures.decimal(attainment.get(k)) is not None
        for k in ("p10", "p50", "p90")
    )


def _span(row: Data) -> Span:
    attainment = row.get("attainment") or {}
    quota = figures.decimal(row.get("quota"))
    closed = figures.decimal(row.get("closed"))
    done = closed / quota if quota and closed is not None else None
    low, middle, high = (
        figures.decimal(attainment.get(key)) or Decimal(0)
        for key in ("p10", "p50", "p90")
    )
    shown = (
        f"p50 {figures.percent(middle)} "
        f"({figures.percent(low)} to {figures.percent(high)})"
    )
    label = str(row.get("name") or row.get("id"))
    if row.get("scope") == "team":
        label = f"Team {label}"
    return Span(label, low, middle, high, done, shown, {
        "data-id": str(row.get("id", "")),
        "data-scope": str(row.get("scope", "")),
        "data-period": str(row.get("period", "")),
        **{f"data-{k}": str(attainment.get(k, "")) for k in
           ("p10", "p50", "p90")},
    }, emphasis=row.get("scope") == "team")


_FORECAST_COLUMNS = (
    ("quota", "Quota", None),
    ("closed", "Closed", None),
    ("attainment-p10", "Attainment p10", ("attainment", "p10")),
    ("attainment-p50", "p50", ("attainment", "p50")),
    ("attainment-p90", "p90", ("attainment", "p90")),
    ("payout-p10", "Payout p10", ("payout", "p10")),
    ("payout-p50", "p50", ("payout", "p50")),
    ("payout-p90", "p90", ("payout", "p90")),
)


def _forecast_table(rows: Sequence[Data]) -> list[str]:
    several = len({str(r.get("period")) for r in rows}) > 1
    heads = "".join(
        f'<th class="num">{escape(label)}</th>'
        for _, label, _ in _FORECAST_COLUMNS
    )
    period = "<th>Period</th>" if several else ""
    out = [
        '<div class="scroll"><table id="forecast-table">',
        f"<thead><tr><th>Name</th>{period}{heads}"
        '<th class="num">Overdue deals</th></tr></thead><tbody>',
    ]
    for row in rows:
        out.append(_forecast_row(row, several))
    out.append("</tbody></table></div>")
    return out


def _forecast_row(row: Data, with_period: bool) -> str:
    cells = []
    for key, _, where in _FORECAST_COLUMNS:
        if where is None:
            exact = row.get(key)
            shown = figures.money(exact)
        else:
            exact = (row.get(where[0]) or {}).get(where[1])
            show = figures.percent if where[0] == "attainment" else figures.money
            shown = show(exact)
        cells.append(_cell(key, exact, shown))
    overdue = [str(d) for d in row.get("overdue_deals") or []]
    name = escape(str(row.get("name") or row.get("id")))
    if row.get("scope") == "team":
        name = f"<strong>Team {name}</strong>"
    badge = (
        '<span class="badge">below threshold</span>'
        if row.get("below_threshold") else ""
    )
    risk = ' class="at-risk"' if row.get("below_threshold") else ""
    return (
        f'<tr{risk} data-id="{escape(str(row.get("id", "")))}" '
        f'data-scope="{escape(str(row.get("scope", "")))}">'
        f"<td>{name}{badge}</td>"
        + (f"<td>{escape(str(row.get('period', '')))}</td>"
           if with_period else "")
        + "".join(cells)
        + _cell("overdue", len(overdue), str(len(overdue)))
        + "</tr>"
    )


def _kpi_section(data: Data) -> list[str]:
    rows = _rows(data, "kpi_trends")
    names = [k for k in (rows[0] if rows else {}) if k != "period"]
    if not names:
        return _section("kpi-trends", "KPI trends by period",
                        [_empty("No KPI in the report data.")])
    charts = ['<div class="kpis">']
    for name in names:
        charts += _kpi_figure(name, rows)
    charts.append("</div>")
    note = '<p class="note">Company level; a dash marks a period where ' \
        "the KPI is not defined.</p>"
    return _section("kpi-trends", "KPI trends by period", [note, *charts])


def _kpi_figure(name: str, rows: Sequence[Data]) -> list[str]:
    """A KPI's line over the periods, and its value in each period."""
    points = [
        Point(_period_tick(str(r.get("period", ""))),
              figures.decimal(r.get(name)), figures.kpi(name, r.get(name)),
              {"data-period": str(r.get("period", ""))})
        for r in rows
    ]
    values = [
        f'<tr><th>{escape(str(r.get("period", "")))}</th>'
        f'<td class="num" data-kpi="{escape(name)}" '
        f'data-period="{escape(str(r.get("period", "")))}" '
        f'data-value="{escape(_raw(r.get(name)))}">'
        f"{escape(figures.kpi(name, r.get(name)))}</td></tr>"
        for r in rows
    ]
    label = figures.kpi_label(name)
    return [
        f'<figure data-kpi="{escape(name)}">',
        f"<figcaption>{escape(label)}</figcaption>",
        line_chart(f"kpi-{name}", f"{label} by period", points),
        f'<table class="mini">{"".join(values)}</table>',
        "</figure>",
    ]


def _period_tick(label: str) -> str:
    """The short form of a period for an axis: FY2026-Q1 reads Q1."""
    return label.rsplit("-", 1)[-1] if "-" in label else label


# -- leaderboard and coaching -------------------------------------------------


def _leaderboard_section(data: Data, linked: set[str]) -> list[str]:
    rows = _rows(data, "leaderboard")
    if not rows:
        return _section("leaderboard", "Leaderboard",
                        [_empty("No payee with a quota.")])
    heads = (
        ("rank", "Rank", True), ("name", "Payee", False),
        ("role", "Role", False), ("bookings", "Bookings", True),
        ("quota", "Quota", True), ("attainment", "Attainment", True),
        ("payout", "Payout", True),
    )
    head = "".join(
        f"<th data-sort{_NUM if num else ''}>"
        f'<button type="button">{escape(label)}</button></th>'
        for _, label, num in heads
    )
    out = [
        '<div class="scroll"><table id="leaderboard" class="sortable">',
        f"<thead><tr>{head}</tr></thead><tbody>",
        *(_leader_row(r, linked) for r in rows),
        "</tbody></table></div>",
    ]
    note = '<p class="note">Over the periods shown; click a heading to ' \
        "sort. A name links to the payee's statement.</p>"
    return _section("leaderboard", "Leaderboard", [note, *out])


def _leader_row(row: Data, linked: set[str]) -> str:
    payee = str(row.get("payee_id", ""))
    attainment = figures.decimal(row.get("attainment"))
    meter = ""
    if attainment is not None:
        width = max(min(attainment, Decimal(1)), Decimal(0)) * 100
        over = ' class="over"' if attainment >= 1 else ""
        meter = (
            f'<span class="meter" aria-hidden="true"><span{over} '
            f'style="width: {width:.0f}%"></span></span>'
        )
    cells = [
        _cell("rank", row.get("rank"), str(row.get("rank", ""))),
        f'<td data-col="name" data-value="{escape(str(row.get("name", "")))}"'
        f">{_payee_link(payee, str(row.get('name', payee)), linked)}</td>",
        f'<td data-col="role">{escape(str(row.get("role", "")))}</td>',
        _cell("bookings", row.get("bookings"),
              figures.money(row.get("bookings"))),
        _cell("quota", row.get("quota"), figures.money(row.get("quota"))),
        _cell("attainment", row.get("attainment"),
              figures.percent(row.get("attainment")), extra=meter),
        _cell("payout", row.get("payout"), figures.money(row.get("payout"))),
    ]
    return f'<tr data-payee="{escape(payee)}">{"".join(cells)}</tr>'


def _coaching_section(data: Data, linked: set[str]) -> list[str]:
    flags = _rows(data, "coaching")
    if not flags:
        return _section("coaching", "Coaching flags",
                        [_empty("No coaching flag fired.")])
    items = ['<ul class="flags">', *(_flag(f, linked) for f in flags), "</ul>"]
    note = '<p class="note">Each flag shows the payee\'s figures against ' \
        "the team's and where to focus.</p>"
    return _section("coaching", "Coaching flags", [note, *items])


def _flag(flag: Data, linked: set[str]) -> str:
    payee = str(flag.get("payee_id", ""))
    evidence = []
    for kpi, pair in (flag.get("evidence") or {}).items():
        pair = pair if isinstance(pair, Mapping) else {}
        mine, team = pair.get("payee"), pair.get("team")
        evidence.append(
            f'<li data-kpi="{escape(str(kpi))}" '
            f'data-payee-value="{escape(str(mine))}" '
            f'data-team-value="{escape(str(team))}">'
            f"{escape(figures.kpi_label(str(kpi)))} "
            f'<strong class="mine">{escape(figures.kpi(kpi, mine))}</strong>'
            f' vs team <span class="team">{escape(figures.kpi(kpi, team))}'
            "</span></li>"
        )
    return (
        f'<li class="flag" data-payee="{escape(payee)}" '
        f'data-rule="{escape(str(flag.get("rule", "")))}">'
        f'<div class="who">{_payee_link(payee, str(flag.get("name", payee)), linked)}'
        f'</div><div class="title">{escape(str(flag.get("title", "")))}</div>'
        f'<ul class="evidence">{"".join(evidence)}</ul>'
        f'<p class="focus"><strong>Focus:</strong> '
        f'{escape(str(flag.get("focus", "")))}</p></li>'
    )


# -- small parts --------------------------------------------------------------


def _payee_link(payee_id: str, name: str, linked: set[str]) -> str:
    if payee_id not in linked:
        return escape(name)
    href = "statements/" + quote(statement_filename(payee_id))
    return f'<a href="{escape(href)}">{escape(name)}</a>'


def _cell(key: str, exact: Any, shown: str, extra: str = "") -> str:
    value = "" if exact is None else str(exact)
    return (
        f'<td class="num"{attrs({"data-col": key, "data-value": value})}>'
        f"{escape(shown)}{extra}</td>"
    )


def _section(key: str, title: str, parts: list[str]) -> list[str]:
    return [f'<section id="{key}">', f"<h2>{escape(title)}</h2>", *parts,
            "</section>"]


def _wide(chart: str) -> str:
    """A chart too detailed to shrink: on a narrow screen it scrolls."""
    return f'<div class="scroll wide">{chart}</div>'


def _empty(text: str) -> str:
    return f'<p class="empty muted">{escape(text)}</p>'


def _footer() -> str:
    from .. import __version__

    return (
        f"<footer>Made by Attain {escape(__version__)}. Figures are the "
        "engine's exact values, shown rounded: money to the cent, "
        "percentages to a tenth.</footer>"
    )


def _rows(data: Data, key: str) -> list[Mapping[str, Any]]:
    rows = data.get(key) or []
    return [row for row in rows if isinstance(row, Mapping)]


def _forecast_rows(data: Data, scope: str) -> list[Mapping[str, Any]]:
    return [r for r in _rows(data, "forecast") if r.get("scope") == scope]


def _currency(data: Data) -> str:
    return str(data.get("currency") or "")


def _overdue(rows: Sequence[Data]) -> list[str]:
    """Each payee's open deals past their expected close date, by id."""
    items = []
    for row in rows:
        ids = [str(d) for d in row.get("overdue_deals") or []]
        if ids:
            listed = ", ".join(
                f'<span class="id">{escape(i)}</span>' for i in ids
            )
            items.append(
                f'<li data-id="{escape(str(row.get("id", "")))}">'
                f"<strong>{escape(str(row.get('name') or row.get('id')))}"
                f"</strong>: {listed}</li>"
            )
    if not items:
        return []
    total = sum(len(row.get("overdue_deals") or []) for row in rows)
    return [
        '<details class="overdue"><summary>Open deals past their expected '
        f"close date: {_plural(total, 'deal')} of "
        f"{_plural(len(items), 'payee')}</summary>",
        '<ul class="overdue">', *items, "</ul></details>",
    ]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _raw(value: Any) -> str:
    return "" if value is None else str(value)


def _exact(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")
