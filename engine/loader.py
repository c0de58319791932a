"""Load plan files: YAML, then the schema, then the plan model.

:func:`load_catalog` reads files and folders and returns every plan,
crediting and territory set it could build together with every finding,
so ``attain validate`` reports all problems at once. The checks that
need more than one file live in :mod:`engine.checks`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from . import quantities as q
from . import schema
from .errors import (
    ExpressionError,
    Finding,
    JsonPath,
    Location,
    YamlSyntaxError,
)
from .expressions import Expression, parse_expression
from .spec import (
    Band,
    Bonus,
    Calendar,
    Cap,
    Clawback,
    Component,
    Crediting,
    CurvePoint,
    Draw,
    FlatRate,
    Holdback,
    Measure,
    Overlay,
    Participants,
    PayoutCurve,
    Plan,
    Quota,
    RateTable,
    Spif,
    Splits,
    Territories,
    TerritoryRule,
    Windfall,
)
from .yamlio import YamlDocument, load_yaml

log = logging.getLogger(__name__)

MONTHS = (
    "January February March April May June July August September "
    "October November December"
).split()
PLAN_SUFFIXES = (".yaml", ".yml")
OWNER_ONLY = Crediting(id="owner-only", name="The owner gets full credit")


@dataclass
class Catalog:
    """Everything loaded from a set of plan files."""

    plans: list[Plan] = field(default_factory=list)
    creditings: dict[str, Crediting] = field(
        default_factory=lambda: {OWNER_ONLY.id: OWNER_ONLY}
    )
    territories: dict[str, Territories] = field(default_factory=dict)
    documents: dict[str, YamlDocument] = field(default_factory=dict)
    deal_fields: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    def plan(self, plan_id: str) -> Plan | None:
        for plan in self.plans:
            if plan.id == plan_id:
                return plan
        return None


def plan_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files named, and those found below the folders named.

    Raises FileNotFoundError for a path that does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.suffix in PLAN_SUFFIXES and p.is_file()
            )
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(str(path))
    return found


def load_catalog(
    paths: Iterable[str | Path],
    *,
    deal_fields: Iterable[str] | None = None,
    payees: set[str] | None = None,
    metrics: Iterable[str] | None = None,
) -> Catalog:
    """Load plan files and folders; project, test and coaching files are
    skipped.

    ``deal_fields`` are the extra deal columns the project declares and
    ``payees`` the roster's ids and ``metrics`` the names plugins
    provide; with them, references to each are checked too.
    """
    from .checks import check_catalog

    catalog = Catalog()
    for path in plan_files(paths):
        _load_file(catalog, path)
    catalog.findings.extend(
        check_catalog(
            catalog, deal_fields=deal_fields, payees=payees, metrics=metrics
        )
    )
    return catalog


def _load_file(catalog: Catalog, path: Path) -> None:
    name = str(path)
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        catalog.findings.append(Finding("E-YAML", exc.reason, exc.location))
        catalog.files.append(name)
        return
    data = doc.data
    if isinstance(data, dict) and data.get("kind") in (
        "project", "test", "coaching"
    ):
        return
    catalog.files.append(name)
    catalog.documents[name] = doc
    if not isinstance(data, dict):
        catalog.findings.append(
            Finding(
                "E-DOCUMENT",
                "A plan file must be a mapping of keys to values, starting "
                "with 'kind: plan', 'kind: crediting' or 'kind: territories'.",
                doc.locate(()),
            )
        )
        return

    found = schema.check("plan", data, _locator(doc))
    catalog.findings.extend(found)
    if any(f.is_error for f in found):
        return

    _declare_fields(catalog, doc)
    builder = _Builder(doc, path.read_bytes())
    kind = data["kind"]
    if kind == "plan":
        plan = builder.plan()
        if isinstance(plan.crediting, Crediting):
            catalog.creditings[plan.crediting.id] = plan.crediting
            plan = replace(plan, crediting=plan.crediting.id)
        catalog.plans.append(plan)
    elif kind == "crediting":
        _add_unique(catalog, catalog.creditings, builder.crediting(), doc)
    else:
        _add_unique(catalog, catalog.territories, builder.territories(), doc)
    catalog.findings.extend(builder.findings)


def _declare_fields(catalog: Catalog, doc: YamlDocument) -> None:
    """Collect the extra deal columns a file declares, one type each."""
    for name, kind in doc.data.get("deal_fields", {}).items():
        known = catalog.deal_fields.setdefault(name, kind)
        if known != kind:
            catalog.findings.append(
                Finding(
                    "E-FIELD-TYPE",
                    f"Deal field '{name}' is declared as {kind} here but "
                    f"as {known} in another file. Give it one type.",
                    doc.locate(("deal_fields", name)),
                )
            )


def _add_unique(catalog, registry: dict, item, doc: YamlDocument) -> None:
    if item.id in registry:
        other = registry[item.id].file
        catalog.findings.append(
            Finding(
                "E-DUPLICATE-ID",
                f"The id '{item.id}' is already used in {other}. "
                "Give each crediting and territory set its own id.",
                doc.locate(("id",)),
            )
        )
        return
    registry[item.id] = item


def expression_finding(
    doc: YamlDocument, path: JsonPath, exc: ExpressionError
) -> Finding:
    """A bad expression as a finding at the character where it fails."""
    where = doc.locate(path)
    column = where.column
    if column is not None:
        column += exc.offset + _quote_width(where)
    location = Location(where.file, where.line, column, path)
    return Finding(exc.code, str(exc), location)


def _quote_width(where: Location) -> int:
    """1 when the scalar at ``where`` starts with a quote."""
    try:
        lines = Path(where.file).read_text(encoding="utf-8").splitlines()
        char = lines[where.line - 1][where.column - 1]
    except (OSError, IndexError, TypeError, UnicodeDecodeError):
        return 0
    return 1 if char in "'\"" else 0


def _locator(doc: YamlDocument):
    def locate(path: JsonPath, at_key: bool = False) -> Location:
        return doc.locate_key(path) if at_key else doc.locate(path)

    return locate


class _Builder:
    """Builds model objects from one schema-valid document.

    Problems found while building (bad expressions, bad quantities) are
    collected in ``findings``; the object is still built as far as it can
    be, so later checks can run too.
    """

    def __init__(self, doc: YamlDocument, content: bytes):
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.hash = hashlib.sha256(content).hexdigest()
        self.findings: list[Finding] = []

    # -- helpers ---------------------------------------------------------

    def error(self, code: str, message: str, path: JsonPath) -> None:
        self.findings.append(Finding(code, message, self.doc.locate(path)))

    def expression(
        self, text: str | None, path: JsonPath, kind: str = "condition"
    ) -> Expression | None:
        if text is None:
            return None
        try:
            return parse_expression(str(text), kind)
        except ExpressionError as exc:
            self.findings.append(expression_finding(self.doc, path, exc))
            return None

    def convert(self, fn, value, path: JsonPath, default=None):
        if value is None:
            return default
        try:
            return fn(value)
        except (ValueError, ArithmeticError) as exc:
            self.error("E-VALUE", str(exc), path)
            return default

    @staticmethod
    def day(value) -> date | None:
        return date.fromisoformat(value) if value else None

    # -- documents -------------------------------------------------------

    def plan(self) -> Plan:
        d = self.data
        effective = d["effective"]
        calendar = d.get("calendar", {})
        crediting = d.get("crediting", OWNER_ONLY.id)
        if isinstance(crediting, dict):
            inline = self.crediting_body(
                f"{d['id']}.crediting", d["name"], crediting, ("crediting",)
            )
            crediting = inline
        return Plan(
            id=d["id"],
            name=d["name"],
            version=str(d.get("version", 1)),
            currency=d["currency"],
            calendar=Calendar(
                start_month=MONTHS.index(
                    calendar.get("fiscal_year_starts", "January")
                )
                + 1,
                named_by=calendar.get("fiscal_year_named_by", "start"),
            ),
            period=d["period"],
            starts=self.day(effective["from"]),
            ends=self.day(effective.get("to")),
            participants=self.participants(d["participants"]),
            crediting=crediting,
            measures={
                key: self.measure(key, body, ("measures", key))
                for key, body in d["measures"].items()
            },
            quotas={
                key: self.quota(key, body, ("quotas", key))
                for key, body in d.get("quotas", {}).items()
            },
            components={
                key: self.component(key, body, ("components", key))
                for key, body in d["components"].items()
            },
            target_incentive=self.convert(
                q.to_decimal, d.get("target_incentive"), ("target_incentive",)
            ),
            proration=d.get("proration", "active_days"),
            rounding=d.get("rounding", "half_up"),
            accumulation=d.get("accumulation", "periodic"),
            negative_true_up=d.get("negative_true_up", "pay_back"),
            clawback=self.clawback(d.get("clawback")),
            draw=self.draw(d.get("draw"), ("draw",)),
            holdback=self.holdback(d.get("holdback"), ("holdback",)),
            rate_date=d.get("exchange_rates", {}).get("date", "close_date"),
            file=self.doc.path,
            content_hash=self.hash,
        )

    @staticmethod
    def clawback(body: dict | None) -> Clawback | None:
        if body is None:
            return None
        return Clawback(
            window_days=body["window_days"],
            reduce_attainment=body.get("reduce_attainment", False),
        )

    def draw(self, body: dict | None, path: JsonPath) -> Draw | None:
        if body is None:
            return None
        limit = body.get("max_recovery")
        share = isinstance(limit, str)
        convert = q.fraction if share else q.to_decimal
        return Draw(
            amount=self.convert(q.to_decimal, body["amount"], path + ("amount",)),
            recoverable=body["recoverable"],
            first_periods=body.get("first_periods"),
            max_recovery=self.convert(convert, limit, path + ("max_recovery",)),
            recovery_is_share=share,
            at_termination=body.get("at_termination", "forgive"),
        )

    def holdback(self, body: dict | None, path: JsonPath) -> Holdback | None:
        if body is None:
            return None
        return Holdback(
            share=self.convert(q.fraction, body["share"], path + ("share",)),
            release_on=self.day(body.get("release_on")),
            release_after_periods=body.get("release_after_periods"),
        )

    def participants(self, body: dict) -> Participants:
        return Participants(
            roles=tuple(body.get("roles", ())),
            payees=tuple(body.get("payees", ())),
            starts=self.day(body.get("from")),
            ends=self.day(body.get("to")),
        )

    def measure(self, key: str, body: dict, path: JsonPath) -> Measure:
        for aggregate in ("sum", "average", "formula"):
            if aggregate in body:
                argument = self.expression(
                    body[aggregate], path + (aggregate,), "formula"
                )
                break
        else:
            aggregate = next(
                k for k in ("count", "distinct", "metric") if k in body
            )
            argument = body[aggregate]
        return Measure(
            id=key,
            name=body.get("name", key),
            aggregate=aggregate,
            argument=argument,
            where=self.expression(body.get("where"), path + ("where",)),
            credit_types=tuple(
                body.get("credit_types", ("direct", "split", "overlay", "rollup"))
            ),
            stages=tuple(body.get("stages", ("won",))),
            path=path,
            stages_given="stages" in body,
        )

    def quota(self, key: str, body: dict, path: JsonPath) -> Quota:
        fraction = q.fraction
        source = next(
            k for k in ("per_period", "annual", "table", "team_sum") if k in body
        )
        team = body.get("team_sum", {})
        return Quota(
            measure=key,
            source=source,
            amount=self.convert(
                q.to_decimal,
                body.get("per_period", body.get("annual")),
                path + (source,),
            ),
            seasonality=tuple(
                self.convert(fraction, v, path + ("seasonality", i))
                for i, v in enumerate(body.get("seasonality", ()))
            ),
            table=body.get("table"),
            team_plan=team.get("plan"),
            team_measure=team.get("measure"),
            team_roles=tuple(team.get("roles", ())),
            ramp=tuple(
                self.convert(fraction, v, path + ("ramp", i))
                for i, v in enumerate(body.get("ramp", ()))
            ),
            path=path,
        )

    def component(self, key: str, body: dict, path: JsonPath) -> Component:
        if "rate_table" in body:
            rule = self.rate_table(body["rate_table"], path + ("rate_table",))
        elif "flat_rate" in body:
            sub = body["flat_rate"]
            rule = FlatRate(
                measure=sub["measure"],
                rate=self.convert(
                    q.rate, sub["rate"], path + ("flat_rate", "rate")
                ),
            )
        elif "payout_curve" in body:
            rule = self.curve(body["payout_curve"], path + ("payout_curve",))
        elif "spif" in body:
            rule = self.spif(body["spif"], path + ("spif",))
        else:
            sub = body["bonus"]
            rule = Bonus(
                amount=self.convert(
                    q.ti_amount, sub["amount"], path + ("bonus", "amount")
                ),
                when=self.expression(
                    sub["when"], path + ("bonus", "when"), "condition"
                ),
            )
        return Component(
            id=key,
            name=body.get("name", key),
            rule=rule,
            cap=self.cap(body.get("cap"), path + ("cap",)),
            floor=self.convert(q.ti_amount, body.get("floor"), path + ("floor",)),
            path=path,
        )

    def rate_table(self, body: dict, path: JsonPath) -> RateTable:
        basis = body.get("basis", "attainment")
        edge = q.fraction if basis == "attainment" else q.to_decimal
        bands = []
        for i, band in enumerate(body["bands"]):
            where = path + ("bands", i)
            bands.append(
                Band(
                    lower=self.convert(edge, band["from"], where + ("from",)),
                    upper=self.convert(edge, band.get("to"), where + ("to",)),
                    rate=self.convert(q.rate, band["rate"], where + ("rate",)),
                    when=self.expression(band.get("when"), where + ("when",)),
                    otherwise=self.convert(
                        q.rate, band.get("otherwise"), where + ("otherwise",)
                    ),
                    path=where,
                )
            )
        return RateTable(
            measure=body["measure"],
            bands=tuple(bands),
            basis=basis,
            method=body.get("method", "marginal"),
            threshold=self.convert(
                edge, body.get("threshold"), path + ("threshold",)
            ),
            per=body.get("per", "total"),
        )

    def curve(self, body: dict, path: JsonPath) -> PayoutCurve:
        points = []
        for i, point in enumerate(body["points"]):
            where = path + ("points", i)
            points.append(
                CurvePoint(
                    attainment=self.convert(
                        q.fraction, point["attainment"], where + ("attainment",)
                    ),
                    payout=self.convert(
                        q.fraction, point["payout"], where + ("payout",)
                    ),
                )
            )
        above = body.get("above", {}).get("per_point")
        return PayoutCurve(
            measure=body["measure"],
            points=tuple(points),
            interpolation=body.get("interpolation", "linear"),
            above_per_point=self.convert(
                q.fraction, above, path + ("above", "per_point")
            ),
        )

    def spif(self, body: dict, path: JsonPath) -> Spif:
        return Spif(
            amount=self.convert(q.to_decimal, body["amount"], path + ("amount",)),
            where=self.expression(body.get("where"), path + ("where",)),
            starts=self.day(body.get("from")),
            ends=self.day(body.get("to")),
            pays=body.get("pays", "credited"),
        )

    def cap(self, body, path: JsonPath) -> Cap | None:
        if body is None:
            return None
        if not isinstance(body, dict):
            return Cap(per_period=self.convert(q.ti_amount, body, path))
        return Cap(
            per_period=self.convert(
                q.ti_amount, body.get("per_period"), path + ("per_period",)
            ),
            per_year=self.convert(
                q.to_decimal, body.get("per_year"), path + ("per_year",)
            ),
        )

    def crediting(self) -> Crediting:
        d = self.data
        return self.crediting_body(d["id"], d.get("name", d["id"]), d, ())

    def crediting_body(
        self, ident: str, name: str, d: dict, path: JsonPath
    ) -> Crediting:
        windfall = d.get("windfall")
        splits = d.get("splits")
        direct = d.get("direct", "owner")
        rollup = d.get("rollup")
        return Crediting(
            id=ident,
            name=name,
            windfall=Windfall(
                above=q.to_decimal(windfall["above"]),
                credit=self.convert(
                    q.fraction, windfall["credit"], path + ("windfall", "credit")
                ),
            )
            if windfall
            else None,
            direct_territories=None
            if direct == "owner"
            else direct["territories"],
            splits=self.splits(splits, path + ("splits",)) if splits else None,
            overlays=tuple(
                Overlay(
                    name=o["name"],
                    territories=o["territories"],
                    credit=self.convert(
                        q.fraction,
                        o.get("credit", "100%"),
                        path + ("overlays", i, "credit"),
                    ),
                    where=self.expression(
                        o.get("where"), path + ("overlays", i, "where")
                    ),
                    path=path + ("overlays", i),
                )
                for i, o in enumerate(d.get("overlays", ()))
            ),
            rollup_roles=None
            if rollup is None
            else tuple(rollup.get("roles", ())),
            file=self.doc.path,
        )

    def splits(self, body: dict, path: JsonPath) -> Splits:
        columns = body.get("columns", {})
        return Splits(
            table=body.get("table"),
            partner_column=columns.get("partner"),
            percent_column=columns.get("percent"),
            total=self.convert(
                q.fraction, body.get("total", "100%"), path + ("total",)
            ),
        )

    def territories(self) -> Territories:
        d = self.data
        rules = tuple(
            TerritoryRule(
                name=r["name"],
                when=self.expression(r.get("when"), ("rules", i, "when")),
                territory=r.get("territory"),
                payees=tuple(r.get("payees", ())),
                path=("rules", i),
            )
            for i, r in enumerate(d["rules"])
        )
        lists = {
            key: tuple(value) if isinstance(value, list) else value["source"]
            for key, value in d.get("lists", {}).items()
        }
        return Territories(
            id=d["id"],
            name=d.get("name", d["id"]),
            match=d["match"],
            rules=rules,
            lists=lists,
            file=self.doc.path,
        )
