"""``attain report``: the dashboard and every payee's statement as HTML
pages that open with no network, or the report data as JSON."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from .cli import _fail, _project, _stage, cli
from .errors import AttainError


@cli.command()
@click.option(
    "--period", "periods", multiple=True, metavar="LABEL",
    help="A fiscal period such as FY2026-Q1 (repeatable); by default the "
    "project's periods, or every period the data reaches.",
)
@click.option(
    "--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    help="Forecast from what was known on this date (YYYY-MM-DD).",
)
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write; by default report/ in the project folder.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["html", "json"]), default="html",
    show_default=True,
    help="html writes the pages; json prints the report data instead.",
)
@click.pass_context
def report(
    ctx: click.Context,
    periods: tuple[str, ...],
    as_of: datetime | None,
    out: Path | None,
    fmt: str,
) -> None:
    """Write the dashboard (index.html) and one statement per payee
    (statements/PAYEE.html), and print the paths written."""
    from .report import render_report

    try:
        project = _project(ctx)
        data = _report_data(
            project.path, list(periods), as_of.date() if as_of else None
        )
    except AttainError as exc:
        _fail(exc)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False,
                              default=_json_value))
        return

    folder = out if out is not None else project.root / "report"
    try:
        written = write_pages(folder, render_report(data))
    except OSError as exc:
        raise click.ClickException(
            f"Cannot write the report in '{folder}': {exc.strerror or exc}."
        ) from None

    for path in written:
        click.echo(str(path))
    click.echo(
        f"Wrote the dashboard and {len(written) - 1} statement(s) to "
        f"{folder}.",
        err=True,
    )


def _report_data(
    project_path: Path, periods: list[str], as_of: date | None
) -> dict[str, Any]:
    from .insights.report_data import build_report_data

    return build_report_data(project_path, periods=periods or None,
                             as_of=as_of)


def write_pages(folder: Path, pages: dict[str, str]) -> list[Path]:
    """Write each page under ``folder`` all or nothing: every page goes
    to a temporary file first, and only when all are written do they
    take their names."""
    staged = []
    try:
        for name, text in pages.items():
            staged.append(_stage(str(folder / name), text))
    except BaseException:
        for temp, _ in staged:
            os.unlink(temp)
        raise

    for temp, path in staged:
        os.replace(temp, path)
    return [Path(path) for _, path in staged]


def _json_value(value: Any) -> str:
    # The report data is JSON-ready; this keeps a stray Decimal or date
    # exact instead of failing.
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
