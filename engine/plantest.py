"""Plan tests: inputs and the pay the plans must give for them.

A test file (``kind: test``) names plan files, gives input tables inline
or by file, and lists cases, each with the payouts, credits and measures
it expects. :func:`run_tests` evaluates every case and compares, to the
cent unless a tolerance is given; :func:`update_expected` writes the
actual values back into the file after a person has reviewed them,
keeping its comments and layout.

Inline rows are read by the same readers as data files, so a bad date
or amount in a test is reported like one in a CSV file, at the line of
the test file where the row is written.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from . import schema
from .errors import (
    AttainError,
    DataError,
    Finding,
    JsonPath,
    Location,
    YamlSyntaxError,
)
from .loader import PLAN_SUFFIXES, Catalog, load_catalog
from .plugins import TableSource
from .results import PayoutLine
from .yamlio import YamlDocument, load_yaml

logger = logging.getLogger(__name__)

TABLES = ("deals", "roster", "quotas", "splits", "exchange_rates")
_KIND_TEST = re.compile(r"^kind:\s*['\"]?test['\"]?\s*(#.*)?$", re.MULTILINE)
_RATE_COLUMNS = {"date": "date", "from": "string", "to": "string",
                 "rate": "decimal"}
ZERO = Decimal(0)


# -- the model of a test file ------------------------------------------------


@dataclass
class Expectation:
    """One expected value and where it is written.

    ``kind`` is ``payout``, ``credit`` or ``measure``; the fields a kind
    does not use stay None, and a None filter matches everything.
    """

    kind: str
    payee: str
    expected: Decimal
    tolerance: Decimal
    location: Location
    path: JsonPath
    component: str | None = None
    period: str | None = None
    plan: str | None = None
    deal: str | None = None
    credit_type: str | None = None
    measure: str | None = None

    def describe(self) -> str:
        parts = [f"payee {self.payee}"]
        if self.kind == "measure":
            parts.append(f"measure {self.measure}")
        for name in ("plan", "component", "deal", "credit_type", "period"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name.replace('_', ' ')} {value}")
        if self.kind == "payout":
            if self.component is None:
                parts.append("all components")
            if self.period is None:
                parts.append("all periods")
        return " ".join(parts)


@dataclass
class Case:
    name: str
    location: Location
    periods: list[str]
    tables: dict[str, tuple[Any, JsonPath]]
    lists: dict[str, tuple[Any, JsonPath]]
    expectations: list[Expectation]


@dataclass
class PlanTest:
    path: Path
    name: str
    plans: list[Path]
    cases: list[Case]
    document: YamlDocument


@dataclass
class Failure:
    """An expectation that did not hold, or a case that could not run."""

    location: Location
    message: str
    explanation: list[str] = field(default_factory=list)
    expectation: Expectation | None = None
    actual: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        found = self.expectation
        return {
            "file": self.location.file,
            "line": self.location.line,
            "message": self.message,
            "expected": None if found is None else str(found.expected),
            "actual": None if self.actual is None else str(self.actual),
            "explanation": self.explanation,
        }


@dataclass
class CaseResult:
    file: str
    name: str
    location: Location
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class PlanTestReport:
    """Every case run; a test file that cannot be read counts as one
    failed case named after the file."""

    results: list[CaseResult] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "files": self.files,
            "cases": [
                {
                    "file": r.file,
                    "name": r.name,
                    "line": r.location.line,
                    "passed": r.passed,
                    "failures": [f.as_dict() for f in r.failures],
                }
                for r in self.results
            ],
        }


# -- finding and reading test files ------------------------------------------


def is_test_file(path: Path) -> bool:
    """Whether ``path`` is a YAML file that says ``kind: test``."""
    if path.suffix not in PLAN_SUFFIXES or not path.is_file():
        return False
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    return _KIND_TEST.search(text) is not None


def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    """The test files named, and those below the folders named.

    A file named explicitly is taken even if it lacks ``kind: test``,
    so that a mistake in it is reported rather than skipped.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*")) if is_test_file(p)]
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(str(path))
    return list(dict.fromkeys(found))


def check_test_file(path: Path) -> list[Finding]:
    """The schema findings of one test file, as ``attain validate`` shows."""
    try:
        read_test_file(path)
    except _Invalid as exc:
        return exc.findings
    return []


class _Invalid(AttainError):
    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__(str(findings[0]))


def read_test_file(path: Path) -> PlanTest:
    """Read and check one test file; raises an error with findings."""
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        raise _Invalid([Finding("E-YAML", exc.reason, exc.location)]) from None
    except OSError as exc:
        where = Location(str(path))
        raise _Invalid([Finding("E-DOCUMENT", str(exc), where)]) from None

    data = doc.data
    if not isinstance(data, dict):
        message = "A test file must be a mapping that starts with 'kind: test'."
        raise _Invalid([Finding("E-DOCUMENT", message, doc.locate(()))])

    def locate(where: JsonPath, at_key: bool = False) -> Location:
        return doc.locate_key(where) if at_key else doc.locate(where)

    findings = schema.check("test", data, locate)
    if findings:
        raise _Invalid(findings)

    folder = path.parent
    return PlanTest(
        path=path,
        name=data.get("name", path.stem),
        plans=[folder / p for p in data["plans"]],
        cases=[
            _case(doc, data, body, index)
            for index, body in enumerate(data["cases"])
        ],
        document=doc,
    )


def _case(doc: YamlDocument, top: dict, body: dict, index: int) -> Case:
    at = ("cases", index)
    tables = {}
    for name in TABLES:
        if name in body:
            tables[name] = (body[name], at + (name,))
        elif name in top:
            tables[name] = (top[name], (name,))
    lists = {k: (v, ("lists", k)) for k, v in top.get("lists", {}).items()}
    lists.update(
        {k: (v, at + ("lists", k)) for k, v in body.get("lists", {}).items()}
    )
    tolerance = _decimal(body.get("tolerance", top.get("tolerance", 0)))
    return Case(
        name=body["name"],
        location=doc.locate(at + ("name",)),
        periods=list(body.get("periods", top.get("periods", []))),
        tables=tables,
        lists=lists,
        expectations=_expectations(doc, body["expect"], at, tolerance),
    )


def _expectations(
    doc: YamlDocument, expect: dict, at: JsonPath, tolerance: Decimal
) -> list[Expectation]:
    found = []
    for group, kind, value_key in (
        ("payouts", "payout", "amount"),
        ("credits", "credit", "amount"),
        ("measures", "measure", "value"),
    ):
        for index, item in enumerate(expect.get(group, [])):
            path = at + ("expect", group, index, value_key)
            found.append(
                Expectation(
                    kind=kind,
                    payee=str(item["payee"]),
                    expected=_decimal(item[value_key]),
                    tolerance=_decimal(item.get("tolerance", tolerance)),
                    location=doc.locate(path),
                    path=path,
                    component=item.get("component"),
                    period=item.get("period"),
                    plan=item.get("plan"),
                    deal=item.get("deal"),
                    credit_type=item.get("credit_type"),
                    measure=item.get("measure"),
                )
            )
    return found


def _decimal(value: Any) -> Decimal:
    # The schema has already checked the form; ints and Decimals pass.
    return value if isinstance(value, Decimal) else Decimal(str(value))


# -- running ----------------------------------------------------------------


def run_tests(paths: Iterable[str | Path], pm=None) -> PlanTestReport:
    """Run every case of the test files at ``paths`` (files or folders)."""
    from .plugins import get_plugin_manager

    pm = pm or get_plugin_manager()
    report = PlanTestReport()
    catalogs: dict[tuple[Path, ...], Catalog] = {}
    for path in find_test_files(paths):
        report.files.append(str(path))
        try:
            test = read_test_file(path)
        except _Invalid as exc:
            report.results.append(_broken(path, exc.findings))
            continue
        key = tuple(p.resolve() for p in test.plans)
        if key not in catalogs:
            catalogs[key] = _catalog(test, pm)
        for case in test.cases:
            report.results.append(_run_case(test, case, catalogs[key], pm))
    return report


def _broken(path: Path, findings: list[Finding]) -> CaseResult:
    failures = [
        Failure(f.location, f"{f.code} {f.message}") for f in findings
    ]
    return CaseResult(str(path), path.name, Location(str(path)), failures)


def _catalog(test: PlanTest, pm) -> Catalog:
    from .plugins import metrics

    try:
        return load_catalog(test.plans, metrics=set(metrics(pm)))
    except FileNotFoundError as exc:
        catalog = Catalog()
        where = test.document.locate(("plans",))
        catalog.findings.append(
            Finding("E-UNKNOWN-REF", f"No plan file or folder '{exc}'.", where)
        )
        return catalog


def _run_case(test: PlanTest, case: Case, catalog: Catalog, pm) -> CaseResult:
    result = CaseResult(str(test.path), case.name, case.location)
    if catalog.errors:
        errors = catalog.errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = f"The plans are invalid: {errors[0]}{more}"
        result.failures.append(Failure(case.location, message))
        return result
    try:
        evaluation = _evaluate(test, case, catalog, pm)
    except DataError as exc:
        line = exc.row if exc.source == str(test.path) else None
        where = Location(exc.source, line) if line else case.location
        result.failures.append(Failure(where, _data_message(exc, test)))
        return result
    except AttainError as exc:
        result.failures.append(Failure(case.location, str(exc)))
        return result

    for expectation in case.expectations:
        failure = _compare(expectation, evaluation, catalog, case)
        if failure is not None:
            result.failures.append(failure)
    return result


def _data_message(exc: DataError, test: PlanTest) -> str:
    if exc.source != str(test.path):
        return str(exc)
    column = f"column {exc.column!r}: " if exc.column else ""
    return f"{column}{exc.reason}"


def _evaluate(test: PlanTest, case: Case, catalog: Catalog, pm):
    from . import data as reader
    from .evaluate import Inputs, evaluate
    from .plugins import metrics

    doc = test.document
    folder = test.path.parent

    def source(name: str) -> TableSource | None:
        if name not in case.tables:
            return None
        value, path = case.tables[name]
        return _source(doc, folder, value, path, pm)

    missing = [name for name in ("deals", "roster") if name not in case.tables]
    if missing:
        raise DataError(
            f"The case has no {' and no '.join(missing)}: give them inline "
            "or with {file: ...}, in the case or at the top of the file.",
            source=str(test.path),
            row=case.location.line,
        )

    def table(name, read, **kw):
        found = source(name)
        return [] if found is None else read(found, **kw)

    inputs = Inputs(
        deals=reader.read_deals(
            source("deals"), column_types=catalog.deal_fields
        ),
        roster=reader.read_roster(source("roster")),
        quotas=table("quotas", reader.read_quotas),
        splits=table("splits", reader.read_splits),
        rates=table("exchange_rates", reader.read_table,
                    columns=_RATE_COLUMNS, required=tuple(_RATE_COLUMNS)),
        lists={
            name: _list(folder, value, pm)
            for name, (value, _) in case.lists.items()
        },
    )
    return evaluate(catalog, inputs, case.periods, metrics(pm))


def _source(
    doc: YamlDocument, folder: Path, value: Any, path: JsonPath, pm
) -> TableSource:
    """A table given inline (rows numbered by their line) or by file."""
    if isinstance(value, dict):
        return _file_source(folder, value, pm)
    lines = [doc.locate(path + (i,)).line or 0 for i in range(len(value))]

    def read():
        # Fresh copies: readers may be called more than once.
        yield from zip(lines, [dict(row) for row in value])

    return TableSource(name=doc.path, rows=read)


def _file_source(folder: Path, value: dict, pm) -> TableSource:
    from .errors import ConfigError
    from .plugins import connectors

    file = Path(folder) / value["file"]
    name = value.get("connector") or (
        "jsonl" if file.suffix in (".jsonl", ".ndjson") else "csv"
    )
    found = connectors(pm)
    if name not in found:
        raise ConfigError(
            f"No connector '{name}' for {file}; connectors: "
            f"{', '.join(sorted(found))}."
        )
    return found[name].open({"path": str(file)}, Path.cwd())


def _list(folder: Path, value: Any, pm) -> tuple[str, ...]:
    from .data import read_list

    if isinstance(value, dict):
        return read_list(_file_source(folder, value, pm))
    return tuple(str(v) for v in value)


# -- comparing --------------------------------------------------------------


def _compare(
    expectation: Expectation, evaluation, catalog: Catalog, case: Case
) -> Failure | None:
    if expectation.kind == "payout":
        actual, explanation, problem = _payout(expectation, evaluation.lines)
    elif expectation.kind == "credit":
        actual, explanation, problem = _credit(expectation, evaluation, catalog)
    else:
        actual, explanation, problem = _measure(expectation, evaluation, case)

    if problem is None and actual is not None:
        if abs(actual - expectation.expected) <= expectation.tolerance:
            return None
    what = "" if expectation.kind == "payout" else f"{expectation.kind} "
    got = problem or _number(actual)
    tolerance = (
        f" (tolerance {_number(expectation.tolerance)})"
        if expectation.tolerance
        else ""
    )
    message = (
        f"expected {what}{_number(expectation.expected)}, got {got} for "
        f"{expectation.describe()}{tolerance}"
    )
    return Failure(
        expectation.location, message, explanation, expectation, actual
    )


def _payout(expectation: Expectation, lines: list[PayoutLine]):
    mine = [line for line in lines if line.payee_id == expectation.payee]
    chosen = [
        line
        for line in mine
        if _matches(expectation.component, line.component)
        and _matches(expectation.period, line.period)
        and _matches(expectation.plan, line.plan_id)
    ]
    if not chosen:
        return None, [], _no_line(expectation, mine)
    total = sum((line.amount for line in chosen), ZERO)
    return total, [text for line in chosen for text in explain_line(line)], None


def _matches(wanted: str | None, found: str) -> bool:
    return wanted is None or wanted == found


def _no_line(expectation: Expectation, mine: list[PayoutLine]) -> str:
    if not mine:
        return "no payout line (the payee has none in these periods)"
    seen = sorted({f"{l.component} {l.period}" for l in mine})
    return f"no payout line (the payee has: {', '.join(seen)})"


def _credit(expectation: Expectation, evaluation, catalog: Catalog):
    groups = evaluation.credits
    if expectation.plan is not None:
        plan = catalog.plan(expectation.plan)
        if plan is None:
            return None, [], f"no plan '{expectation.plan}'"
        groups = {
            k: v for k, v in groups.items()
            if k == f"{plan.crediting}/{plan.currency}"
        }
    if len(groups) > 1:
        return None, [], "several creditings apply; name the plan"
    credits = [
        c
        for found in groups.values()
        for c in found
        if c.payee_id == expectation.payee
        and _matches(expectation.deal, c.deal.deal_id)
        and _matches(expectation.credit_type, c.credit_type)
    ]
    explanation = [
        f"deal {c.deal.deal_id} {c.deal.close_date} credit "
        f"{_number(c.amount)} ({c.credit_type}, {c.rule})"
        for c in credits
    ]
    return sum((c.amount for c in credits), ZERO), explanation, None


def _measure(expectation: Expectation, evaluation, case: Case):
    periods = [expectation.period] if expectation.period else case.periods
    shown = {line.period for line in evaluation.lines}
    if not expectation.period and not periods and len(shown) == 1:
        periods = sorted(shown)
    if len(periods) != 1:
        return None, [], "no single period (name the period)"
    period = periods[0]

    found = []
    for key, table in evaluation.measures.items():
        if expectation.plan and key.split("@")[0] != expectation.plan:
            continue
        values = table.get((expectation.payee, period), {})
        if expectation.measure in values:
            found.append((key, values[expectation.measure]))
    if not found:
        return None, [], f"no measure {expectation.measure} for the payee"
    if len({str(r.value) for _, r in found}) > 1:
        return None, [], "different values in several plans; name the plan"
    key, result = found[0]
    explanation = [
        f"{key}: {expectation.measure} = {_number(result.value)}",
        *(
            f"deal {c.deal_id} {c.close_date} counts {_number(c.value)} "
            f"({c.credit_type}, {c.rule})"
            for c in result.contributions
        ),
    ]
    if result.value is None:
        return None, explanation, "no value (missing)"
    return result.value, explanation, None


def _number(value: Decimal | None) -> str:
    return "nothing" if value is None else format(value, "f")


# -- explaining -------------------------------------------------------------


def explain_line(line: PayoutLine) -> list[str]:
    """A payout line's trace as short lines: measure, quota, attainment,
    band, rate, cap and the deals with their shares."""
    trace = line.trace
    facts = _facts(trace)
    head = (
        f"{line.plan_id} {line.component} {line.period}: "
        f"{line.amount} {line.currency}"
    )
    lines = [head + (f" ({', '.join(facts)})" if facts else "")]

    for band in trace.get("bands", []):
        if _plain(band.get("amount")) not in ("0", None):
            lines.append(
                f"  band {band.get('from')} to {band.get('to') or 'up'}: "
                f"{_plain(band.get('amount'))} at {band.get('rule')} "
                f"({_percent(band.get('rate'))}) = {_plain(band.get('pay'))}"
            )
    for deal in trace.get("deals", []):
        lines.append(
            f"  deal {deal.get('deal_id')} {deal.get('close_date')} credit "
            f"{_plain(deal.get('credit'))} ({deal.get('credit_type')}, "
            f"{deal.get('rule')}): {deal.get('share')}"
        )
    return lines


def _facts(trace: dict[str, Any]) -> list[str]:
    facts = []
    if "measure" in trace:
        facts.append(f"{trace['measure']} {_plain(trace.get('value'))}")
    for key in ("quota", "target_incentive"):
        if trace.get(key) is not None:
            facts.append(f"{key.replace('_', ' ')} {_plain(trace[key])}")
    if trace.get("attainment") is not None:
        facts.append(f"attainment {_percent(trace['attainment'])}")
    if trace.get("band") is not None:
        facts.append(f"band {trace['band']}")
    if trace.get("rate") is not None:
        facts.append(f"rate {_percent(trace['rate'])}")
    if trace.get("payout_percent") is not None:
        facts.append(f"payout {_percent(trace['payout_percent'])} of TI")
    cap = trace.get("cap")
    if isinstance(cap, dict) and trace.get("cap_applied") is not None:
        state = "applied" if trace["cap_applied"] else "not reached"
        facts.append(f"cap {cap.get('rule') or cap.get('per_period')} {state}")
    return facts


def _plain(value: Any) -> str | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format(number.normalize(), "f")


def _percent(value: Any) -> str:
    try:
        number = Decimal(str(value)) * 100
    except InvalidOperation:
        return str(value)
    return format(number.normalize(), "f") + "%"


# -- updating expected values -----------------------------------------------


def update_expected(report: PlanTestReport) -> dict[str, int]:
    """Write the actual values of failed expectations into their files.

    Only the scalars that changed are rewritten, in the quoting style
    they had; comments, order and layout stay. Returns the number of
    values rewritten per file. Expectations with no actual value (no
    payout line at all) are left for a person to fix.
    """
    changes: dict[str, dict[JsonPath, Decimal]] = {}
    for result in report.results:
        for failure in result.failures:
            found = failure.expectation
            if found is None or failure.actual is None:
                continue
            changes.setdefault(result.file, {})[found.path] = failure.actual
    for file, values in changes.items():
        _rewrite(Path(file), values)
        logger.info("Updated %d expected value(s) in %s", len(values), file)
    return {file: len(values) for file, values in changes.items()}


def _rewrite(path: Path, values: dict[JsonPath, Decimal]) -> None:
    from ruamel.yaml import YAML

    text = path.read_text(encoding="utf-8")
    mapping, dash = _indents(text)
    yaml = YAML()  # round-trip: keeps comments, order and flow style
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=dash + 2, offset=dash)
    yaml.representer.add_representer(Decimal, _represent_decimal)
    data = yaml.load(text)

    for where, value in values.items():
        parent = data
        for step in where[:-1]:
            parent = parent[step]
        parent[where[-1]] = _like(parent[where[-1]], value)

    out = io.StringIO()
    yaml.dump(data, out)
    _replace(path, out.getvalue())


def _indents(text: str) -> tuple[int, int]:
    """How far the file indents a nested mapping, and a list's dashes,
    under their parent key (2 and 0 when it never does)."""
    mapping = dash = None
    previous = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if previous is not None and previous[1].endswith(":"):
            step = indent - previous[0]
            if stripped.startswith("- ") and dash is None:
                dash = max(step, 0)
            elif step > 0 and mapping is None and not stripped.startswith("-"):
                mapping = step
        previous = (indent, stripped)
    return mapping or 2, dash or 0


def _like(old: Any, value: Decimal) -> Any:
    """``value`` written the way ``old`` was: quoted text stays quoted
    text, a whole number stays whole when it can."""
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        SingleQuotedScalarString,
    )

    text = format(value, "f")
    if isinstance(old, (DoubleQuotedScalarString, SingleQuotedScalarString)):
        return type(old)(text)
    if isinstance(old, str):
        return text
    if isinstance(old, int) and value == value.to_integral_value():
        return int(value)
    return value


def _represent_decimal(representer, value: Decimal):
    text = format(value, "f")
    if "." not in text:
        text += ".0"
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` all at once, never half."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".attain-")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(temp, path)
