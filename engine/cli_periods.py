"""Commands for periods that are paid: ``attain close``, ``adjust`` and
``adjustments``.

A closed period's pay never changes again; later differences reach the
payee as prior-period adjustments. Manual adjustments carry a reason
and an author and are part of every run after they are entered.
"""

from __future__ import annotations

import csv
import json
import os
import re
import uuid
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from .cli import (
    _evaluate,
    _fail,
    _project,
    _record,
    _save,
    _store_url,
    cli,
)
from .errors import AttainError, ConfigError, DataError

_LABEL = re.compile(r"^FY\d{4}(-(Q[1-4]|M(0[1-9]|1[0-2])))?$")


def _author(given: str | None) -> str:
    import getpass

    if given:
        return given
    for name in ("ATTAIN_AUTHOR", "USER", "LOGNAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise click.UsageError("Say who you are with --author.") from None


def _check_label(label: str) -> None:
    if not _LABEL.match(label):
        raise click.UsageError(
            f"'{label}' is not a fiscal period. Write FY2026 for a year, "
            "FY2026-Q1 for a quarter or FY2026-M01 for a month."
        )


# -- close ------------------------------------------------------------------


@cli.command()
@click.argument("period")
@click.option("--author", help="Who closes it; by default the login name.")
@click.pass_context
def close(ctx: click.Context, period: str, author: str | None) -> None:
    """Freeze PERIOD's pay: compute and record a run, and keep its lines
    for PERIOD from now on."""
    from .closing import ClosedPeriod
    from .store import Store

    _check_label(period)
    by = _author(author)
    try:
        project = _project(ctx)
        with Store.open(_store_url(project)) as store:
            if period in store.closed_periods():
                raise ConfigError(f"{period} is closed already.")
        started = datetime.now(timezone.utc)
        project, catalog, _, result, hashes = _evaluate(ctx, [period])
        lines = [line for line in result.lines if line.period == period]
        if not lines:
            raise ConfigError(
                f"No payout lines fall in {period}, so there is nothing to "
                "close. Close a period of the plans' own length, such as "
                "FY2026-Q1 for quarterly plans."
            )
        record = _record(project, catalog, started, hashes, lines)
        _save(project, record)
        with Store.open(_store_url(project)) as store:
            store.close_period(ClosedPeriod(
                period, record.run_id, datetime.now(timezone.utc), by, hashes
            ))
    except AttainError as exc:
        _fail(exc)
    total = sum(line.amount for line in lines)
    click.echo(
        f"Closed {period}: {len(lines)} payout line(s), {total:,} in all, "
        f"frozen as run {record.run_id[:12]}.",
        err=True,
    )


# -- adjustments --------------------------------------------------------------


@cli.command()
@click.argument("payee", required=False)
@click.argument("amount", required=False)
@click.option("--period", metavar="LABEL", help="The period it is paid in.")
@click.option("--reason", help="Why: shown on the payee's statement.")
@click.option("--author", help="Who enters it; by default the login name.")
@click.option("--plan", "plan_id", help="The plan, when the payee has two.")
@click.option(
    "--file", "path", type=click.Path(exists=True, dir_okay=False,
                                      path_type=Path),
    help="A CSV of adjustments: payee_id, period, amount, reason, and "
    "optionally author and plan.",
)
@click.pass_context
def adjust(ctx, payee, amount, period, reason, author, plan_id, path) -> None:
    """Enter a manual adjustment (a bonus, a correction) for PAYEE.

    It is kept in the store and paid in every run that covers PERIOD.
    """
    from .store import Store

    try:
        project = _project(ctx)
        if path is not None:
            entries = _from_file(path, _author(author))
        else:
            entries = [_one(payee, amount, period, reason,
                            _author(author), plan_id)]
        payees = _payees(project)
        with Store.open(_store_url(project)) as store:
            closed = store.closed_periods()
            for entry, where in entries:
                _check_entry(entry, where, payees, closed)
            store.add_adjustments([entry for entry, _ in entries])
    except AttainError as exc:
        _fail(exc)
    for entry, _ in entries:
        click.echo(
            f"Adjustment {entry.adjustment_id[:8]}: {entry.amount:,} for "
            f"{entry.payee_id} in {entry.period} ({entry.reason}).",
            err=True,
        )


def _one(payee, amount, period, reason, author, plan_id):
    missing = [
        name for name, value in (("PAYEE", payee), ("AMOUNT", amount),
                                 ("--period", period), ("--reason", reason))
        if not value
    ]
    if missing:
        raise click.UsageError(
            f"Missing {', '.join(missing)}. For example: attain adjust "
            "AE-001 1500 --period FY2026-Q2 --reason 'Spiff approved'."
        )
    _check_label(period)
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise click.UsageError(
            f"'{amount}' is not an amount; write it like 1500 or -250.50."
        ) from None
    return _entry(payee, period, value, reason, author, plan_id), None


def _entry(payee, period, amount, reason, author, plan_id):
    from .closing import Adjustment

    return Adjustment(
        adjustment_id=uuid.uuid4().hex,
        payee_id=payee,
        period=period,
        amount=amount,
        reason=reason,
        author=author,
        created_at=datetime.now(timezone.utc),
        plan_id=plan_id or None,
    )


def _from_file(path: Path, author: str):
    name = str(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        needed = {"payee_id", "period", "amount", "reason"}
        lacking = needed - set(reader.fieldnames or ())
        if lacking:
            raise DataError(
                f"Missing column(s) {', '.join(sorted(lacking))}; an "
                "adjustments file has payee_id, period, amount, reason and "
                "optionally author and plan.",
                source=name, row=1,
            )
        entries = []
        for row in reader:
            line = reader.line_num
            try:
                amount = Decimal((row["amount"] or "").strip())
            except InvalidOperation:
                raise DataError(
                    f"'{row['amount']}' is not an amount.",
                    source=name, row=line, column="amount",
                ) from None
            for column in ("payee_id", "period", "reason"):
                if not (row[column] or "").strip():
                    raise DataError("This cell must not be empty.",
                                    source=name, row=line, column=column)
            entry = _entry(
                row["payee_id"].strip(), row["period"].strip(), amount,
                row["reason"].strip(),
                (row.get("author") or "").strip() or author,
                (row.get("plan") or "").strip(),
            )
            entries.append((entry, (name, line)))
    return entries


def _payees(project) -> set[str]:
    from .cli import _roster_ids

    return _roster_ids(project) or set()


def _check_entry(entry, where, payees, closed) -> None:
    def problem(message, column):
        if where is None:
            raise ConfigError(message)
        raise DataError(message, source=where[0], row=where[1], column=column)

    if not _LABEL.match(entry.period):
        problem(f"'{entry.period}' is not a fiscal period such as "
                "FY2026-Q1.", "period")
    if payees and entry.payee_id not in payees:
        from .schema import did_you_mean

        problem(f"No payee '{entry.payee_id}' in the roster."
                f"{did_you_mean(entry.payee_id, payees)}", "payee_id")
    if entry.period in closed:
        problem(f"{entry.period} is closed. Enter the adjustment in an open "
                "period; its statement will show it.", "period")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
@click.pass_context
def adjustments(ctx: click.Context, fmt: str) -> None:
    """List manual adjustments and closed periods."""
    from .store import Store

    try:
        with Store.open(_store_url(_project(ctx))) as store:
            found = store.adjustments()
            closed = store.closed_periods()
    except AttainError as exc:
        _fail(exc)
    if fmt == "json":
        click.echo(json.dumps({
            "adjustments": [
                {"id": a.adjustment_id, "payee_id": a.payee_id,
                 "period": a.period, "amount": str(a.amount),
                 "reason": a.reason, "author": a.author, "plan": a.plan_id,
                 "entered": a.created_at.isoformat()}
                for a in found
            ],
            "closed_periods": [
                {"period": c.period, "run_id": c.run_id,
                 "closed_by": c.closed_by, "closed_at": c.closed_at.isoformat()}
                for c in closed.values()
            ],
        }, indent=2))
        return
    for c in sorted(closed.values(), key=lambda c: c.period):
        click.echo(f"closed {c.period}  {c.closed_at:%Y-%m-%d}  {c.closed_by}"
                   f"  run {c.run_id[:12]}")
    for a in found:
        click.echo(f"{a.adjustment_id[:8]}  {a.period}  {a.payee_id}  "
                   f"{a.amount:,}  {a.author}  {a.reason}")
