"""The plugin manager and the types plugins register.

Attain's built-in connectors, output formats and metrics are plugins,
registered through the same manager as third-party ones; third-party
plugins come from the ``attain`` entry point group. The hooks are
documented in :mod:`engine.hookspecs`.

Nothing here is cached between calls: every :func:`get_plugin_manager`
builds a fresh manager, so tests can load and drop plugins freely.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from engine import __version__, hookspecs
from engine.errors import ConfigError, EvaluationError, ExpressionError

if TYPE_CHECKING:
    import click

    from engine.records import Deal
    from engine.results import PayoutLine, Statement

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "attain"
BUILTIN_PLUGINS = (
    "plugins.connectors", "plugins.outputs", "plugins.metrics", "plugins.kpis"
)
AGGREGATE_FUNCTIONS = ("sum", "count", "min", "max", "count_distinct")

KNOWN_HOOKS = tuple(
    sorted(name for name in vars(hookspecs) if name.startswith("attain_"))
)


class PluginError(ConfigError):
    """A plugin that cannot be loaded or registers something unusable."""


# ---------------------------------------------------------------------------
# What plugins register
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSource:
    """An input table as a connector hands it over.

    ``rows`` yields ``(row number, raw values)``; the row number is the one
    a person finds in the file (for CSV the line where the record starts,
    the header being line 1; for JSON Lines the line number). It is
    ``None`` when the table can only be read whole through ``path``.

    ``columns`` returns the header of formats that have one, so that a
    missing column is reported even when the table has no rows. Without
    it, each row's own keys are checked.

    ``delimiter`` and ``encoding`` describe a delimited text file, so
    that a reader other than ``rows`` (DuckDB's) can read it whole.
    """

    name: str
    rows: Callable[[], Iterator[tuple[int, dict[str, Any]]]] | None
    path: Path | None = None
    format: str | None = None
    columns: Callable[[], tuple[str, ...]] | None = None
    delimiter: str | None = None
    encoding: str | None = None


class Connector(ABC):
    """Opens an input table named in a project file.

    Subclasses set ``name`` (what the project file uses) and a one-line
    ``description``.
    """

    name: str
    description: str

    @abstractmethod
    def open(self, options: Mapping[str, Any], base_dir: Path) -> TableSource:
        """Return the table the options describe.

        ``options`` come from the project file, for instance
        ``{"path": "data/deals.csv"}``; relative paths are relative to
        ``base_dir``. Raise :class:`~engine.errors.ConfigError` when the
        options are wrong or the file does not exist.
        """


class OutputFormat(ABC):
    """Renders payout lines and statements as text.

    Subclasses set ``name``, the file ``extension`` without a dot and a
    one-line ``description``.
    """

    name: str
    extension: str
    description: str

    @abstractmethod
    def render_payouts(self, lines: Sequence[PayoutLine]) -> str:
        """Render payout lines, the same input always giving the same text."""

    @abstractmethod
    def render_statement(self, statement: Statement) -> str:
        """Render the statement of one payee."""


@dataclass(frozen=True)
class Aggregate:
    """One aggregate over the credited deals of a payee and period.

    ``expression`` is a plan expression over deal columns (``None`` for a
    plain count of deals); ``where`` a plan condition that selects deals.
    """

    function: str
    expression: str | None
    where: str | None = None


@dataclass(frozen=True)
class Metric:
    """A measure a plugin adds, declared so that any engine can compute it.

    ``formula`` combines the aggregates by name; ``columns`` lists the
    deal columns the aggregates read, so a columnar engine loads them.
    ``stages`` are the deal stages it reads (won, lost, open) when the
    plan's measure names none; ``None`` keeps the measure's default, won.
    """

    name: str
    description: str
    aggregates: Mapping[str, Aggregate]
    formula: str
    columns: tuple[str, ...]
    stages: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PluginInfo:
    """A registered plugin, for ``attain plugins`` and bug reports.

    ``distribution`` is ``None`` for Attain's built-ins, whose version is
    Attain's own.
    """

    name: str
    distribution: str | None
    version: str
    hooks: tuple[str, ...]


# ---------------------------------------------------------------------------
# Helpers for connectors
# ---------------------------------------------------------------------------


def check_options(
    options: Mapping[str, Any], allowed: Iterable[str], *, connector: str
) -> None:
    """Raise ConfigError for an option the connector does not know."""
    allowed = tuple(allowed)
    for key in options:
        if key not in allowed:
            raise ConfigError(
                f"Connector {connector!r} has no option {key!r}."
                f"{did_you_mean(str(key), allowed)}"
                f" Its options are: {', '.join(allowed)}."
            )


def data_file(
    options: Mapping[str, Any], base_dir: Path, *, connector: str
) -> Path:
    """The existing file that ``options["path"]`` names."""
    given = options.get("path")
    if not given or not isinstance(given, str | Path):
        raise ConfigError(
            f"Connector {connector!r} needs a 'path' option naming the"
            " data file, for example path: data/deals.csv."
        )

    path = Path(given)
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not path.is_file():
        raise ConfigError(
            f"Data file {str(given)!r} does not exist"
            f" (looked for {str(path)!r})."
        )
    return path


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A " Did you mean 'x'?" sentence, or "" when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


# ---------------------------------------------------------------------------
# The manager
# ---------------------------------------------------------------------------


def get_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A new manager with the built-ins and, optionally, installed plugins.

    Raises :class:`PluginError` when a plugin cannot be imported or
    implements a hook that does not exist.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)

    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        _register(pm, module, module_name)

    if entry_points:
        _load_entry_points(pm)

    _check_hooks(pm)
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as err:
        raise PluginError(
            f"Plugin {name!r} cannot be registered: {err}"
        ) from err


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    # Loading one entry point at a time tells which distribution failed.
    for dist in importlib.metadata.distributions():
        for entry_point in dist.entry_points:
            if entry_point.group != ENTRY_POINT_GROUP:
                continue
            name = entry_point.name
            if pm.get_plugin(name) or pm.is_blocked(name):
                continue
            _load_entry_point(pm, dist, name)


def _load_entry_point(
    pm: pluggy.PluginManager, dist: importlib.metadata.Distribution, name: str
) -> None:
    label = f"{dist.metadata['Name']} {dist.version}"
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)
    except Exception as err:
        raise PluginError(
            f"Plugin {name!r} from distribution {label} cannot be loaded:"
            f" {type(err).__name__}: {err}"
        ) from err
    logger.debug("Loaded plugin %r from %s", name, label)


def _check_hooks(pm: pluggy.PluginManager) -> None:
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        for caller in pm.get_hookcallers(plugin) or []:
            if not caller.has_spec() and not _optional(caller, plugin):
                raise PluginError(_unknown_hook_message(pm, name, caller.name))

    # A safety net: anything pluggy itself finds wrong is an error too.
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginError(str(err)) from err


def _optional(caller: pluggy.HookCaller, plugin: object) -> bool:
    """Whether the plugin marked its implementations as optional hooks."""
    impls = [i for i in caller.get_hookimpls() if i.plugin is plugin]
    return all(impl.optionalhook for impl in impls)


def _unknown_hook_message(
    pm: pluggy.PluginManager, plugin_name: str, hook: str
) -> str:
    return (
        f"Plugin {_label(pm, plugin_name)} implements an unknown hook"
        f" {hook!r}.{did_you_mean(hook, KNOWN_HOOKS)}"
        f" Known hooks: {', '.join(KNOWN_HOOKS)}."
    )


def _label(pm: pluggy.PluginManager, plugin_name: str) -> str:
    """The plugin's name, with its distribution when it has one."""
    plugin = pm.get_plugin(plugin_name)
    for registered, dist in pm.list_plugin_distinfo():
        if registered is plugin:
            return f"{plugin_name!r} ({dist.project_name} {dist.version})"
    return repr(plugin_name)


# ---------------------------------------------------------------------------
# What the plugins register
# ---------------------------------------------------------------------------

T = TypeVar("T")


def connectors(pm: pluggy.PluginManager) -> dict[str, Connector]:
    """Every registered connector by name."""
    return _by_name(pm, "attain_register_connectors", Connector, "connector")


def output_formats(pm: pluggy.PluginManager) -> dict[str, OutputFormat]:
    """Every registered output format by name."""
    return _by_name(
        pm, "attain_register_output_formats", OutputFormat, "output format"
    )


def metrics(pm: pluggy.PluginManager) -> dict[str, Metric]:
    """Every registered metric by name, each checked before use."""
    found = _by_name(pm, "attain_register_metrics", Metric, "metric")
    for metric in found.values():
        check_metric(metric)
    return found


def commands(pm: pluggy.PluginManager) -> list[click.Command]:
    """Every command plugins add to the command line."""
    import click

    found = _by_name(pm, "attain_register_commands", click.Command, "command")
    return list(found.values())


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """The registered plugins in registration order, built-ins first."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(c.name for c in pm.get_hookcallers(plugin) or []))
        dist = dists.get(id(plugin))
        infos.append(
            PluginInfo(
                name=name,
                distribution=dist.project_name if dist else None,
                version=dist.version if dist else __version__,
                hooks=hooks,
            )
        )
    return infos


def _by_name(
    pm: pluggy.PluginManager, hook: str, kind: type[T], label: str
) -> dict[str, T]:
    found: dict[str, T] = {}
    owners: dict[str, str] = {}
    for plugin_name, item in _collect(pm, hook):
        if not isinstance(item, kind):
            raise PluginError(
                f"Plugin {_label(pm, plugin_name)} returned {item!r} from"
                f" {hook}, which is not a {kind.__name__}."
            )

        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(
                f"Plugin {_label(pm, plugin_name)} registered a {label}"
                " without a name."
            )
        if name in found:
            raise PluginError(
                f"Two plugins register a {label} named {name!r}:"
                f" {_label(pm, owners[name])} and {_label(pm, plugin_name)}."
                " Uninstall one of them."
            )

        found[name] = item
        owners[name] = plugin_name
    return found


def _collect(pm: pluggy.PluginManager, hook: str) -> list[tuple[str, Any]]:
    """Call a hook plugin by plugin, keeping who returned what.

    Calling each implementation on its own lets a clash between two
    plugins name both of them. They are called in registration order, so
    the built-ins come first in every listing.
    """
    caller = getattr(pm.hook, hook)
    collected: list[tuple[str, Any]] = []
    for impl in caller.get_hookimpls():
        if impl.hookwrapper or impl.wrapper:
            continue
        result = _call(pm, impl, hook)
        if result is None:
            continue
        if not isinstance(result, list | tuple):
            raise PluginError(
                f"Plugin {_label(pm, impl.plugin_name)} returned"
                f" {type(result).__name__} from {hook}; expected a list."
            )
        collected.extend((impl.plugin_name, item) for item in result)
    return collected


def _call(pm: pluggy.PluginManager, impl: Any, hook: str) -> Any:
    try:
        return impl.function()
    except ConfigError:
        raise
    except Exception as err:
        raise PluginError(
            f"Plugin {_label(pm, impl.plugin_name)} failed in {hook}:"
            f" {type(err).__name__}: {err}"
        ) from err


# ---------------------------------------------------------------------------
# Metrics: checking and the reference evaluation
# ---------------------------------------------------------------------------


def check_metric(metric: Metric) -> None:
    """Raise ConfigError unless every part of the metric can be evaluated."""
    if not metric.aggregates:
        raise ConfigError(f"Metric {metric.name!r} declares no aggregates.")
    for key, aggregate in metric.aggregates.items():
        _check_aggregate(metric, key, aggregate)

    formula = _parse(metric, "formula", metric.formula, "formula")
    unknown = sorted(formula.names - set(metric.aggregates))
    if unknown:
        raise ConfigError(
            f"Metric {metric.name!r}: the formula uses {unknown[0]!r}, which"
            " is not one of its aggregates."
            f"{did_you_mean(unknown[0], metric.aggregates)}"
        )


def _check_aggregate(metric: Metric, key: str, aggregate: Aggregate) -> None:
    where = f"Metric {metric.name!r}, aggregate {key!r}"
    if aggregate.function not in AGGREGATE_FUNCTIONS:
        raise ConfigError(
            f"{where}: unknown function {aggregate.function!r}."
            f"{did_you_mean(aggregate.function, AGGREGATE_FUNCTIONS)}"
            f" Use one of: {', '.join(AGGREGATE_FUNCTIONS)}."
        )
    if aggregate.expression is None and aggregate.function != "count":
        raise ConfigError(f"{where}: {aggregate.function} needs an expression.")

    names: set[str] = set()
    if aggregate.expression is not None:
        names |= _parse(metric, key, aggregate.expression, "formula").names
    if aggregate.where is not None:
        names |= _parse(metric, key, aggregate.where, "condition").names

    unlisted = sorted(names - set(metric.columns))
    if unlisted:
        raise ConfigError(
            f"{where} reads column {unlisted[0]!r}, which the metric does"
            f" not list in its columns ({', '.join(metric.columns) or 'none'})."
        )


def _parse(metric: Metric, part: str, text: str, kind: str) -> Any:
    from engine.expressions import parse_expression

    try:
        return parse_expression(text, kind)
    except ExpressionError as err:
        raise ConfigError(
            f"Metric {metric.name!r}, {part}: {text!r} is not a valid"
            f" plan expression. {err}"
        ) from err


def evaluate_metric(
    metric: Metric, deals: Iterable[Mapping[str, Any] | Deal]
) -> Decimal | None:
    """Compute a metric over the credited deals of one payee and period.

    The reference implementation that other engines must agree with.
    ``sum`` and ``count`` of no deals are 0; ``min``, ``max`` of no values
    are ``None``; values that are missing (``None``) are left out of
    every aggregate. The result is ``None`` when the formula has no value,
    for instance a ratio whose denominator is 0.
    """
    from engine.records import Deal

    parts = {
        key: _Accumulator(metric, key, aggregate)
        for key, aggregate in metric.aggregates.items()
    }
    for deal in deals:
        values = deal.attributes if isinstance(deal, Deal) else deal
        for part in parts.values():
            part.add(values)

    totals = {key: part.result() for key, part in parts.items()}
    formula = _parse(metric, "formula", metric.formula, "formula")
    return _as_decimal(metric, _evaluate(metric, formula, totals))


class _Accumulator:
    """The values one aggregate has seen so far."""

    def __init__(self, metric: Metric, key: str, aggregate: Aggregate):
        self.metric = metric
        self.key = key
        self.function = aggregate.function
        self.expression = None
        self.where = None
        if aggregate.expression is not None:
            self.expression = _parse(metric, key, aggregate.expression, "formula")
        if aggregate.where is not None:
            self.where = _parse(metric, key, aggregate.where, "condition")
        self.values: list[Any] = []

    def add(self, deal: Mapping[str, Any]) -> None:
        if self.where is not None and not self._run(self.where.test, deal):
            return
        if self.expression is None:
            self.values.append(True)
            return
        value = self._run(self.expression.evaluate, deal)
        if value is not None:
            self.values.append(value)

    def result(self) -> Any:
        if self.function == "count":
            return len(self.values)
        if self.function == "count_distinct":
            return len(set(self.values))
        if self.function == "sum":
            return sum(_numbers(self), Decimal(0))
        if not self.values:
            return None
        choose = min if self.function == "min" else max
        try:
            return choose(self.values)
        except TypeError as err:
            raise EvaluationError(
                f"Metric {self.metric.name!r}, aggregate {self.key!r}:"
                f" {self.function} over values that cannot be compared ({err})."
            ) from err

    def _run(self, method: Callable[[Any], Any], deal: Mapping[str, Any]) -> Any:
        try:
            return method(deal)
        except (ExpressionError, TypeError) as err:
            deal_id = deal.get("deal_id")
            raise EvaluationError(
                f"Metric {self.metric.name!r}, aggregate {self.key!r} cannot"
                f" be computed for deal {deal_id!r}: {err}"
            ) from err


def _numbers(part: _Accumulator) -> Iterator[Decimal | int]:
    for value in part.values:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise EvaluationError(
                f"Metric {part.metric.name!r}, aggregate {part.key!r}: sum"
                f" needs numbers, got {value!r}."
            )
        yield value


def _evaluate(metric: Metric, formula: Any, totals: Mapping[str, Any]) -> Any:
    try:
        return formula.evaluate(totals)
    except (ExpressionError, TypeError) as err:
        raise EvaluationError(
            f"Metric {metric.name!r}: the formula cannot be computed: {err}"
        ) from err


def _as_decimal(metric: Metric, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise EvaluationError(
        f"Metric {metric.name!r}: the formula gives {value!r}, not a number."
    )
