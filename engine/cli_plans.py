"""Commands for plans kept in git: ``attain test``, ``diff`` and ``schema``.

They join the ``attain`` group defined in :mod:`engine.cli` and follow
its rules: results on stdout, problems on stderr, exit 1 for a failed
check and 2 for a usage error.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import click

from .cli import _fail, _project, _shown_path, cli
from .errors import AttainError, InvalidPlanError

DATA_OPTIONS = ("deals", "roster", "quotas", "splits", "exchange_rates")


# -- test -----------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
@click.option("--fail-on-empty", is_flag=True,
              help="Exit 1 when no test file is found.")
@click.option("--update", is_flag=True,
              help="Write the actual values over the expected ones that "
              "differ, keeping comments and layout. Review the change.")
@click.pass_context
def test(ctx: click.Context, paths: tuple[Path, ...], fmt: str,
         fail_on_empty: bool, update: bool) -> None:
    """Run plan tests: the kind: test files at PATHS (files or folders).

    With no PATHS, the test files among the project's plan folders. A
    case passes when every payout, credit and measure it expects comes
    out as written; the closing line counts cases.
    """
    from .plantest import run_tests, update_expected

    try:
        if not paths:
            paths = tuple(_project(ctx).plans)
        report = run_tests(paths)
    except AttainError as exc:
        _fail(exc)

    if not report.results:
        click.echo("No test files found.", err=True)
        if fmt == "json":
            click.echo(json.dumps(report.as_dict(), indent=2))
        sys.exit(1 if fail_on_empty else 0)

    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_failures(report)

    updated = update_expected(report) if update else {}
    for file, count in updated.items():
        click.echo(f"Updated {count} expected value(s) in {file}", err=True)
    if fmt == "text":
        click.echo(f"{report.passed} passed, {report.failed} failed")
    if _remaining(report, updated):
        sys.exit(1)


def _print_failures(report) -> None:
    for result in report.results:
        for failure in result.failures:
            where = failure.location
            if where.file is not None:
                where = replace(where, file=_shown_path(where.file))
            click.echo(f"{where}: {failure.message}")
            if result.location.line is not None and failure.expectation:
                click.echo(f"    in case '{result.name}'")
            for text in failure.explanation:
                click.echo(f"    {text}")


def _remaining(report, updated: dict[str, int]) -> bool:
    """Whether failures remain after ``--update`` fixed what it could."""
    for result in report.results:
        for failure in result.failures:
            fixed = (
                result.file in updated
                and failure.expectation is not None
                and failure.actual is not None
            )
            if not fixed:
                return True
    return False


# -- diff -----------------------------------------------------------------


@cli.command()
@click.argument("old", required=True)
@click.argument("new", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True)
@click.option("--fail-above", metavar="LIMIT",
              help="Exit 1 when pay changes by more than LIMIT in all: an "
              "amount in the plan currency (1000) or a share of the old "
              "total (5%).")
@click.option("--period", "periods", multiple=True, metavar="LABEL",
              help="A fiscal period to compare (repeatable); by default the "
              "project's periods, or every period.")
@click.option("--deals", type=click.Path(exists=True, dir_okay=False,
                                         path_type=Path))
@click.option("--roster", type=click.Path(exists=True, dir_okay=False,
                                          path_type=Path))
@click.option("--quotas", type=click.Path(exists=True, dir_okay=False,
                                          path_type=Path))
@click.option("--splits", type=click.Path(exists=True, dir_okay=False,
                                          path_type=Path))
@click.option("--exchange-rates", "exchange_rates",
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def diff(ctx: click.Context, old: str, new: str | None, fmt: str,
         fail_above: str | None, periods, **files) -> None:
    """Show how a plan change moves pay, payee by payee.

    \b
    attain diff OLD.yaml NEW.yaml   two plan files (or two folders)
    attain diff REV                 the work tree against a git revision
    attain diff REV1 REV2           two git revisions

    Both sides run over the same data: the project's, or the files given
    with --deals, --roster and so on. Payees whose pay does not change
    are counted, not listed.
    """
    from . import impact as pay_impact

    try:
        project = _project(ctx, required=not (files["deals"] and
                                              files["roster"]))
        with tempfile.TemporaryDirectory(prefix="attain-diff-") as temp:
            sides = _sides(project, old, new, Path(temp))
            result = _compare(project, sides, files, periods)
        limit_message = (
            pay_impact.threshold_exceeded(result, fail_above)
            if fail_above else None
        )
    except AttainError as exc:
        _fail(exc)

    render = {
        "text": pay_impact.render_text,
        "markdown": pay_impact.render_markdown,
        "json": pay_impact.render_json,
    }[fmt]
    click.echo(render(result), nl=False)
    if limit_message:
        click.secho(f"Error: {limit_message}", fg="red", err=True)
        sys.exit(1)


def _sides(project, old: str, new: str | None, temp: Path):
    """(old label, old paths, new label, new paths, changed files);
    the changed files are None when two files or folders are compared."""
    from . import impact as pay_impact

    plans = list(project.plans) if project else []
    if new is not None and Path(old).exists() and Path(new).exists():
        old_paths, new_paths = pay_impact.sides_from_files(
            Path(old), Path(new), plans
        )
        return old, old_paths, new, new_paths, None
    if Path(old).exists() and new is None:
        raise click.UsageError(
            f"'{old}' is a file, and a file needs another to compare "
            "with: attain diff OLD.yaml NEW.yaml. To compare with a git "
            "revision, name the revision."
        )
    if not plans:
        raise click.UsageError(
            "Comparing revisions needs a project (attain.yaml) that names "
            "the plans."
        )

    changed = pay_impact.changed_plan_files(old, plans, new)
    old_paths = pay_impact.plans_at_revision(old, plans, temp / "old")
    if new is None:
        return old, old_paths, "working tree", plans, changed
    new_paths = pay_impact.plans_at_revision(new, plans, temp / "new")
    return old, old_paths, new, new_paths, changed


def _compare(project, sides, files, periods):
    from .evaluate import evaluate
    from .impact import Impact, compare
    from .plugins import get_plugin_manager, metrics

    old_label, old_paths, new_label, new_paths, changed = sides
    if changed == []:
        return Impact(old_label, new_label, [], 0, {}, [])

    pm = get_plugin_manager()
    known = set(metrics(pm))
    columns = project.deal_columns if project else None
    old_catalog = _side_catalog(old_paths, old_label, columns, known)
    new_catalog = _side_catalog(new_paths, new_label, columns, known)
    fields = {**old_catalog.deal_fields, **new_catalog.deal_fields}
    inputs = _inputs(project, files, pm, fields)

    chosen = list(periods) or (project.periods if project else [])
    result = compare(
        evaluate(old_catalog, inputs, chosen, metrics(pm)).lines,
        evaluate(new_catalog, inputs, chosen, metrics(pm)).lines,
        old_label,
        new_label,
    )
    result.changed_files = changed or []
    return result


def _side_catalog(paths, label: str, columns, known):
    from .loader import load_catalog

    catalog = load_catalog(paths, deal_fields=columns, metrics=known)
    if catalog.errors:
        click.echo(f"The plans of {label} are invalid:", err=True)
        raise InvalidPlanError(catalog.findings)
    return catalog


def _inputs(project, files, pm, fields):
    from .project import Project, read_inputs

    data = dict(project.data) if project else {}
    for name in DATA_OPTIONS:
        given = files.get(name)
        if given is not None:
            connector = "jsonl" if given.suffix == ".jsonl" else "csv"
            data[name] = {"connector": connector, "path": str(given.resolve())}
    base = project or Project(
        path=Path.cwd() / "attain.yaml", name="command line", plans=[],
        data=data,
    )
    base = Project(base.path, base.name, base.plans, data, base.periods)
    inputs, _ = read_inputs(base, pm, fields)
    return inputs


# -- schema ---------------------------------------------------------------


@cli.command()
@click.argument("name", required=False,
                type=click.Choice(["plan", "project", "test", "coaching"]))
def schema(name: str | None) -> None:
    """Print the JSON Schema of plan, project, test or coaching files
    (all of them, keyed by name, when none is given)."""
    from .schema import SCHEMA_NAMES, load_schema

    if name is not None:
        found = load_schema(name)
    else:
        found = {n: load_schema(n) for n in SCHEMA_NAMES}
    click.echo(json.dumps(found, indent=2))
