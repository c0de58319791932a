"""Commands import only what they use.

``attain --help`` and ``attain validate`` never touch the run store or
the columnar engine, and those imports alone cost more than the rest
of the command. Each command here runs in a fresh interpreter that
writes down, as it exits, every module it imported.

A command also ends without tearing the interpreter down; what it wrote,
its exit handlers and its exit status must survive that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Runs `attain ARGS` and, at exit, writes the names of all imported
# modules as JSON to the file given as the first argument.
PROBE = """\
import atexit, json, sys

out, sys.argv = sys.argv[1], ["attain", *sys.argv[2:]]

def write_modules():
    with open(out, "w", encoding="utf-8") as f:
        json.dump(sorted(sys.modules), f)

atexit.register(write_modules)
from engine.cli import main
main()
"""

STORE_AND_COLUMNAR = (
    "sqlmodel",
    "sqlalchemy",
    "duckdb",
    "engine.store",
    "engine.columnar",
    "engine.bulk",
    "engine.dealtable",
)
DATA_FRAMES = ("pandas", "polars", "pyarrow")
PLAN_READING = ("jsonschema", "yaml", "simpleeval", "engine.loader")
EVALUATION = ("engine.evaluate", "engine.insights")


def imported_by(tmp_path: Path, *args: str) -> tuple[set[str], str]:
    """The modules ``attain ARGS`` imported, and what it printed."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(json.loads(out.read_text(encoding="utf-8"))), done.stderr


def among(modules: set[str], names) -> list[str]:
    """The modules that are one of ``names`` or inside one of them."""
    return sorted(
        m for m in modules
        for name in names
        if m == name or m.startswith(name + ".")
    )


def test_help_imports_neither_plans_nor_store(tmp_path):
    modules, _ = imported_by(tmp_path, "--help")

    assert "engine.cli_validate" in modules
    never = STORE_AND_COLUMNAR + DATA_FRAMES + PLAN_READING + EVALUATION
    assert among(modules, never) == []


def test_validating_the_project_imports_no_store_nor_evaluation(tmp_path):
    modules, printed = imported_by(tmp_path, "validate")

    assert "0 error(s)" in printed
    assert {"engine.loader", "jsonschema"} <= modules
    never = STORE_AND_COLUMNAR + DATA_FRAMES + EVALUATION
    assert among(modules, never) == []


def test_validating_a_folder_with_coaching_rules_imports_no_store(tmp_path):
    modules, printed = imported_by(tmp_path, "validate", "plan_specs")

    assert "0 error(s)" in printed
    assert "engine.insights.coaching" in modules
    assert among(modules, STORE_AND_COLUMNAR + DATA_FRAMES) == []


@pytest.mark.parametrize(
    ("modules", "names", "found"),
    [
        ({"duckdb", "json"}, ("duckdb",), ["duckdb"]),
        ({"sqlalchemy.orm"}, ("sqlalchemy",), ["sqlalchemy.orm"]),
        ({"engine.storefront"}, ("engine.store",), []),
    ],
)
def test_among_matches_a_module_and_its_submodules(modules, names, found):
    assert among(modules, names) == found


# -- leaving ------------------------------------------------------------------


def attain(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True,
        text=True, cwd=cwd, timeout=300,
    )


def test_a_run_ends_with_its_output_flushed_and_its_files_written(tmp_path):
    shutil.copytree(ROOT / "plan_specs", tmp_path / "plan_specs")
    shutil.copy(ROOT / "attain.yaml", tmp_path)

    done = attain(tmp_path, "run", "--engine", "duckdb", "--format", "csv")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("period,payee_id")
    assert len(lines) > 300 and lines[-1].count(",") == lines[0].count(",")
    assert "recorded" in done.stderr
    credits = list((tmp_path / ".attain/credits").iterdir())
    assert [p.suffix for p in credits] == [".parquet"]


def test_a_failed_command_keeps_its_exit_status(tmp_path):
    done = attain(tmp_path, "run")

    assert done.returncode == 2
    assert "No attain.yaml" in done.stderr


@pytest.mark.parametrize(
    ("code", "status", "printed"),
    [(None, 0, ""), (3, 3, ""), ("went wrong", 1, "went wrong\n")],
)
def test_leaving_reports_what_a_command_exits_with(code, status, printed):
    script = (
        "import atexit, sys; from engine import cli; "
        "atexit.register(lambda: print('handled', flush=True)); "
        "sys.stdout.write('unflushed'); "
        f"cli._leave({code!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True,
        cwd=ROOT, timeout=60,
    )

    assert done.returncode == status
    assert done.stdout == "unflushedhandled\n"
    assert done.stderr == printed


def test_leaving_ends_as_usual_while_a_thread_still_runs():
    """A thread pool left open (by a plugin, say) is stopped as the
    interpreter stops it, not waited for forever."""
    script = (
        "from concurrent.futures import ThreadPoolExecutor; "
        "from engine import cli; "
        "pool = ThreadPoolExecutor(1); "
        "pool.submit(print, 'done', flush=True).result(); "
        "cli._leave(4)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True,
        cwd=ROOT, timeout=30,
    )

    assert done.returncode == 4
    assert done.stdout == "done\n"
