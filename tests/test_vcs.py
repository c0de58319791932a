"""Git helpers, and the provenance a run records for each plan file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine import vcs
from engine.errors import ConfigError
from engine.results import PlanRef
from engine.store import SCHEMA_VERSION, Store
from engine.store import schema as store_schema
from test_store import V1_RUN_ID, columns, create_v1_store, execute_sql
from test_store import make_run


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args],
        capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    (folder / "plans").mkdir(parents=True)
    git(folder, "init", "-q")
    git(folder, "config", "user.name", "Comp Admin")
    git(folder, "config", "user.email", "comp@example.com")
    (folder / "plans" / "ae.yaml").write_text("rate: 10%\n")
    (folder / "plans" / "se.yaml").write_text("rate: 2%\n")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "First plans")
    return folder


def test_find_repo_inside_and_outside(repo: Path, tmp_path: Path):
    assert vcs.find_repo(repo / "plans" / "ae.yaml") == repo.resolve()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert vcs.find_repo(outside) is None
    with pytest.raises(ConfigError, match="not inside a git repository"):
        vcs.require_repo(outside)


def test_show_file_at_a_revision(repo: Path):
    (repo / "plans" / "ae.yaml").write_text("rate: 12%\n")
    git(repo, "commit", "-q", "-am", "Raise the rate")

    assert vcs.show_file(repo, "HEAD~1", "plans/ae.yaml") == b"rate: 10%\n"
    assert vcs.show_file(repo, "HEAD", "plans/ae.yaml") == b"rate: 12%\n"
    assert vcs.show_file(repo, "HEAD", "plans/none.yaml") is None


def test_unknown_revision_says_what_to_give(repo: Path):
    with pytest.raises(ConfigError, match="No revision 'no-such-branch'"):
        vcs.show_file(repo, "no-such-branch", "plans/ae.yaml")
    with pytest.raises(ConfigError, match="not a revision"):
        vcs.resolve_revision(repo, "--output=/tmp/x")


def test_changed_files_in_the_work_tree(repo: Path):
    (repo / "plans" / "ae.yaml").write_text("rate: 11%\n")
    (repo / "plans" / "new.yaml").write_text("rate: 1%\n")
    (repo / "plans" / "staged.yaml").write_text("rate: 3%\n")
    git(repo, "add", "plans/staged.yaml")

    changed = vcs.changed_files(repo, "HEAD")

    assert changed == ["plans/ae.yaml", "plans/new.yaml", "plans/staged.yaml"]


def test_changed_files_between_revisions_lists_renames_twice(repo: Path):
    git(repo, "mv", "plans/se.yaml", "plans/solutions.yaml")
    git(repo, "commit", "-q", "-m", "Rename")

    changed = vcs.changed_files(repo, "HEAD~1", "HEAD")

    assert changed == ["plans/se.yaml", "plans/solutions.yaml"]


def test_files_at_a_revision(repo: Path):
    (repo / "plans" / "later.yaml").write_text("x: 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Later")

    assert vcs.files_at(repo, "HEAD~1", ["plans"]) == [
        "plans/ae.yaml", "plans/se.yaml"
    ]


def test_provenance_of_committed_changed_and_new_files(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    plan = repo / "plans" / "ae.yaml"
    assert vcs.provenance(plan) == (head, False)

    plan.write_text("rate: 15%\n")
    assert vcs.provenance(plan) == (head, True)

    fresh = repo / "plans" / "fresh.yaml"
    fresh.write_text("rate: 1%\n")
    assert vcs.provenance(fresh) == (None, True)


def test_provenance_outside_git_is_empty(tmp_path: Path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("rate: 1%\n")
    assert vcs.provenance(plan) == (None, None)


def test_missing_git_is_explained(repo: Path, monkeypatch):
    monkeypatch.setattr(vcs.shutil, "which", lambda name: None)
    vcs._toplevel.cache_clear()

    assert vcs.provenance(repo / "plans" / "ae.yaml") == (None, None)
    with pytest.raises(ConfigError, match="'git' command is not installed"):
        vcs.require_repo(repo)
    vcs._toplevel.cache_clear()


# -- the store keeps provenance -------------------------------------------


def create_v2_store(url: str) -> None:
    """A database as schema version 2 left it, holding one run."""
    create_v1_store(url)
    execute_sql(
        url,
        "ALTER TABLE runs ADD COLUMN status VARCHAR "
        "DEFAULT 'succeeded' NOT NULL",
        "UPDATE attain_meta SET schema_version = 2",
    )


def test_plan_provenance_round_trips(store):
    run = make_run()
    run.plans = [
        PlanRef("ae-2026", "3", "sha256:aa", "plans/ae.yaml", "ab" * 20, True),
        PlanRef("se-2026", "1", "sha256:bb", "plans/se.yaml"),
    ]
    store.save_run(run)

    plans = store.get_run(run.run_id).plans

    assert plans[0].commit == "ab" * 20 and plans[0].dirty is True
    assert plans[1].commit is None and plans[1].dirty is None


def test_version_2_store_is_migrated_and_keeps_its_run(store_url: str):
    create_v2_store(store_url)

    with Store.open(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION == 5
        old = store.get_run(V1_RUN_ID)
        store.save_run(make_run())

    assert old.plans == [
        PlanRef("ae-2025", "7", "sha256:old", "plans/ae.yaml", None, None)
    ]
    assert {"commit", "dirty"} <= columns(store_url)["run_plans"]


def test_version_2_store_migrated_has_the_tables_of_a_new_one(
    store_url: str, tmp_path: Path
):
    create_v2_store(store_url)
    Store.open(store_url).close()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    Store.open(fresh).close()

    assert columns(store_url) == columns(fresh)


def test_failed_provenance_migration_leaves_version_2(
    store_url: str, monkeypatch: pytest.MonkeyPatch
):
    create_v2_store(store_url)
    first, add_provenance, *later = store_schema.MIGRATIONS

    def half_done(connection):
        add_provenance(connection)
        connection.exec_driver_sql("ALTER TABLE no_such_table ADD x INTEGER")

    monkeypatch.setattr(
        store_schema, "MIGRATIONS", [first, half_done, *later]
    )
    with pytest.raises(Exception, match="Cannot open the run store"):
        Store.open(store_url)

    assert "commit" not in columns(store_url)["run_plans"]
    monkeypatch.undo()
    with Store.open(store_url) as store:
        assert store.get_run(V1_RUN_ID).plans[0].commit is None
