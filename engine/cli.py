"""The ``attain`` command line.

This is the one place where errors become text for people: results go
to stdout, progress and problems to stderr. Exit codes: 0 for success,
1 for invalid plans or data and failed runs, 2 for usage errors.

Heavy modules (the store, the plugin manager) are imported inside the
commands that use them, so ``attain --help`` and ``attain validate``
start fast.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import click

from . import __version__
from .errors import AttainError, Finding, InvalidPlanError, format_path


class _Group(click.Group):
    """Built-in commands, then the commands plugins add."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        if not hasattr(self, "_extra"):
            from .plugins import commands, get_plugin_manager

            self._extra = {c.name: c for c in commands(get_plugin_manager())}
        return self._extra

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return names + sorted(set(self._plugin_commands()) - set(names))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            try:
                command = self._plugin_commands().get(name)
            except AttainError as exc:
                raise click.ClickException(str(exc)) from None
        return command


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="attain")
@click.option(
    "--project",
    "-p",
    "project_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The project file; by default attain.yaml here or above.",
)
@click.pass_context
def cli(ctx: click.Context, project_path: Path | None) -> None:
    """Sales incentive compensation: plans as reviewed text, exact and
    explained pay."""
    ctx.obj = {"project_path": project_path}


def main() -> None:
    # A run makes a great many small objects (traces, amounts) and keeps
    # nearly all of them to the end: collecting cycles less often saves
    # time and frees nothing that matters.
    gc.set_threshold(50_000, 50, 100)
    try:
        cli(prog_name="attain")
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code) -> None:
    """End the process without tearing the interpreter down, which would
    only free memory the system takes back anyway and costs a tenth of a
    second after a run: once the exit handlers have run, DuckDB's
    connections are closed (which removes what they spilled to disk) and
    the streams are flushed. While a thread that is not a daemon still
    runs, the interpreter ends as usual instead: it stops the thread
    pools left open and waits for other threads."""
    import atexit
    import threading

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    current = threading.current_thread()
    if any(t is not current and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    deals = sys.modules.get("engine.dealtable")
    if deals is not None:
        deals.close_connections()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    os._exit(code or 0)


# -- shared ---------------------------------------------------------------


def _project(ctx: click.Context, required: bool = True):
    from .project import find_project, load_project

    path = ctx.obj.get("project_path") or find_project()
    if path is None:
        if required:
            raise click.UsageError(
                "No attain.yaml here or in any folder above. Run the "
                "command in a project folder, or name the file with "
                "--project."
            )
        return None
    if not path.is_file():
        raise click.UsageError(f"Project file '{path}' does not exist.")
    return load_project(path)


def _fail(exc: AttainError) -> None:
    if isinstance(exc, InvalidPlanError):
        _print_findings(exc.findings, "text")
    else:
        click.secho(f"Error: {exc}", fg="red", err=True)
    sys.exit(1)


def _print_findings(findings: list[Finding], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
        return
    if fmt == "github":
        for finding in findings:
            click.echo(_annotation(finding))
        return
    for finding in findings:
        click.echo(str(finding))


def _read_source(project, name: str, read):
    """A project table read for checking references; None if it is
    absent or unreadable (``attain run`` reports why)."""
    from .plugins import connectors, get_plugin_manager

    if name not in project.data:
        return None
    options = dict(project.data[name])
    connector = connectors(get_plugin_manager()).get(options.pop("connector"))
    if connector is None:
        return None
    options.pop("columns", None)
    try:
        return read(connector.open(options, project.root))
    except AttainError:
        return None


def _roster_ids(project) -> set[str] | None:
    """The roster's payee ids, for checking references."""
    from .data import read_roster

    rows = _read_source(project, "roster", read_roster)
    return None if rows is None else {row.payee_id for row in rows}


def _catalog(paths, project):
    from .loader import load_catalog
    from .plugins import get_plugin_manager, metrics

    return load_catalog(
        paths,
        deal_fields=project.deal_columns if project else None,
        payees=_roster_ids(project) if project else None,
        metrics=set(metrics(get_plugin_manager())),
    )


def _escape(text: str, in_property: bool = False) -> str:
    """Escape text for a GitHub workflow command.

    >>> _escape("50%, then\\n100%", in_property=True)
    '50%25%2C then%0A100%25'
    """
    text = text.replace("%", "%25").replace("\r", "%0D")
    text = text.replace("\n", "%0A")
    if in_property:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _annotation(finding: Finding) -> str:
    where = finding.location
    level = "error" if finding.is_error else "warning"
    props = []
    if where.file:
        props.append(f"file={_escape(_shown_path(where.file), True)}")
    if where.line is not None:
        props.append(f"line={where.line}")
    if where.column is not None:
        props.append(f"col={where.column}")
    props.append(f"title={_escape(finding.code, True)}")
    message = f"{finding.message} (at {format_path(where.path)})"
    return f"::{level} {','.join(props)}::{_escape(message)}"


def _shown_path(file: str) -> str:
    """A path relative to the current folder when it is below it, as
    GitHub matches annotations to the files of the repository."""
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# -- run --------------------------------------------------------------------


def _evaluate(ctx, periods, engine=None, *, progress=None, payee=None,
              credit_folder=None, read=None):
    """Read the project and evaluate its plans. With ``payee``, only the
    deals that credit that payee are evaluated, in Python, so that each
    line lists its deals even for a ledger read into DuckDB. ``read`` is
    called once the inputs are read."""
    from .evaluate import evaluate
    from .plugins import get_plugin_manager, metrics
    from .project import read_inputs

    progress = progress or (lambda stage: None)
    project = _project(ctx)
    catalog = _catalog(project.plans, project)
    if catalog.errors:
        raise InvalidPlanError(catalog.findings)
    pm = get_plugin_manager()
    engine = engine or project.engine
    progress("reading the inputs")
    inputs, hashes = read_inputs(
        project, pm, catalog.deal_fields, engine=engine
    )
    if read is not None:
        read()
    if payee is not None and not isinstance(inputs.deals, list):
        from .bulk import payee_inputs

        progress(f"finding the deals that credit {payee}")
        inputs = payee_inputs(catalog, inputs, payee, metrics(pm))
        engine = "python"
    asked = list(periods) or project.periods
    closings, frozen, adjustments = _closing_state(project)
    wanted = sorted(set(asked) | set(frozen)) if asked else []
    result = evaluate(
        catalog, inputs, wanted, metrics(pm), engine=engine,
        progress=progress, credit_folder=credit_folder,
    )
    hashes = dict(hashes)
    result.lines, result.waiting = _settle_closed(
        result.lines, asked, closings, frozen, adjustments, hashes
    )
    return project, catalog, pm, result, hashes


class _Progress:
    """Each stage of a run on stderr, with the time since the start, when
    stderr is a terminal; nothing otherwise."""

    def __init__(self, stream=None):
        import time

        self.stream = stream or sys.stderr
        self.clock = time.monotonic
        self.started = self.clock()
        self.shown = self.stream.isatty()

    def __call__(self, stage: str) -> None:
        if self.shown:
            elapsed = self.clock() - self.started
            self.stream.write(f"[{elapsed:7.1f} s] {stage}\n")
            self.stream.flush()


def _closing_state(project):
    """Closed periods, their frozen lines and manual adjustments, from
    the store when it exists."""
    url = _store_url(project)
    if url.startswith("sqlite:///"):
        if not Path(url[len("sqlite:///"):]).is_file():
            return {}, {}, []
    from .store import Store

    with Store.open(url) as store:
        return (
            store.closed_periods(), store.frozen_lines(), store.adjustments()
        )


def _settle_closed(lines, asked, closings, frozen, adjustments, hashes):
    from .closing import add_adjustments, apply_closed

    lines = add_adjustments(lines, adjustments)
    lines, waiting = apply_closed(lines, frozen, closings, hashes)
    if asked:
        lines = [
            line for line in lines
            if line.period not in frozen or _overlaps(line.period, asked)
        ]
    return lines, waiting


def _overlaps(label: str, asked) -> bool:
    return any(
        label == a or label.startswith(a + "-") or a.startswith(label + "-")
        for a in asked
    )


@cli.command()
@click.option(
    "--period", "periods", multiple=True, metavar="LABEL",
    help="A fiscal period such as FY2026-Q1 (repeatable); by default the "
    "project's periods, or every period the data reaches.",
)
@click.option(
    "--format", "fmt", default=None, metavar="NAME",
    help="Write payout lines to stdout in this format (csv, json, "
    "markdown or a plugin's) instead of the project's outputs.",
)
@click.option(
    "--no-store", is_flag=True, help="Do not record the run in the store."
)
@click.option(
    "--engine", type=click.Choice(["python", "duckdb", "auto"]),
    default=None, help="Where credits and measures are computed; by "
    "default the project's engine (auto: DuckDB for a deal file over "
    "2 MB).",
)
@click.pass_context
def run(
    ctx: click.Context, periods, fmt: str | None, no_store: bool,
    engine: str | None,
) -> None:
    """Evaluate the project's plans and write payout lines."""
    from .plugins import output_formats

    started = datetime.now(timezone.utc)
    progress = _Progress()
    try:
        project = _project(ctx)
        folder = None if no_store else _credit_folder(project)
        project, catalog, pm, result, hashes = _evaluate(
            ctx, periods, engine, progress=progress, credit_folder=folder,
            read=None if no_store else _load_in_background,
        )
        progress("writing the payout lines")
        formats = output_formats(pm)
        outputs = project.outputs if fmt is None else []
        rendered = [
            (o["path"], _format(formats, o["format"]).render_payouts(result.lines))
            for o in outputs
        ]
        record = _record(project, catalog, started, hashes, result.lines)
        if folder is not None:
            record.credit_tables = _credit_tables(result, folder)
        staged = [_stage(path, text) for path, text in rendered]
        try:
            if not no_store:
                _save(project, record)
        except BaseException:
            for temp, _ in staged:
                os.unlink(temp)
            raise
        for temp, path in staged:
            os.replace(temp, path)
    except AttainError as exc:
        _fail(exc)

    if fmt is not None:
        click.echo(_format(formats, fmt).render_payouts(result.lines), nl=False)
    _summary(record, [path for path, _ in rendered], no_store)
    _report_waiting(result.waiting)


def _load_in_background(module: str = "engine.store") -> None:
    """Import ``module`` on another thread: the store's libraries take a
    good part of a second to load, which DuckDB, not holding the
    interpreter while it computes credits and measures, leaves time for.
    Started earlier, the import would hold the interpreter while the
    ledger's read is being set up, and delay it."""
    import importlib
    import threading

    threading.Thread(
        target=importlib.import_module, args=(module,), daemon=True
    ).start()


def _report_waiting(waiting: list[dict]) -> None:
    for item in waiting:
        click.secho(
            f"Warning: recomputing closed period {item['closed_period']} "
            f"changes the pay of {item['payee_id']} on {item['plan_id']} "
            f"by {item['difference']}; no open period after it was "
            "computed, so the adjustment waits for the next one.",
            fg="yellow",
            err=True,
        )


def _record(project, catalog, started, hashes, lines):
    """A finished run as the store records it, with each plan's git
    provenance."""
    from .results import PlanRef, RunResult
    from .vcs import provenance

    return RunResult(
        run_id=uuid.uuid4().hex,
        started_at=started,
        finished_at=datetime.now(timezone.utc),
        engine_version=__version__,
        project=str(project.path),
        periods=sorted({line.period for line in lines}),
        plans=[
            PlanRef(p.id, p.version, p.content_hash, p.file,
                    *provenance(p.file))
            for p in catalog.plans
        ],
        inputs=hashes,
        lines=lines,
    )


def _format(formats, name: str):
    if name not in formats:
        from .schema import did_you_mean

        raise click.UsageError(
            f"No output format '{name}'.{did_you_mean(name, formats)} "
            f"Formats: {', '.join(sorted(formats))}."
        )
    return formats[name]


def _stage(path: str, text: str) -> tuple[str, str]:
    """Write ``text`` beside ``path`` under a temporary name."""
    folder = Path(path).parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".attain-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return temp, path


def _store_url(project) -> str:
    from .project import default_store_url

    return project.store_url or default_store_url(project.root)


def _credit_tables(result, folder: Path) -> Mapping[str, str]:
    """The run's credit tables as Parquet: those DuckDB writes, and those
    computed in Python. DuckDB's may still be being written; reading
    the mapping (as the store does, after the payout lines) waits."""
    from .bulk import write_credit_lists

    rest = {
        k: v for k, v in result.credits.items()
        if k not in result.credit_tables
    }
    if not rest:
        return result.credit_tables
    return {**result.credit_tables, **write_credit_lists(rest, folder)}


def _credit_folder(project) -> Path:
    """Where credit tables are written: beside a SQLite store, else in
    the project's ``.attain`` folder."""
    url = _store_url(project)
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).parent / "credits"
    return project.root / ".attain" / "credits"


def _save(project, record) -> None:
    from .store import Store

    with Store.open(_store_url(project)) as store:
        store.save_run(record)


def _summary(record, written: list[str], no_store: bool) -> None:
    totals: dict[str, Any] = {}
    payees = set()
    for line in record.lines:
        totals[line.currency] = totals.get(line.currency, 0) + line.amount
        payees.add(line.payee_id)
    money = ", ".join(f"{v:,} {k}" for k, v in sorted(totals.items()))
    stored = "" if no_store else f"Run {record.run_id[:12]} recorded. "
    click.echo(
        f"{stored}{len(record.lines)} payout line(s) for {len(payees)} "
        f"payee(s) in {', '.join(record.periods) or 'no period'}: "
        f"{money or 'nothing'}.",
        err=True,
    )
    for path in written:
        click.echo(f"Wrote {path}", err=True)


# -- explain ----------------------------------------------------------------


@cli.command()
@click.argument("payee")
@click.option("--period", "periods", multiple=True, metavar="LABEL",
              help="Fiscal periods to show (repeatable).")
@click.option("--run", "run_id", metavar="RUN",
              help="Explain a recorded run instead of computing afresh.")
@click.option("--format", "fmt", default="markdown", show_default=True,
              metavar="NAME", help="markdown, json, csv or a plugin's.")
@click.pass_context
def explain(ctx, payee: str, periods, run_id: str | None, fmt: str) -> None:
    """Show one payee's statement: every line of pay and the deals
    behind it."""
    from .plugins import get_plugin_manager, output_formats
    from .results import Statement

    try:
        if run_id:
            lines = _stored_lines(ctx, run_id)
        else:
            years = sorted({label[:6] for label in periods})
            _, _, _, result, _ = _evaluate(ctx, years, payee=payee)
            lines = result.lines
        lines = _year_so_far(lines, periods)
        mine = [line for line in lines if line.payee_id == payee]
        if not mine:
            _no_lines(payee, lines)
        render = _format(output_formats(get_plugin_manager()), fmt)
    except AttainError as exc:
        _fail(exc)
    first = mine[0]
    statement = Statement(
        payee_id=payee,
        payee_name=first.payee_name,
        role=first.trace.get("role", ""),
        currency=first.currency,
        periods=sorted({line.period for line in mine}),
        lines=mine,
    )
    click.echo(render.render_statement(statement), nl=False)


def _stored_lines(ctx, run_id: str):
    from .store import Store

    project = _project(ctx)
    with Store.open(_store_url(project)) as store:
        return store.get_run(run_id).lines


def _year_so_far(lines, periods):
    """The lines of each asked-for period and of the periods of its
    fiscal year before it; every line when no period is asked for."""
    if not periods:
        return lines
    last: dict[str, date | None] = {}
    for label in periods:
        year = label[:6]
        ends = [line.period_end for line in lines if line.period == label]
        if not ends or last.get(year, date.min) is None:
            last[year] = None
        else:
            last[year] = max(last.get(year, date.min), *ends)

    def shown(line) -> bool:
        year = line.period[:6]
        if year not in last:
            return False
        return last[year] is None or line.period_end <= last[year]

    return [line for line in lines if shown(line)]


def _no_lines(payee: str, lines) -> None:
    from .schema import did_you_mean

    payees = {line.payee_id for line in lines}
    hint = did_you_mean(payee, payees)
    raise click.ClickException(
        f"No payout lines for '{payee}' in the periods computed.{hint}"
    )


# -- runs and show ------------------------------------------------------------


@cli.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
@click.pass_context
def runs(ctx: click.Context, limit: int, fmt: str) -> None:
    """List recorded runs, newest first."""
    from .store import Store

    try:
        with Store.open(_store_url(_project(ctx))) as store:
            found = store.list_runs(limit)
    except AttainError as exc:
        _fail(exc)
    if fmt == "json":
        click.echo(json.dumps([_summary_dict(r) for r in found], indent=2))
        return
    if not found:
        click.echo("No runs recorded yet. `attain run` records one.", err=True)
    for r in found:
        plans = ", ".join(f"{p}@{v}" for p, v in r.plans)
        totals = ", ".join(
            f"{amount:,} {cur}" for cur, amount in r.total_by_currency.items()
        )
        click.echo(
            f"{r.run_id[:12]}  {r.started_at:%Y-%m-%d %H:%M}  {r.status:<9}  "
            f"{','.join(r.periods)}  {r.line_count} lines  {totals}  {plans}"
        )


def _summary_dict(r) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat(),
        "status": r.status,
        "periods": r.periods,
        "plans": [{"id": p, "version": v} for p, v in r.plans],
        "lines": r.line_count,
        "totals": {k: str(v) for k, v in r.total_by_currency.items()},
    }


@cli.command()
@click.argument("run_id", metavar="RUN")
@click.option("--format", "fmt", default="markdown", show_default=True,
              metavar="NAME", help="markdown, json, csv or a plugin's.")
@click.pass_context
def show(ctx: click.Context, run_id: str, fmt: str) -> None:
    """Print one recorded run: what it evaluated and its payout lines."""
    from .plugins import get_plugin_manager, output_formats
    from .store import Store

    try:
        with Store.open(_store_url(_project(ctx))) as store:
            record = store.get_run(run_id)
        render = _format(output_formats(get_plugin_manager()), fmt)
    except AttainError as exc:
        _fail(exc)
    out = click.echo
    err = sys.stderr
    print(f"Run {record.run_id}", file=err)
    print(f"  started  {record.started_at.isoformat()}", file=err)
    print(f"  engine   attain {record.engine_version}", file=err)
    print(f"  periods  {', '.join(record.periods)}", file=err)
    for plan in record.plans:
        print(
            f"  plan     {plan.plan_id}@{plan.version} {plan.path} "
            f"sha256:{plan.content_hash[:12]}{_provenance(plan)}",
            file=err,
        )
    for name, digest in sorted(record.inputs.items()):
        print(f"  input    {name} sha256:{digest[:12]}", file=err)
    folder = _credit_folder(_project(ctx))
    for key, digest in sorted(record.credit_tables.items()):
        print(f"  credits  {key} {_shown_path(str(folder / digest))}"
              ".parquet", file=err)
    out(render.render_payouts(record.lines), nl=False)


def _provenance(plan) -> str:
    """Where a plan came from in git, as ``attain show`` prints it."""
    if plan.commit is None and plan.dirty is None:
        return ""
    commit = f" git {plan.commit[:12]}" if plan.commit else " git (new file)"
    return commit + (" with uncommitted changes" if plan.dirty else "")


# -- plugins --------------------------------------------------------------------


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def plugins(fmt: str) -> None:
    """List installed plugins, their versions and what they provide."""
    from . import plugins as registry

    try:
        pm = registry.get_plugin_manager()
        infos = registry.describe_plugins(pm)
        provided = {
            "connectors": sorted(registry.connectors(pm)),
            "output formats": sorted(registry.output_formats(pm)),
            "metrics": sorted(registry.metrics(pm)),
            "commands": sorted(c.name for c in registry.commands(pm)),
        }
    except AttainError as exc:
        _fail(exc)
    if fmt == "json":
        click.echo(json.dumps({
            "plugins": [
                {"name": i.name, "distribution": i.distribution,
                 "version": i.version, "hooks": list(i.hooks)}
                for i in infos
            ],
            **{k.replace(" ", "_"): v for k, v in provided.items()},
        }, indent=2))
        return
    for info in infos:
        origin = info.distribution or "built-in"
        click.echo(f"{info.name} ({origin} {info.version})")
        for hook in info.hooks:
            click.echo(f"    {hook}")
    for what, names in provided.items():
        click.echo(f"{what}: {', '.join(names) or '-'}")


from . import (  # noqa: E402,F401
    cli_insights,
    cli_periods,
    cli_plans,
    cli_report,
    cli_validate,
)
