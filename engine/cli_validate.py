"""``attain validate``: every finding in plan, test and coaching files.

Findings print as ``file:line:col: CODE message``, as JSON, or as GitHub
workflow annotations; the exit code is 1 when any is an error.
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

import click

from .cli import (
    _catalog,
    _escape,
    _fail,
    _print_findings,
    _project,
    _read_source,
    _shown_path,
    cli,
)
from .errors import AttainError, Finding, format_path


@cli.command()
@click.argument(
    "paths", nargs=-1, type=click.Path(exists=True, path_type=Path)
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "github"]),
    default="text", show_default=True,
    help="How findings are printed; github prints workflow annotations.",
)
@click.option(
    "--strict", is_flag=True, help="Treat warnings as errors (exit 1)."
)
@click.option(
    "--changed-since", "since", metavar="REV",
    help="Report findings only in plan and test files changed since the "
    "git revision REV; every plan is still loaded, so references to "
    "unchanged files must resolve.",
)
@click.pass_context
def validate(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    strict: bool,
    since: str | None,
) -> None:
    """Check plan files and folders: schema, references, bands, formulas.

    With no PATHS, checks the project's plans. Test files among them are
    checked against the test schema. Prints nothing but a summary when
    all is valid; exits 1 when anything is invalid.
    """
    try:
        project = _project(ctx, required=not paths)
        chosen = list(paths) or project.plans
        catalog = _catalog(chosen, project)
        coaching = _coaching_among(chosen)
        findings = (
            catalog.findings
            + _test_findings(chosen)
            + _coaching_findings(coaching)
            + _split_findings(catalog, project)
        )
        files = (
            len(catalog.files) + len(_tests_among(chosen)) + len(coaching)
        )
        if since is not None:
            findings = _changed_only(findings, chosen, since)
    except AttainError as exc:
        _fail_as(exc, fmt)
    if strict:
        findings = [replace(f, severity="error") for f in findings]

    _print_findings(findings, fmt)
    errors = sum(1 for f in findings if f.is_error)
    warnings = len(findings) - errors
    click.echo(
        f"{errors} error(s), {warnings} warning(s) in {files} file(s).",
        err=True,
    )
    if errors:
        sys.exit(1)


def _coaching_among(paths) -> list[Path]:
    """The coaching rule files among the plan files and folders."""
    from .loader import plan_files

    found = []
    for path in plan_files(paths):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        if re.search(r"^kind:\s*coaching\s*$", text, re.MULTILINE):
            found.append(path)
    return found


def _coaching_findings(paths) -> list[Finding]:
    """Findings in coaching rule files; the KPI engine the checks need
    is imported only when there is such a file."""
    if not paths:
        return []
    from .insights.coaching import check_rules_file

    return [f for path in paths for f in check_rules_file(path)]


def _tests_among(paths) -> list[Path]:
    from .plantest import find_test_files, is_test_file

    return [p for p in find_test_files(paths) if is_test_file(p)]


def _test_findings(paths) -> list[Finding]:
    from .plantest import check_test_file

    return [f for p in _tests_among(paths) for f in check_test_file(p)]


def _changed_only(findings: list[Finding], paths, since: str):
    """The findings in files that differ from revision ``since``."""
    from . import vcs

    root = vcs.require_repo(Path(paths[0]) if paths else Path.cwd())
    changed = {
        (root / name).resolve() for name in vcs.changed_files(root, since)
    }
    return [
        f for f in findings
        if f.location.file is None
        or Path(f.location.file).resolve() in changed
    ]


def _fail_as(exc: AttainError, fmt: str) -> None:
    """Stop with ``exc``; as annotations when GitHub reads the output."""
    if fmt == "github":
        findings = getattr(exc, "findings", None)
        if findings:
            _print_findings(findings, fmt)
        else:
            click.echo(f"::error::{_escape(str(exc))}")
        sys.exit(1)
    _fail(exc)


def _split_findings(catalog, project) -> list[Finding]:
    """Deals in the project's split table whose splits do not add up to
    the total a crediting declares."""
    from .checks import check_split_totals
    from .data import read_splits

    if project is None:
        return []
    rows = _read_source(project, "splits", read_splits)
    return check_split_totals(catalog, rows or [])
