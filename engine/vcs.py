"""Plans in git: read a file as a revision had it, and what changed since.

Everything goes through the ``git`` command, so Attain needs no git
library and sees exactly what the comp admin sees in their shell. A
missing ``git`` or a folder outside any repository is a
:class:`~engine.errors.ConfigError` for the commands that need git, and
simply no provenance for a run.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path, PurePosixPath

from .errors import ConfigError

logger = logging.getLogger(__name__)

_TIMEOUT = 60


class _GitFailed(Exception):
    def __init__(self, stderr: str):
        super().__init__(stderr)
        self.stderr = stderr.strip()


def _git(folder: Path, *args: str) -> str:
    """The output of ``git args`` run in ``folder``; _GitFailed if it fails."""
    executable = shutil.which("git")
    if executable is None:
        raise ConfigError(
            "The 'git' command is not installed or not on PATH; install "
            "git to compare revisions or record provenance."
        )
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    done = subprocess.run(
        [executable, "-C", str(folder), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise _GitFailed(done.stderr)
    return done.stdout


def find_repo(path: str | Path) -> Path | None:
    """The top folder of the git work tree holding ``path``, if any.

    None when git is not installed or ``path`` is in no repository.
    """
    folder = Path(path).resolve()
    if not folder.is_dir():
        folder = folder.parent
    try:
        return _toplevel(folder)
    except (ConfigError, _GitFailed, OSError):
        return None


@lru_cache(maxsize=64)
def _toplevel(folder: Path) -> Path:
    return Path(_git(folder, "rev-parse", "--show-toplevel").strip()).resolve()


def require_repo(path: str | Path) -> Path:
    """Like :func:`find_repo`, but a ConfigError that says what to do."""
    folder = Path(path).resolve()
    if shutil.which("git") is None:
        _git(folder)  # raises the message about installing git
    root = find_repo(folder)
    if root is None:
        raise ConfigError(
            f"'{path}' is not inside a git repository; comparing "
            "revisions needs the plans to be in git (run 'git init' and "
            "commit them), or compare two files instead."
        )
    return root


def relative(root: Path, path: str | Path) -> str:
    """``path`` as git names it: relative to ``root``, with slashes."""
    resolved = Path(path).resolve()
    try:
        inside = resolved.relative_to(root)
    except ValueError:
        raise ConfigError(
            f"'{path}' is outside the git repository at '{root}'."
        ) from None
    return PurePosixPath(*inside.parts).as_posix() if inside.parts else "."


def resolve_revision(root: Path, revision: str) -> str:
    """The commit id ``revision`` names; ConfigError when none."""
    if revision.startswith("-"):
        raise ConfigError(f"'{revision}' is not a revision name.")
    try:
        found = _git(
            root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"
        )
    except _GitFailed:
        found = ""
    if not found.strip():
        raise ConfigError(
            f"No revision '{revision}' in the git repository at '{root}'. "
            "Give a branch, tag or commit, such as main or HEAD~1 "
            "(in CI, fetch it first: git fetch origin main)."
        )
    return found.strip()


def files_at(root: Path, revision: str, paths: list[str]) -> list[str]:
    """The files under ``paths`` (relative to ``root``) at ``revision``."""
    commit = resolve_revision(root, revision)
    try:
        listed = _git(
            root, "ls-tree", "-r", "-z", "--name-only", commit, "--", *paths
        )
    except _GitFailed as exc:
        raise ConfigError(f"git cannot list {revision}: {exc.stderr}") from None
    return [name for name in listed.split("\0") if name]


def show_file(root: Path, revision: str, path: str) -> bytes | None:
    """The content of ``path`` (relative to ``root``) at ``revision``.

    None when the file does not exist at that revision.
    """
    commit = resolve_revision(root, revision)
    spec = f"{commit}:{path}"
    try:
        _git(root, "cat-file", "-e", spec)
    except _GitFailed:
        return None
    executable = shutil.which("git") or "git"
    done = subprocess.run(
        [executable, "-C", str(root), "show", spec],
        capture_output=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()
        raise ConfigError(f"git cannot show {path} at {revision}: {reason}")
    return done.stdout


def changed_files(
    root: Path, revision: str, until: str | None = None
) -> list[str]:
    """Files that differ between ``revision`` and ``until``.

    Without ``until``, the work tree as it is now: staged and unstaged
    changes and files git does not track yet. A renamed file appears
    under both names. Paths are relative to ``root``, with slashes.
    """
    commits = [resolve_revision(root, revision)]
    if until is not None:
        commits.append(resolve_revision(root, until))
    names = _lines(_git(root, "diff", "--name-only", "--no-renames",
                        "-z", *commits, "--"))
    if until is None:
        names += _lines(
            _git(root, "ls-files", "--others", "--exclude-standard", "-z")
        )
    return sorted(set(names))


def _lines(output: str) -> list[str]:
    return [name for name in output.split("\0") if name]


def provenance(path: str | Path) -> tuple[str | None, bool | None]:
    """The last commit that touched ``path`` and whether it has changes
    not committed yet; ``(None, None)`` outside a git repository."""
    root = find_repo(path)
    if root is None:
        return None, None
    try:
        name = relative(root, path)
        commit = _git(root, "log", "-1", "--format=%H", "--", name).strip()
        status = _git(root, "status", "--porcelain", "--", name)
    except (ConfigError, _GitFailed) as exc:
        logger.debug("No provenance for %s: %s", path, exc)
        return None, None
    return commit or None, bool(status.strip())
