"""A payee's statement as one HTML page a seller can read on their own.

It shows the total, a year-so-far table, then every payout line of each
period with its explanation: the measure, quota and attainment, the
bands and the rate, the cap, and the deals with their credit, crediting
rule and share of the pay. A line's trace is whatever the engine wrote;
keys this page does not know are still shown, by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from . import figures
from .charts import attrs
from .page import page

Data = Mapping[str, Any]


def render_statement(data: Data, statement: Data) -> str:
    """The statement page of one entry of the report data's statements."""
    currency = str(statement.get("currency") or data.get("currency") or "")
    lines = _records(statement.get("lines"))
    periods = _periods(data, lines)
    body = [
        *_header(data, statement, periods, currency),
        *_year_so_far(lines, periods, currency),
    ]
    for period in periods:
        body.append(f'<section class="period" data-period="{escape(period)}">')
        body.append(f"<h2>{escape(period)}</h2>")
        for line in lines:
            if str(line.get("period")) == period:
                body += _line(line, currency)
        body.append("</section>")
    body.append(
        "<footer>Amounts are rounded to the cent; each line's exact "
        "figures are the engine's.</footer>"
    )
    name = str(statement.get("name") or statement.get("payee_id", ""))
    return page(f"Statement for {name}", body)


def _periods(data: Data, lines: Sequence[Data]) -> list[str]:
    """The periods of the lines, in the report's order of periods."""
    present = {str(line.get("period")) for line in lines}
    known = [str(p) for p in data.get("periods") or [] if str(p) in present]
    extra = []
    for line in lines:
        period = str(line.get("period"))
        if period not in known and period not in extra:
            extra.append(period)
    return known + extra


def _header(data: Data, statement: Data, periods: list[str],
            currency: str) -> list[str]:
    name = str(statement.get("name") or statement.get("payee_id", ""))
    total = statement.get("total")
    asked = data.get("generated_for") or {}
    facts = [
        ("Payee", f"{name} ({statement.get('payee_id', '')})", {}),
        ("Role", str(statement.get("role") or ""), {}),
        ("Periods", ", ".join(periods) or "none", {}),
        ("Total", f"{figures.money(total)} {currency}",
         {"data-figure": "total", "data-value": str(total)}),
        ("Company", str(data.get("project", "")), {}),
        ("As of", str(asked.get("as_of", "")), {}),
    ]
    return [
        '<header class="page">',
        f"<h1>Statement for {escape(name)}</h1>",
        '<dl class="facts">',
        *(
            f"<dt>{escape(label)}</dt><dd{attrs(extra)}>{escape(value)}</dd>"
            for label, value, extra in facts
        ),
        "</dl>",
        "</header>",
    ]


# -- year so far --------------------------------------------------------------


def _year_so_far(lines: Sequence[Data], periods: list[str],
                 currency: str) -> list[str]:
    """One row per period, one column per component, and what was paid."""
    columns: dict[tuple[str, str], str] = {}
    for line in sorted(lines, key=lambda x: x.get("component") in _OVER_TIME):
        key = (str(line.get("plan_id")), str(line.get("component")))
        columns.setdefault(key, str(line.get("component_name") or key[1]))
    head = "".join(f'<th class="num">{escape(n)}</th>' for n in columns.values())
    out = [
        "<h2>Year so far</h2>",
        f'<div class="scroll"><table id="year-so-far"><thead><tr>'
        f'<th>Period</th>{head}<th class="num">Paid ({escape(currency)})'
        "</th></tr></thead><tbody>",
    ]
    totals = {key: Decimal(0) for key in columns}
    for period in periods:
        sums = {key: Decimal(0) for key in columns}
        for line in lines:
            if str(line.get("period")) == period:
                key = (str(line.get("plan_id")), str(line.get("component")))
                sums[key] += figures.decimal(line.get("amount")) or 0
        for key, amount in sums.items():
            totals[key] += amount
        out.append(_sum_row(period, sums, period))
    out.append(_sum_row("Total", totals, None))
    out.append("</tbody></table></div>")
    return out


# Lines that move pay between periods come after what was earned.
_OVER_TIME = frozenset({
    "clawback", "draw", "draw_recovery", "draw_balance", "holdback",
    "holdback_release", "adjustment", "prior_period_adjustment",
})


def _sum_row(label: str, sums: Mapping[tuple[str, str], Decimal],
             period: str | None) -> str:
    cells = "".join(
        _num_cell(figures.money(amount), format(amount, "f"),
                  {"data-component": component})
        for (_, component), amount in sums.items()
    )
    paid = sum(sums.values(), Decimal(0))
    shown = figures.money(paid)
    row = ' class="total"' if period is None else ""
    where = "" if period is None else f' data-period="{escape(period)}"'
    return (
        f"<tr{row}{where}><td>{escape(label)}</td>{cells}"
        f"{_num_cell(shown, format(paid, 'f'), {'data-col': 'paid'})}</tr>"
    )


def _num_cell(shown: str, exact: str, extra: Mapping[str, str]) -> str:
    return (
        f'<td class="num"{attrs({**extra, "data-value": exact})}>'
        f"{escape(shown)}</td>"
    )


# -- one line of pay ----------------------------------------------------------


def _line(line: Data, currency: str) -> list[str]:
    trace = line.get("trace")
    trace = trace if isinstance(trace, Mapping) else {}
    name = str(line.get("component_name") or line.get("component", ""))
    amount = line.get("amount")
    data = {
        "data-period": str(line.get("period", "")),
        "data-plan": str(line.get("plan_id", "")),
        "data-component": str(line.get("component", "")),
        "data-amount": str(amount),
    }
    out = [
        f'<article class="line"{attrs(data)}>',
        f"<h3><span>{escape(name)}</span>"
        f'<span class="amount" data-value="{escape(str(amount))}">'
        f"{escape(figures.money(amount))} {escape(currency)}</span></h3>",
        f'<p class="muted">Plan {escape(str(line.get("plan_id", "")))}</p>',
    ]
    sentences = explain(trace)
    if sentences:
        out.append(f'<p class="explain">{escape(" ".join(sentences))}</p>')
    out += _facts(trace)
    if trace.get("bands"):
        out += _bands(trace)
    if trace.get("team"):
        out += _team(trace["team"])
    if trace.get("deals"):
        out += _deals(trace["deals"])
    out.append("</article>")
    return out


def explain(trace: Mapping[str, Any]) -> list[str]:
    """A line's trace in sentences: how its amount came about."""
    out = _measure_sentences(trace)
    kind = trace.get("kind")
    how = _HOW.get(str(kind))
    if how is not None:
        out += [s for s in how(trace) if s]
    out += _limit_sentences(trace)
    deals = _records(trace.get("deals"))
    if deals:
        out.append(
            f"{_plural(len(deals), 'deal')} below, each with the share of "
            "this pay it earned."
        )
    return out


def _measure_sentences(trace: Mapping[str, Any]) -> list[str]:
    out = []
    if trace.get("measure") is not None and "value" in trace:
        text = (
            f"The measure {trace['measure']} came to "
            f"{figures.number(trace['value'])}"
        )
        if trace.get("quota") is not None:
            text += f" against a quota of {figures.number(trace['quota'])}"
            if trace.get("attainment") is not None:
                text += f": an attainment of {figures.percent(trace['attainment'])}"
        out.append(text + ".")
    active, days = trace.get("active_days"), trace.get("period_days")
    if active is not None and days is not None and str(active) != str(days):
        text = f"Active {active} of the period's {days} days"
        if trace.get("proration") is not None:
            text += (
                ", so quota and target incentive are "
                f"{figures.percent(trace['proration'])} of the full amounts"
            )
        out.append(text + ".")
    if trace.get("ramp") is not None:
        out.append(f"Ramp for a new hire: {trace['ramp']} of the full quota.")
    return out


def _rate_table(trace: Mapping[str, Any]) -> list[str]:
    method = str(trace.get("method") or "")
    basis = str(trace.get("basis") or "attainment")
    bands = _records(trace.get("bands"))
    band = trace.get("band")
    text = f"A {method} rate table over {basis}".replace("  ", " ")
    if band is not None:
        text += f" reached band {band} of {len(bands)}"
        if trace.get("rate") is not None:
            text += f", at a rate of {figures.rate(trace['rate'])}"
    else:
        text += " reached no band"
    rule = {
        "marginal": "each slice of the measure earns its own band's rate",
        "retroactive": "the band reached sets one rate for the whole measure",
    }.get(method)
    threshold = trace.get("threshold")
    return [
        text + (f"; {rule}." if rule else "."),
        f"Below the threshold of {threshold} nothing is paid."
        if threshold is not None else "",
    ]


def _flat_rate(trace: Mapping[str, Any]) -> list[str]:
    return [f"A flat rate of {figures.rate(trace.get('rate'))}."]


def _payout_curve(trace: Mapping[str, Any]) -> list[str]:
    return [
        f"The payout curve pays {figures.percent(trace.get('payout_percent'))}"
        " of this period's target incentive of "
        f"{figures.money(trace.get('target_incentive'))} at this attainment."
    ]


def _spif(trace: Mapping[str, Any]) -> list[str]:
    n = figures.decimal(trace.get("deals_qualifying")) or 0
    window = ""
    if trace.get("from") or trace.get("to"):
        window = f", closed from {trace.get('from')} to {trace.get('to')}"
    where = f" ({trace['where']})" if trace.get("where") else ""
    return [
        f"{_plural(int(n), 'qualifying deal')}{where}{window}, at "
        f"{figures.money(trace.get('per_deal'))} each."
    ]


def _bonus(trace: Mapping[str, Any]) -> list[str]:
    met = "met" if trace.get("met") else "not met"
    return [f"The condition {trace.get('when', '')} was {met}."]


def _clawback(trace: Mapping[str, Any]) -> list[str]:
    return [
        f"Deals cancelled within {trace.get('window_days')} days of closing "
        "take back the pay they earned."
    ]


_HOW: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "rate_table": _rate_table,
    "flat_rate": _flat_rate,
    "payout_curve": _payout_curve,
    "spif": _spif,
    "bonus": _bonus,
    "clawback": _clawback,
}


def _limit_sentences(trace: Mapping[str, Any]) -> list[str]:
    out = []
    cap = trace.get("cap")
    if cap is not None:
        if trace.get("cap_applied"):
            out.append(
                f"The cap ({_cap(cap)}) was reached: "
                f"{figures.money(trace.get('uncapped'))} before the cap."
            )
        else:
            out.append(f"The cap ({_cap(cap)}) was not reached.")
    if trace.get("floor_applied"):
        out.append(f"The floor of {figures.money(trace.get('floor'))} applied.")
    return out


# -- facts, bands, team and deals ---------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _yes_no(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "yes" if value else "no"
    return _generic(value)


def _generic(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(
            f"{key}: {_generic(value[key])}" for key in sorted(value, key=str)
        )
    if isinstance(value, list | tuple):
        return ", ".join(_generic(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return figures.number(value)


def _exact(value: Any) -> str:
    number = figures.decimal(value)
    return _text(value) if number is None else f"{number.normalize():,f}"


def _cap(value: Any) -> str:
    if not isinstance(value, Mapping):
        return _generic(value)
    parts = []
    if "per_period" in value:
        rule = f", {value['rule']}" if value.get("rule") else ""
        parts.append(f"{figures.money(value['per_period'])} a period{rule}")
    if "per_year" in value:
        parts.append(
            f"{figures.money(value['per_year'])} a year, "
            f"{figures.money(value.get('left_this_year'))} left"
        )
    return "; ".join(parts) or _generic(value)


_KINDS = {
    "rate_table": "Rate table",
    "flat_rate": "Flat rate",
    "payout_curve": "Payout curve on target incentive",
    "spif": "SPIF per qualifying deal",
    "bonus": "Bonus",
    "clawback": "Clawback of cancelled deals",
    "draw": "Draw",
    "adjustment": "Manual adjustment",
}

_FACTS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("kind", "Rule", lambda v: _KINDS.get(str(v), _text(v))),
    ("measure", "Measure", _text),
    ("value", "Measure value", figures.number),
    ("full_quota", "Full quota", figures.number),
    ("ramp", "Ramp", _text),
    ("proration", "Proration", figures.percent),
    ("quota", "Quota", figures.number),
    ("quota_source", "Quota from", _text),
    ("attainment", "Attainment", figures.percent),
    ("threshold", "Threshold", _text),
    ("method", "Method", _text),
    ("basis", "Bands over", _text),
    ("band", "Band reached", _generic),
    ("rate", "Rate", figures.rate),
    ("target_incentive", "Target incentive this period", figures.money),
    ("payout_percent", "Payout, share of target incentive", figures.percent),
    ("interpolation", "Between points", _text),
    ("deals_qualifying", "Qualifying deals", figures.number),
    ("per_deal", "Per deal", figures.money),
    ("where", "Deals that count", _text),
    ("from", "From", _text),
    ("to", "To", _text),
    ("when", "Condition", _text),
    ("met", "Condition met", _yes_no),
    ("measures", "Measures", _generic),
    ("window_days", "Clawback window, days", _text),
    ("cap", "Cap", _cap),
    ("cap_applied", "Cap reached", _yes_no),
    ("uncapped", "Before the cap", figures.money),
    ("floor", "Floor", figures.money),
    ("floor_applied", "Floor applied", _yes_no),
    ("year_to_date", "Earned in the year so far", figures.money),
    ("paid_before", "Paid before", figures.money),
    ("true_up", "True-up", figures.money),
    ("carried", "Carried forward", figures.money),
    ("balance_after", "Draw balance after", figures.money),
    ("reason", "Reason", _text),
    ("author", "Entered by", _text),
    ("not_from_deals", "Not from any deal", figures.money),
    ("unrounded", "Before rounding", _exact),
)
_SHOWN_ELSEWHERE = {
    "bands", "deals", "team", "amount", "role", "active_days", "period_days",
}
_KNOWN = {key for key, _, _ in _FACTS} | _SHOWN_ELSEWHERE


def _facts(trace: Mapping[str, Any]) -> list[str]:
    rows = [
        (key, label, show(trace[key]))
        for key, label, show in _FACTS
        if trace.get(key) is not None
    ]
    if "active_days" in trace:
        rows.append((
            "active_days", "Active days",
            f"{_text(trace['active_days'])} of {_text(trace.get('period_days'))}",
        ))
    for key in sorted(set(trace) - _KNOWN, key=str):
        rows.append((str(key), str(key).replace("_", " ").capitalize(),
                     _generic(trace[key])))
    items = [
        f'<dt>{escape(label)}</dt><dd data-fact="{escape(key)}">'
        f"{escape(shown)}</dd>"
        for key, label, shown in rows
    ]
    return ['<dl class="facts">', *items, "</dl>"] if items else []


def _bands(trace: Mapping[str, Any]) -> list[str]:
    basis = trace.get("basis")
    reached = trace.get("band")
    rows = []
    for i, band in enumerate(_records(trace.get("bands")), start=1):
        cells = [
            _edge(band.get("from"), basis), _edge(band.get("to"), basis),
            figures.rate(band.get("rate")), _text(band.get("rule")),
            figures.number(band.get("amount")), figures.money(band.get("pay")),
        ]
        kind = {"class": "reached"} if reached == i else {}
        rows.append(_row(cells, (0, 1, 2, 4, 5), row_attrs=kind))
    head = _head(("From", "To", "Rate", "Rule", "Amount in band", "Pay"),
                 numeric=(0, 1, 2, 4, 5))
    return ['<div class="scroll"><table class="bands">', head, "<tbody>",
            *rows, "</tbody></table></div>"]


def _edge(value: Any, basis: Any) -> str:
    if value is None:
        return "and above"
    number = figures.decimal(value)
    if number is None:
        return _text(value)
    return figures.number(number) if basis == "amount" else figures.rate(number)


def _team(team: Any) -> list[str]:
    rows = [
        _row([_text(m.get("payee_id")), figures.number(m.get("quota"))], (1,))
        for m in _records(team)
    ]
    return ["<h4>Team quotas</h4>", '<table class="team">',
            _head(("Payee", "Quota"), numeric=(1,)), "<tbody>", *rows,
            "</tbody></table>"]


_DEAL_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("deal_id", "Deal", _text),
    ("close_date", "Close date", _text),
    ("deal_amount", "Deal amount", _text),
    ("credit", "Credit", figures.money),
    ("counted", "Counted in measure", figures.number),
    ("credit_type", "Credit type", _text),
    ("rule", "Crediting rule", _text),
    ("share", "Share of pay", figures.money),
    ("component", "Component", _text),
    ("share_paid", "Pay it earned", figures.money),
    ("cancelled_by", "Cancelled by", _text),
    ("cancelled_on", "Cancelled on", _text),
    ("reversed", "Reversed", figures.money),
)
_NUM = ' class="num"'
_NUMERIC_DEAL_KEYS = {"credit", "counted", "share", "share_paid", "reversed"}


def _deals(deals: Any) -> list[str]:
    records = _records(deals)
    present = {key for deal in records for key in deal}
    columns = [c for c in _DEAL_COLUMNS if c[0] in present]
    known = {key for key, _, _ in _DEAL_COLUMNS}
    columns += [
        (key, key.replace("_", " ").capitalize(), _generic)
        for key in sorted(present - known, key=str)
    ]
    numeric = tuple(
        i for i, (key, _, _) in enumerate(columns) if key in _NUMERIC_DEAL_KEYS
    )
    rows = []
    for deal in records:
        values = [show(deal.get(key)) if key in deal else ""
                  for key, _, show in columns]
        rows.append(_row(
            values, numeric, [key for key, _, _ in columns],
            {"class": "deal", "data-deal": _text(deal.get("deal_id")),
             "data-share": _text(deal.get("share"))},
        ))
    head = _head([label for _, label, _ in columns], numeric)
    return [f"<h4>Deals ({len(records)})</h4>",
            '<div class="scroll"><table class="deals">', head, "<tbody>",
            *rows, "</tbody></table></div>"]


def _head(labels: Sequence[str], numeric: Sequence[int]) -> str:
    cells = "".join(
        f"<th{_NUM if i in numeric else ''}>{escape(label)}</th>"
        for i, label in enumerate(labels)
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _row(values: Sequence[str], numeric: Sequence[int],
         keys: Sequence[str] | None = None,
         row_attrs: Mapping[str, str] | None = None) -> str:
    """A table row of text cells; ``keys`` name the cells' columns."""
    out = [f"<tr{attrs(row_attrs or {})}>"]
    for i, value in enumerate(values):
        extra = {"class": "num"} if i in numeric else {}
        if keys is not None:
            extra["data-col"] = keys[i]
        out.append(f"<td{attrs(extra)}>{escape(value)}</td>")
    return "".join(out) + "</tr>"


def _records(items: Any) -> list[Mapping[str, Any]]:
    if not isinstance(items, list | tuple):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
