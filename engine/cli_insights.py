"""Commands beyond pay: ``attain kpis``, ``forecast``, ``coach``,
``territories``, ``quotas`` and ``capacity``.

They join the ``attain`` group defined in :mod:`engine.cli` and follow
its rules: results on stdout (text for people, ``--format json`` for
programs), problems on stderr, exit 1 for invalid plans or data and 2
for a usage error.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from .cli import _fail, _project, cli
from .errors import AttainError

FORMATS = click.Choice(["text", "json"])


# -- shared -------------------------------------------------------------------


def _workspace(ctx: click.Context, snapshots: bool = False):
    from .insights import load_workspace

    return load_workspace(_project(ctx).path, snapshots=snapshots)


def _check_labels(workspace, labels) -> None:
    from .calendar import parse_label
    from .spec import Calendar

    plans = sorted(workspace.catalog.plans, key=lambda p: p.id)
    calendar = plans[0].calendar if plans else Calendar()
    for label in labels:
        try:
            parse_label(calendar, label)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--period")


def _periods(workspace, asked) -> list[str]:
    from .insights.kpis import data_periods

    _check_labels(workspace, asked)
    chosen = list(asked) or workspace.project.periods
    chosen = chosen or data_periods(workspace.catalog, workspace.inputs)
    if not chosen:
        raise click.UsageError(
            "The data reaches no period of the plans; name one with "
            "--period."
        )
    return chosen


def _one_period(workspace, asked: str | None, day: date) -> str:
    from .insights.kpis import current_period

    if asked:
        _check_labels(workspace, [asked])
        return asked
    calendar = sorted(workspace.catalog.plans, key=lambda p: p.id)[0].calendar
    return current_period(calendar, _periods(workspace, ()), day)


def _amount(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.replace("_", ""))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise click.BadParameter(
            f"'{text}' is not an amount. Write digits with an optional "
            "'.', such as 2500000.", param_hint=option,
        )
    return value


def _json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _money(value: Decimal | str | None) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value):,.2f}"


def _percent(value: Decimal | str | None) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value) * 100:.1f}%"


def _number(value: Decimal | str | None, places: int = 1) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value):,.{places}f}"


def _kpi(name: str, value: Decimal | str | None) -> str:
    """A KPI as people read it: shares in %, counts whole, money."""
    if name in ("win_rate", "average_discount", "attainment"):
        return _percent(value)
    if name in ("open_deals", "deals_closed", "sellers"):
        return _number(value, 0)
    if name in ("cycle_length", "coverage"):
        return _number(value, 2)
    return _money(value)


def _table(headers: list[str], rows: list[list[str]], left: int = 2) -> str:
    """Columns aligned: the first ``left`` to the left, numbers right."""
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(headers, *rows)
    ]
    lines = []
    for row in [headers, *rows]:
        cells = [
            str(cell).ljust(w) if i < left else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# -- kpis ---------------------------------------------------------------------

KPI_COLUMNS = (
    ("Pipeline", "open_pipeline", _money),
    ("Weighted", "weighted_pipeline", _money),
    ("Win rate", "win_rate", _percent),
    ("Avg deal", "average_deal_size", _money),
    ("Cycle d", "cycle_length", _number),
    ("Velocity/d", "sales_velocity", _money),
    ("Discount", "average_discount", _percent),
    ("Won", "deals_closed", lambda v: _number(v, 0)),
    ("Productivity", "productivity", _money),
    ("Attainment", "attainment", _percent),
    ("Coverage", "coverage", lambda v: _number(v, 2)),
)


@cli.command()
@click.option("--period", "periods", multiple=True, metavar="LABEL",
              help="A fiscal period such as FY2026-Q1 (repeatable); by "
              "default the project's periods, or every period the data "
              "reaches.")
@click.option("--level", type=click.Choice(["payee", "team", "company"]),
              default="payee", show_default=True,
              help="Per payee, per team (each manager's) or the company.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]),
              default="text", show_default=True)
@click.pass_context
def kpis(ctx: click.Context, periods, level: str, fmt: str) -> None:
    """Show KPIs: pipeline, win rate, deal size, cycle length, velocity,
    discount, deals closed, productivity, attainment and coverage.

    A payee's KPIs cover the deals they own; a team's the deals of
    everyone below its manager on the close date. Amounts are in the
    plan currency; a ratio with nothing to divide by shows as '-'.
    """
    from .insights.kpis import KpiBook

    try:
        workspace = _workspace(ctx)
        labels = _periods(workspace, periods)
        book = KpiBook(workspace.catalog, workspace.inputs,
                       workspace.metrics, labels)
        rows = [row for label in labels for row in book.rows(label, level)]
    except AttainError as exc:
        _fail(exc)

    if fmt == "json":
        _json({"currency": book.currency, "level": level,
               "periods": labels, "rows": [r.as_dict() for r in rows]})
    elif fmt == "csv":
        click.echo(_kpi_csv(rows), nl=False)
    else:
        _kpi_text(rows, labels)


def _kpi_csv(rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    dicts = [row.as_dict() for row in rows]
    header = list(dicts[0]) if dicts else ["level", "id", "name", "period"]
    writer.writerow(header)
    for row in dicts:
        writer.writerow(["" if row[k] is None else row[k] for k in header])
    return buffer.getvalue()


def _kpi_text(rows, labels) -> None:
    headers = ["Id", "Name"] + [title for title, _, _ in KPI_COLUMNS]
    for label in labels:
        chosen = [row for row in rows if row.period == label]
        click.echo(f"{label}")
        body = [
            [row.id, row.name]
            + [show(row.values[key]) for _, key, show in KPI_COLUMNS]
            for row in chosen
        ]
        click.echo(_table(headers, body))
        click.echo()


# -- forecast -----------------------------------------------------------------


@cli.command("forecast")
@click.option("--period", metavar="LABEL",
              help="The period to forecast; by default the one holding "
              "the forecast date.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="Forecast as of this date (YYYY-MM-DD): only what was "
              "known then counts. By default today, within the period.")
@click.option("--simulations", default=2000, show_default=True,
              type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--format", "fmt", type=FORMATS, default="text",
              show_default=True)
@click.pass_context
def forecast_command(ctx, period, as_of, simulations: int, seed: int,
                     fmt: str) -> None:
    """Project each payee's and team's attainment and payout at the end
    of a period, as a range (10th, 50th and 90th percentiles).

    What closed by the date counts as it is; the open pipeline of the
    snapshot in force then is simulated deal by deal with its win
    probability, and a run rate covers deals not in it yet.
    """
    from .insights.forecast import forecast

    day = as_of.date() if as_of else None
    try:
        workspace = _workspace(ctx, snapshots=True)
        label = _one_period(workspace, period, day or date.today())
        result = forecast(workspace.catalog, workspace.inputs, label,
                          as_of=day, simulations=simulations, seed=seed,
                          metrics=workspace.metrics)
    except AttainError as exc:
        _fail(exc)

    if fmt == "json":
        _json(result.as_dict())
        return
    _forecast_text(result)


def _forecast_text(result) -> None:
    click.echo(
        f"Forecast of {result.period} as of {result.as_of}: "
        f"{len(result.pipeline)} open deal(s), {result.simulations} "
        f"simulations, seed {result.seed}, in {result.currency}."
    )
    headers = ["Id", "Name", "Quota", "Closed", "Att p10", "Att p50",
               "Att p90", "Pay p10", "Pay p50", "Pay p90", "Flags"]
    for scope in ("payee", "team"):
        body = []
        for row in (r for r in result.rows if r.scope == scope):
            att = row.attainment
            flags = []
            if row.below_threshold:
                flags.append("below threshold")
            if row.overdue_deals:
                flags.append(f"{len(row.overdue_deals)} overdue")
            body.append([
                row.id, row.name, _money(row.quota), _money(row.closed),
                *(_percent(getattr(att, p)) if att else "-"
                  for p in ("p10", "p50", "p90")),
                *(_money(getattr(row.payout, p))
                  for p in ("p10", "p50", "p90")),
                ", ".join(flags),
            ])
        click.echo()
        click.echo("Teams" if scope == "team" else "Payees")
        click.echo(_table(headers, body))


# -- coach --------------------------------------------------------------------


@cli.command()
@click.option("--period", metavar="LABEL",
              help="The period to coach on; by default the one holding "
              "today.")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False,
                                         path_type=Path),
              help="A coaching rules file (kind: coaching); by default "
              "the project's plan_specs/coaching/default.yaml.")
@click.option("--format", "fmt", type=FORMATS, default="text",
              show_default=True)
@click.pass_context
def coach(ctx, period: str | None, rules: Path | None, fmt: str) -> None:
    """Flag who needs help with what: each rule that fires for a seller,
    the evidence (the seller's numbers beside the team's) and the
    suggested focus."""
    from .insights.coaching import coach as run_rules
    from .insights.coaching import load_rules
    from .insights.kpis import KpiBook
    from .insights.report_data import default_rules

    try:
        workspace = _workspace(ctx)
        path = rules or default_rules(workspace.project.root)
        if path is None:
            raise click.UsageError(
                "The project has no plan_specs/coaching/default.yaml; name "
                "a rules file with --rules."
            )
        chosen = load_rules(path)
        label = _one_period(workspace, period, date.today())
        book = KpiBook(workspace.catalog, workspace.inputs,
                       workspace.metrics, [label])
        flags = run_rules(book, chosen, label)
    except AttainError as exc:
        _fail(exc)

    if fmt == "json":
        _json({"period": label, "rules": str(path),
               "flags": [flag.as_dict() for flag in flags]})
        return
    click.echo(f"Coaching for {label} ({chosen.name}): "
               f"{len(flags)} flag(s).")
    for flag in flags:
        click.echo()
        click.echo(f"{flag.payee_id} {flag.name}: {flag.title}")
        for kpi, pair in flag.evidence.items():
            click.echo(f"    {kpi}: {_kpi(kpi, pair['payee'])} "
                       f"(team {_kpi(kpi, pair['team'])})")
        click.echo(f"    Focus: {flag.focus}")


# -- planning -----------------------------------------------------------------


@cli.command()
@click.option("--format", "fmt", type=FORMATS, default="text",
              show_default=True)
@click.pass_context
def territories(ctx: click.Context, fmt: str) -> None:
    """Check territory rules against the deals: deals no rule covers,
    deals several rules claim (all-match sets), and the load of each
    rule."""
    from .evaluate import converter
    from .insights.planning import territory_report

    try:
        workspace = _workspace(ctx)
        plans = sorted(workspace.catalog.plans, key=lambda p: p.id)
        amount_of = converter(plans[0], workspace.inputs.rates) if plans \
            else None
        reports = territory_report(
            workspace.catalog.territories, workspace.inputs.deals,
            workspace.inputs.lists, amount_of,
        )
    except AttainError as exc:
        _fail(exc)

    if fmt == "json":
        _json([report.as_dict() for report in reports])
        return
    if not reports:
        click.echo("The plans define no territory rules.", err=True)
    for report in reports:
        _territory_text(report)


def _territory_text(report) -> None:
    click.echo(f"{report.id} ({report.name}), {report.match} match, "
               f"{report.deals} deals")
    click.echo(f"  Deals no rule covers: {len(report.uncovered)}"
               + (f" ({', '.join(report.uncovered[:10])}"
                  f"{', ...' if len(report.uncovered) > 10 else ''})"
                  if report.uncovered else ""))
    if report.match == "all":
        click.echo(f"  Deals several rules claim: "
                   f"{len(report.claimed_by_several)}")
    if report.idle_rules:
        click.echo(f"  Rules that took no deal: "
                   f"{', '.join(report.idle_rules)}")
    body = [[load.rule, load.assigns, str(load.deals), _money(load.amount)]
            for load in report.load]
    click.echo(_table(["Rule", "Assigns", "Deals", "Amount"], body))
    click.echo()


@cli.command()
@click.option("--target", required=True, metavar="AMOUNT",
              help="The annual target, in the plan currency.")
@click.option("--year", required=True, metavar="FY",
              help="The fiscal year to split it over, such as FY2027.")
@click.option("--period", type=click.Choice(["month", "quarter"]),
              default="quarter", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="text",
              show_default=True)
@click.pass_context
def quotas(ctx, target: str, year: str, period: str, fmt: str) -> None:
    """Split an annual target into periods by the seasonality of past
    bookings (won deals of the earlier fiscal years in the data)."""
    from .evaluate import converter
    from .insights.planning import fiscal_year_number, split_target

    amount = _amount(target, "--target")
    try:
        number = fiscal_year_number(year)
        workspace = _workspace(ctx)
        plan = sorted(workspace.catalog.plans, key=lambda p: p.id)[0]
        split = split_target(
            amount, number, workspace.inputs.deals, plan.calendar, period,
            plan.currency, converter(plan, workspace.inputs.rates),
        )
    except AttainError as exc:
        _fail(exc)

    if fmt == "json":
        _json(split.as_dict())
        return
    source = ", ".join(f"FY{y}" for y in split.history_years)
    click.echo(f"{_money(split.target)} over FY{split.fiscal_year} by "
               + (f"the seasonality of {source}." if source
                  else "even shares: no earlier bookings in the data."))
    body = [[part.label, _money(part.history), _percent(part.share),
             _money(part.amount)] for part in split.parts]
    click.echo(_table(["Period", "Past bookings", "Share", "Quota"], body,
                      left=1))


@cli.command()
@click.option("--target", required=True, metavar="AMOUNT",
              help="The annual target, in the plan currency.")
@click.option("--productivity", required=True, metavar="AMOUNT",
              help="What a fully ramped payee books in a year.")
@click.option("--ramp", default="", metavar="SHARES",
              help="A new hire's share of full productivity in their "
              "first periods, such as 25%,50%.")
@click.option("--period", type=click.Choice(["month", "quarter"]),
              default="quarter", show_default=True,
              help="The length of one ramp step.")
@click.option("--existing", default=0, show_default=True,
              type=click.IntRange(0), help="Fully ramped payees in place.")
@click.option("--format", "fmt", type=FORMATS, default="text",
              show_default=True)
def capacity(target: str, productivity: str, ramp: str, period: str,
             existing: int, fmt: str) -> None:
    """How many payees a target needs at a given productivity, when new
    hires ramp up; shows the arithmetic."""
    from .insights.planning import capacity as plan_capacity
    from .quantities import fraction

    try:
        shares = [fraction(part.strip()) for part in ramp.split(",")
                  if part.strip()]
    except (ValueError, ArithmeticError) as exc:
        raise click.BadParameter(str(exc), param_hint="--ramp") from None
    try:
        result = plan_capacity(
            _amount(target, "--target"),
            _amount(productivity, "--productivity"),
            shares, period, existing,
        )
    except AttainError as exc:
        _fail(exc)

    if fmt == "json":
        _json(result.as_dict())
        return
    for step in result.steps:
        click.echo(step)
