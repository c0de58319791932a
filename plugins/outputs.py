"""Built-in output formats: CSV and JSON for machines, Markdown for people.

Every format renders the same input to the same text, byte for byte, so
outputs can be compared and committed. Amounts are written as exact
decimal strings.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from engine.hookspecs import hookimpl
from engine.plugins import OutputFormat

if TYPE_CHECKING:
    from engine.results import PayoutLine, Statement

CSV_COLUMNS = (
    "period",
    "payee_id",
    "payee_name",
    "plan_id",
    "plan_version",
    "component",
    "amount",
    "currency",
)


def ordered(lines: Iterable[PayoutLine]) -> list[PayoutLine]:
    """Lines by period, payee, plan and component; ties keep their order."""
    from engine.results import PayoutLine

    return sorted(lines, key=PayoutLine.sort_key)


def exact(amount: Decimal) -> str:
    """An amount as plain digits, never in exponent notation."""
    return format(amount, "f")


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


class CsvOutput(OutputFormat):
    name = "csv"
    extension = "csv"
    description = "One row per payout line, for spreadsheets and payroll."

    def render_payouts(self, lines: Sequence[PayoutLine]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for line in ordered(lines):
            writer.writerow(
                (
                    line.period,
                    line.payee_id,
                    line.payee_name,
                    line.plan_id,
                    line.plan_version,
                    line.component,
                    exact(line.amount),
                    line.currency,
                )
            )
        return buffer.getvalue()

    def render_statement(self, statement: Statement) -> str:
        return self.render_payouts(statement.lines)


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


class JsonOutput(OutputFormat):
    name = "json"
    extension = "json"
    description = "Payout lines with their traces, keys sorted."

    def render_payouts(self, lines: Sequence[PayoutLine]) -> str:
        return _dump({"lines": [line_as_dict(line) for line in ordered(lines)]})

    def render_statement(self, statement: Statement) -> str:
        return _dump(
            {
                "payee_id": statement.payee_id,
                "payee_name": statement.payee_name,
                "role": statement.role,
                "currency": statement.currency,
                "periods": list(statement.periods),
                "total": exact(statement.total),
                "lines": [line_as_dict(x) for x in ordered(statement.lines)],
            }
        )


def line_as_dict(line: PayoutLine) -> dict[str, Any]:
    """A payout line as JSON-ready values: amounts and dates as strings."""
    return {
        "payee_id": line.payee_id,
        "payee_name": line.payee_name,
        "plan_id": line.plan_id,
        "plan_version": line.plan_version,
        "period": line.period,
        "period_start": line.period_start.isoformat(),
        "period_end": line.period_end.isoformat(),
        "component": line.component,
        "component_name": line.component_name,
        "amount": exact(line.amount),
        "currency": line.currency,
        "trace": line.trace,
    }


def _dump(document: Any) -> str:
    text = json.dumps(
        document,
        sort_keys=True,
        indent=2,
        ensure_ascii=False,
        default=_json_value,
    )
    return text + "\n"


def _json_value(value: Any) -> Any:
    # Traces should already be JSON-ready; these keep a stray value exact.
    if isinstance(value, Decimal):
        return exact(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} values cannot be written as JSON.")


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


class MarkdownOutput(OutputFormat):
    name = "markdown"
    extension = "md"
    description = "Statements a payee can read and check, with the deals."

    def render_payouts(self, lines: Sequence[PayoutLine]) -> str:
        rows = [
            (
                line.period,
                f"{line.payee_name} ({line.payee_id})",
                f"{line.plan_id} {line.plan_version}",
                line.component_name or line.component,
                _number(line.amount),
                line.currency,
            )
            for line in ordered(lines)
        ]
        headings = ("Period", "Payee", "Plan", "Component", "Amount", "Currency")
        return "\n".join(_table(headings, rows)) + "\n"

    def render_statement(self, statement: Statement) -> str:
        total = f"{_number(statement.total)} {statement.currency}"
        out = [
            f"# Statement for {_text(statement.payee_name)}",
            "",
            f"- **Payee:** {_text(statement.payee_name)}"
            f" ({_text(statement.payee_id)})",
            f"- **Role:** {_text(statement.role)}",
            f"- **Periods:** {', '.join(statement.periods) or 'none'}",
            f"- **Total:** {total}",
        ]
        groups = _by_period(statement)
        if len(groups) > 1 or any(
            _category(line) != "Earnings" for line in statement.lines
        ):
            out += ["", "## Year so far", "", *_summary(groups)]
        for period, lines in groups.items():
            out += ["", f"## {_text(period)}"]
            for line in lines:
                out += ["", *_component_section(line)]
        return "\n".join(out) + "\n"


_CATEGORIES = {
    "clawback": "Clawbacks",
    "draw": "Draw",
    "draw_recovery": "Draw",
    "draw_balance": "Draw",
    "holdback": "Holdback",
    "holdback_release": "Holdback",
    "adjustment": "Adjustments",
    "prior_period_adjustment": "Adjustments",
}
_COLUMNS = ("Earnings", "Clawbacks", "Draw", "Holdback", "Adjustments")


def _category(line: PayoutLine) -> str:
    return _CATEGORIES.get(line.component, "Earnings")


def _summary(groups: dict[str, list[PayoutLine]]) -> list[str]:
    """One row per period: what was earned, taken back, advanced, held
    and paid, with the draw balance and the amount still held after it."""
    rows = []
    held = Decimal("0.00")
    balance = ""
    for period, lines in groups.items():
        sums = {column: Decimal("0.00") for column in _COLUMNS}
        for line in lines:
            sums[_category(line)] += line.amount
            if line.component.startswith("holdback"):
                held -= line.amount
            after = line.trace.get("balance_after") if isinstance(
                line.trace, Mapping) else None
            if after is not None:
                balance = _number(after)
        paid = sum(sums.values(), Decimal("0.00"))
        rows.append((
            _text(period), *(_number(sums[c]) for c in _COLUMNS),
            _number(paid), balance, _number(held),
        ))
    headings = ("Period", *_COLUMNS, "Paid", "Draw balance", "Held")
    return _table(headings, rows)


def _by_period(statement: Statement) -> dict[str, list[PayoutLine]]:
    """Lines grouped by period, in the statement's order of periods."""
    groups: dict[str, list[PayoutLine]] = {p: [] for p in statement.periods}
    for line in ordered(statement.lines):
        groups.setdefault(line.period, []).append(line)
    return {period: lines for period, lines in groups.items() if lines}


def _component_section(line: PayoutLine) -> list[str]:
    name = line.component_name or line.component
    out = [f"### {_text(name)}: {_number(line.amount)} {line.currency}", ""]
    trace = line.trace if isinstance(line.trace, Mapping) else {}

    for key, label, show in _KNOWN_FACTS:
        if key in trace and trace[key] is not None:
            out.append(f"- **{label}:** {show(trace[key])}")
    if "active_days" in trace:
        out.append(
            f"- **Active days:** {_text(trace['active_days'])} of "
            f"{_text(trace.get('period_days'))}"
        )
    for key in sorted(set(trace) - _KNOWN_KEYS, key=str):
        out.append(f"- **{_text(key)}:** {_generic(trace[key])}")

    if trace.get("bands"):
        out += ["", *_bands_table(trace["bands"], trace.get("basis"))]
    if trace.get("deals"):
        out += ["", *_deals_table(trace["deals"])]
    return out


def _bands_table(bands: Any, basis: Any) -> list[str]:
    edge = _number if basis == "amount" else _percent
    rows = [
        (
            edge(band.get("from")),
            edge(band.get("to")),
            _percent(band.get("rate")),
            _number(band.get("amount")),
            _number(band.get("pay")),
        )
        for band in _records(bands)
    ]
    return _table(("From", "To", "Rate", "Amount in band", "Pay"), rows)


def _deals_table(deals: Any) -> list[str]:
    records = _records(deals)
    converted = any("deal_amount" in deal for deal in records)
    rows = []
    for deal in records:
        row = [
            _text(deal.get("deal_id")),
            _text(deal.get("close_date")),
            _number(deal.get("credit")),
            _text(deal.get("credit_type")),
            _text(deal.get("rule")),
            _number(deal.get("share")),
        ]
        if converted:
            row.insert(2, _text(deal.get("deal_amount")))
        rows.append(row)
    headings = [
        "Deal", "Close date", "Credit", "Credit type", "Rule", "Share of pay"
    ]
    if converted:
        headings.insert(2, "Deal amount")
    return _table(headings, rows)


def _records(items: Any) -> list[Mapping[str, Any]]:
    if not isinstance(items, list | tuple):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _table(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(headings) + " |"]
    out.append("|" + "|".join("---" for _ in headings) + "|")
    for row in rows:
        out.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return out


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


# Each fact's renderer takes any value and never raises: a trace written
# by a newer engine or a plugin may hold what this version does not know.


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("\n", " ")


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number(value: Any) -> str:
    """A number with thousands separators; beyond the cent it is shown
    rounded, marked with ≈ (the JSON output keeps every digit)."""
    number = _decimal(value)
    if number is None:
        return _text(value)
    if number.as_tuple().exponent < -2:
        shown = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if shown != number:
            return f"≈ {shown:,f}"
    return f"{number:,f}"


def _percent(value: Any) -> str:
    number = _decimal(value)
    if number is None:
        return _text(value)
    shown = (number * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{shown:,f} %"


def _yes_no(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "no"
    return _generic(value)


def _generic(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = sorted(value, key=str)
        return ", ".join(f"{key}: {_generic(value[key])}" for key in keys)
    if isinstance(value, list | tuple):
        return ", ".join(_generic(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _number(value)


def _cap(value: Any) -> str:
    if not isinstance(value, Mapping):
        return _generic(value)
    parts = []
    if "per_period" in value:
        rule = value.get("rule")
        parts.append(
            f"{_number(value['per_period'])} a period"
            + (f" ({_text(rule)})" if rule else "")
        )
    if "per_year" in value:
        parts.append(
            f"{_number(value['per_year'])} a year, "
            f"{_number(value.get('left_this_year'))} left"
        )
    return "; ".join(parts) or _generic(value)


def _team(value: Any) -> str:
    return ", ".join(
        f"{_text(m.get('payee_id'))} {_number(m.get('quota'))}"
        for m in _records(value)
    )


_KINDS = {
    "rate_table": "Rate table",
    "flat_rate": "Flat rate",
    "payout_curve": "Payout curve on target incentive",
    "spif": "SPIF per qualifying deal",
    "bonus": "Bonus",
}

_KNOWN_FACTS = (
    ("kind", "Rule", lambda v: _KINDS.get(v, _text(v))),
    ("measure", "Measure", _text),
    ("value", "Measure value", _number),
    ("full_quota", "Full quota", _number),
    ("ramp", "Ramp", _text),
    ("proration", "Proration", _percent),
    ("quota", "Quota", _number),
    ("quota_source", "Quota from", _text),
    ("team", "Team quotas", _team),
    ("attainment", "Attainment", _percent),
    ("threshold", "Threshold", _text),
    ("method", "Method", _text),
    ("basis", "Bands over", _text),
    ("band", "Band reached", _generic),
    ("rate", "Rate", _percent),
    ("target_incentive", "Target incentive this period", _number),
    ("payout_percent", "Payout, share of target incentive", _percent),
    ("interpolation", "Between points", _text),
    ("deals_qualifying", "Qualifying deals", _number),
    ("per_deal", "Per deal", _number),
    ("where", "Condition", _text),
    ("from", "From", _text),
    ("to", "To", _text),
    ("when", "Condition", _text),
    ("met", "Condition met", _yes_no),
    ("measures", "Measures", _generic),
    ("cap", "Cap", _cap),
    ("cap_applied", "Cap reached", _yes_no),
    ("uncapped", "Before the cap", _number),
    ("floor", "Floor", _number),
    ("floor_applied", "Floor applied", _yes_no),
    ("not_from_deals", "Not from any deal", _number),
    ("unrounded", "Before rounding", _number),
)
_HIDDEN = {"bands", "deals", "amount", "role", "active_days", "period_days"}
_KNOWN_KEYS = frozenset(key for key, _, _ in _KNOWN_FACTS) | _HIDDEN


@hookimpl
def attain_register_output_formats() -> list[OutputFormat]:
    return [CsvOutput(), JsonOutput(), MarkdownOutput()]
