"""The project file: plans, data sources, store and outputs in one place.

``attain.yaml`` lets every command run with no arguments in a project
folder. Secrets never live in it: a store password comes from the
environment variable that ``store.url_env`` names.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema
from .errors import ConfigError, Finding, InvalidPlanError, YamlSyntaxError
from .later import Later
from .yamlio import load_yaml

logger = logging.getLogger(__name__)

PROJECT_FILE = "attain.yaml"
# Under the "auto" engine, a deal file larger than this (about 20,000
# deals) is read into DuckDB rather than into Python objects.
AUTO_BYTES = 2_000_000
STANDARD_SOURCES = (
    "deals", "roster", "quotas", "splits", "exchange_rates", "snapshots",
    "target_incentives",
)
_PASSWORD = re.compile(r"://[^/@:]+:[^/@]+@")


@dataclass
class Project:
    path: Path
    name: str
    plans: list[Path]
    data: dict[str, dict[str, Any]]
    periods: list[str] = field(default_factory=list)
    store_url: str | None = None
    outputs: list[dict[str, str]] = field(default_factory=list)
    engine: str = "auto"

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def deal_columns(self) -> dict[str, str]:
        return dict(self.data.get("deals", {}).get("columns", {}))


def find_project(start: Path | None = None) -> Path | None:
    """``attain.yaml`` in ``start`` or the nearest folder above it."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / PROJECT_FILE
        if path.is_file():
            return path
    return None


def load_project(path: Path) -> Project:
    """Read and check a project file; raises InvalidPlanError."""
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        raise InvalidPlanError(
            [Finding("E-YAML", exc.reason, exc.location)]
        ) from None
    data = doc.data

    def locate(p, at_key=False):
        return doc.locate_key(p) if at_key else doc.locate(p)

    findings = schema.check("project", data, locate)
    store = (data or {}).get("store", {}) if isinstance(data, dict) else {}
    url = store.get("url") if isinstance(store, dict) else None
    if isinstance(url, str) and _PASSWORD.search(url):
        findings.append(
            Finding(
                "E-SECRET",
                "The store URL holds a password. Put the URL in an "
                "environment variable and name it with 'url_env'.",
                doc.locate(("store", "url")),
            )
        )
    if findings:
        raise InvalidPlanError(findings)

    root = path.parent
    return Project(
        path=path,
        name=data["name"],
        plans=[root / p for p in data["plans"]],
        data=dict(data["data"]),
        periods=list(data.get("periods", [])),
        store_url=_store_url(data.get("store", {}), root),
        outputs=[
            {"format": o["format"], "path": str(root / o["path"])}
            for o in data.get("outputs", [])
        ],
        engine=data.get("engine", "auto"),
    )


def default_store_url(root: Path) -> str:
    """The embedded SQLite store of a project: ``.attain/attain.db`` in it."""
    database = Path(root).resolve() / ".attain" / "attain.db"
    return f"sqlite:///{database}"


def _store_url(store: dict, root: Path) -> str | None:
    if "url_env" in store:
        name = store["url_env"]
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"The project takes its store URL from the environment "
                f"variable {name}, which is not set."
            )
        return value
    url = store.get("url")
    if url and url.startswith("sqlite:///") and not url.startswith(
        "sqlite:////"
    ):
        return "sqlite:///" + str(root / url[len("sqlite:///"):])
    return url


def read_inputs(
    project: Project,
    pm,
    deal_fields: dict[str, str] | None = None,
    *,
    snapshots: bool = False,
    engine: str = "python",
) -> tuple[Any, dict[str, str]]:
    """The project's data as typed records, and a hash of each source.

    With ``engine`` ``duckdb`` the deal ledger is read into DuckDB (a
    :class:`~engine.dealtable.DealTable`), and with ``auto`` when its file is
    larger than ``AUTO_BYTES``; otherwise it is a list of deals.

    ``deal_fields`` are the types plan files declare for extra deal
    columns; the project file may declare the same, not differently.
    The pipeline history is long and pay never reads it, so it is read
    only when ``snapshots`` asks for it.
    """
    from . import data as reader
    from .evaluate import Inputs
    from .plugins import connectors

    found = connectors(pm)
    sources = {
        name: _open(found, name, options, project.root)
        for name, options in project.data.items()
    }
    hashes = _hashes(sources)
    columns = _column_types(project.deal_columns, deal_fields or {})
    deals = sources["deals"]
    if not (_in_duckdb(deals, engine) and _is_file(deals.path)):
        inputs = Inputs(
            deals=_ledger(deals, columns, engine),
            **_other_tables(project, sources, snapshots),
        )
    else:
        # DuckDB reads the ledger's file without holding the interpreter,
        # so the other tables are read in Python meanwhile. A fault in the
        # ledger is reported first, as when they are read one by one.
        with ThreadPoolExecutor(1, thread_name_prefix="ledger") as pool:
            ledger = pool.submit(_ledger, deals, columns, engine)
            try:
                others = _other_tables(project, sources, snapshots)
            except Exception:
                ledger.result()
                raise
            inputs = Inputs(deals=ledger.result(), **others)
    for name, source in sources.items():
        if name not in STANDARD_SOURCES:
            column = project.data[name].get("column", "account")
            inputs.lists[name] = reader.read_list(source, column)
    return inputs, hashes


def _other_tables(project: Project, sources: dict, snapshots: bool) -> dict:
    """Every table but the ledger, as keyword arguments of ``Inputs``."""
    from . import data as reader

    def table(name, read, **kw):
        return read(sources[name], **kw) if name in sources else []

    return dict(
        roster=reader.read_roster(
            sources["roster"],
            column_types=project.data["roster"].get("columns", {}),
        ),
        quotas=table("quotas", reader.read_quotas),
        splits=table("splits", reader.read_splits),
        rates=table(
            "exchange_rates",
            reader.read_table,
            columns={"date": "date", "from": "string", "to": "string",
                     "rate": "decimal"},
            required=("date", "from", "to", "rate"),
        ),
        snapshots=(
            table("snapshots", reader.read_snapshots) if snapshots else []
        ),
        target_incentives=table(
            "target_incentives",
            reader.read_table,
            columns={"payee_id": "string", "amount": "decimal",
                     "plan": "string"},
            required=("payee_id", "amount"),
        ),
    )


def _hashes(sources: dict) -> Later:
    """Each source's hash. Files are hashed on a thread of their own (a
    large one takes a core for about a second per gigabyte); rows of a
    connector are hashed now, as the connector may not be read from two
    threads at once."""
    files = {n: s for n, s in sources.items() if _is_file(s.path)}
    now = {n: _hash(s) for n, s in sources.items() if n not in files}
    return Later(
        lambda: {**now, **{n: _hash(s) for n, s in files.items()}},
        sources, "input-hashes",
    )


def _is_file(path) -> bool:
    return path is not None and Path(path).is_file()


def _in_duckdb(source, engine: str) -> bool:
    """Whether the ledger is read into DuckDB: when ``engine`` asks, or
    under ``auto`` when it is a file larger than ``AUTO_BYTES``."""
    if engine == "python":
        return False
    if engine == "auto":
        return _is_file(source.path) and (
            Path(source.path).stat().st_size > AUTO_BYTES
        )
    return True


def _ledger(source, columns: dict[str, str], engine: str):
    """The deals, as a list or read into DuckDB as ``engine`` asks."""
    from . import data as reader

    if not _in_duckdb(source, engine):
        return reader.read_deals(source, column_types=columns)
    from .dealtable import DealTable
    from .columnar import NotColumnar

    try:
        return DealTable.read(source, columns)
    except NotColumnar as exc:
        logger.info("The deal ledger is read in Python: %s", exc)
        return reader.read_deals(source, column_types=columns)


def _column_types(project: dict, plans: dict) -> dict[str, str]:
    for name, kind in plans.items():
        if project.get(name, kind) != kind:
            raise ConfigError(
                f"The project reads deal column '{name}' as "
                f"{project[name]}, but the plans declare it as {kind}."
            )
    return {**plans, **project}


def _open(found, name: str, options: dict, root: Path):
    connector_name = options["connector"]
    connector = found.get(connector_name)
    if connector is None:
        from .schema import did_you_mean

        raise ConfigError(
            f"Data source '{name}' uses the connector '{connector_name}', "
            f"which no plugin provides.{did_you_mean(connector_name, found)}"
            f" Connectors: {', '.join(sorted(found))}."
        )
    options = {
        k: v for k, v in options.items() if k not in ("connector", "columns")
    }
    if name not in STANDARD_SOURCES:
        options.pop("column", None)
    return connector.open(options, root)


def _hash(source) -> str:
    digest = hashlib.sha256()
    if _is_file(source.path):
        with open(source.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    elif source.rows is not None:
        for row, values in source.rows():
            digest.update(repr(sorted(values.items())).encode())
    return digest.hexdigest()
