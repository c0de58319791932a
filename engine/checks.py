"""Semantic checks of loaded plans: what the schema cannot see.

References between files and between parts of a plan, band layout,
expression names, effective dates of plan versions, and warnings for
what is legal but suspicious. Codes starting with ``E-`` are errors,
``W-`` warnings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Iterator

from .errors import Finding, JsonPath, Location
from .expressions import Expression, check_names
from .quantities import percent_text
from .schema import did_you_mean
from .spec import (
    Bonus,
    Component,
    Crediting,
    FlatRate,
    PayoutCurve,
    Plan,
    RateTable,
    Spif,
    Territories,
)

DEAL_FIELDS = frozenset(
    """deal_id close_date amount owner currency type stage created_date
    probability list_price region country segment industry product account
    split_partner split_percent cancels""".split()
)
CREDIT_FIELDS = frozenset({"credit", "credit_type", "credit_share"})
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
RESERVED_COMPONENTS = frozenset(
    """clawback draw draw_recovery draw_balance holdback holdback_release
    adjustment prior_period_adjustment""".split()
)


class _Checker:
    def __init__(self, catalog, deal_fields, payees, metrics=None):
        self.catalog = catalog
        self.deal_fields = (
            DEAL_FIELDS
            | frozenset(deal_fields or ())
            | frozenset(catalog.deal_fields)
        )
        self.payees = payees
        self.metrics = metrics
        self.findings: list[Finding] = []

    def add(self, code, message, file, path, severity="error"):
        doc = self.catalog.documents.get(file)
        where = doc.locate(path) if doc else None
        finding = Finding(code, message, severity=severity)
        if where is not None:
            finding = Finding(code, message, where, severity)
        self.findings.append(finding)

    def names(self, expr, known, file, path, what) -> None:
        if expr is None:
            return
        for name, suggestion in check_names(expr, known):
            hint = f" Did you mean '{suggestion}'?" if suggestion else ""
            self.add(
                "E-UNKNOWN-NAME",
                f"'{name}' is not {what}.{hint}",
                file,
                path,
            )

    def payee_refs(self, payees: Iterable[str], file, path) -> None:
        if self.payees is None:
            return
        for i, payee in enumerate(payees):
            if payee not in self.payees:
                hint = did_you_mean(payee, self.payees)
                self.add(
                    "E-UNKNOWN-PAYEE",
                    f"No payee '{payee}' in the roster.{hint}",
                    file,
                    path + (i,),
                )


def check_catalog(
    catalog, *, deal_fields=None, payees=None, metrics=None
) -> list[Finding]:
    """Every semantic finding over the loaded plans.

    ``deal_fields`` are the extra deal columns a project declares;
    ``payees`` the roster's ids and ``metrics`` the names of the metrics
    plugins provide, when they are at hand.
    """
    checker = _Checker(catalog, deal_fields, payees, metrics)
    for territories in catalog.territories.values():
        _check_territories(checker, territories)
    for crediting in catalog.creditings.values():
        _check_crediting(checker, crediting)
    _check_versions(checker, catalog.plans)
    for plan in catalog.plans:
        _check_plan(checker, plan)
    return checker.findings


def _check_versions(c: _Checker, plans: list[Plan]) -> None:
    by_id: dict[str, list[Plan]] = {}
    for plan in plans:
        by_id.setdefault(plan.id, []).append(plan)
    for versions in by_id.values():
        versions.sort(key=lambda p: p.starts)
        for earlier, later in zip(versions, versions[1:]):
            if earlier.version == later.version:
                c.add(
                    "E-DUPLICATE-ID",
                    f"Plan '{later.id}' version {later.version} is also "
                    f"defined in {earlier.file}. Raise the version of the "
                    "newer one.",
                    later.file,
                    ("version",),
                )
            elif earlier.ends is None or earlier.ends >= later.starts:
                c.add(
                    "E-VERSION-OVERLAP",
                    f"Plan '{later.id}' version {later.version} starts on "
                    f"{later.starts}, while version {earlier.version} "
                    f"({earlier.file}) is still in force. End the earlier "
                    "version the day before.",
                    later.file,
                    ("effective", "from"),
                )


def _check_territories(c: _Checker, t: Territories) -> None:
    known = c.deal_fields | set(t.lists)
    seen: dict[str, str] = {}
    catch_all: str | None = None
    for rule in t.rules:
        when_path = rule.path + ("when",)
        c.names(rule.when, known, t.file, when_path, "a deal field or list")
        c.payee_refs(rule.payees, t.file, rule.path + ("payees",))
        text = _condition_text(rule.when)
        if t.match == "first" and catch_all is not None:
            c.add(
                "W-RULE-NEVER-FIRES",
                f"Rule '{rule.name}' can never fire: rule '{catch_all}' "
                "before it matches every deal and the first match wins.",
                t.file,
                rule.path,
                "warning",
            )
        elif text in seen:
            c.add(
                "W-RULE-NEVER-FIRES",
                f"Rule '{rule.name}' has the same condition as rule "
                f"'{seen[text]}'"
                + (", which wins first." if t.match == "first" else "."),
                t.file,
                rule.path,
                "warning",
            )
        elif _always_false(rule.when):
            c.add(
                "W-RULE-NEVER-FIRES",
                f"Rule '{rule.name}' can never fire: its condition is "
                "always false.",
                t.file,
                when_path,
                "warning",
            )
        seen.setdefault(text, rule.name)
        if text == "true" and catch_all is None:
            catch_all = rule.name


def _condition_text(expr: Expression | None) -> str:
    if expr is None:
        return "true"
    text = " ".join(expr.source.split())
    return "true" if text in ("True", "true") else text


def _always_false(expr: Expression | None) -> bool:
    if expr is None or expr.names:
        return False
    try:
        return not expr.test({})
    except Exception:
        return False


def _check_crediting(c: _Checker, cr: Crediting) -> None:
    refs = [(o.territories, o.path + ("territories",)) for o in cr.overlays]
    if cr.direct_territories:
        refs.append((cr.direct_territories, ("direct", "territories")))
    for ident, path in refs:
        if ident not in c.catalog.territories:
            hint = did_you_mean(ident, c.catalog.territories)
            c.add(
                "E-UNKNOWN-REF",
                f"No territory set with id '{ident}'.{hint}",
                cr.file,
                path,
            )
    for overlay in cr.overlays:
        c.names(
            overlay.where,
            c.deal_fields,
            cr.file,
            overlay.path + ("where",),
            "a deal field",
        )
    if cr.splits and cr.splits.total <= 0:
        c.add(
            "E-SPLIT-TOTAL",
            "Splits must add up to more than 0 %.",
            cr.file,
            ("splits", "total"),
        )


def _check_plan(c: _Checker, plan: Plan) -> None:
    file = plan.file
    if plan.ends is not None and plan.ends < plan.starts:
        c.add(
            "E-DATES",
            f"The plan ends ({plan.ends}) before it starts ({plan.starts}).",
            file,
            ("effective", "to"),
        )
    if plan.crediting not in c.catalog.creditings:
        hint = did_you_mean(plan.crediting, c.catalog.creditings)
        c.add(
            "E-UNKNOWN-REF",
            f"No crediting with id '{plan.crediting}'.{hint} Define it in "
            "a file with 'kind: crediting', or leave 'crediting' out to "
            "credit deal owners only.",
            file,
            ("crediting",),
        )
    c.payee_refs(plan.participants.payees, file, ("participants", "payees"))
    for component in plan.components.values():
        if component.id in RESERVED_COMPONENTS:
            c.add(
                "E-RESERVED-ID",
                f"'{component.id}' names the lines Attain adds for pay "
                "over time; give the component another id.",
                file,
                component.path,
            )
    used = _check_measures(c, plan)
    _check_quotas(c, plan)
    for component in plan.components.values():
        used |= _check_component(c, plan, component)
    for measure in plan.measures.values():
        if measure.id not in used:
            c.add(
                "W-UNUSED-MEASURE",
                f"Measure '{measure.id}' is not used by any component, "
                "quota or other measure.",
                file,
                measure.path,
                "warning",
            )


def _measure_ref(c, plan: Plan, name: str, path: JsonPath) -> bool:
    if name in plan.measures:
        return True
    hint = did_you_mean(name, plan.measures)
    c.add(
        "E-UNKNOWN-MEASURE",
        f"No measure '{name}' in this plan.{hint}",
        plan.file,
        path,
    )
    return False


def _check_measures(c: _Checker, plan: Plan) -> set[str]:
    """Check measure definitions; return the measures others refer to."""
    used: set[str] = set()
    deal_names = c.deal_fields | CREDIT_FIELDS
    for m in plan.measures.values():
        c.names(m.where, deal_names, plan.file, m.path + ("where",),
                "a deal field")
        if m.aggregate in ("sum", "average"):
            c.names(m.argument, deal_names, plan.file,
                    m.path + (m.aggregate,), "a deal field")
        elif m.aggregate == "distinct" and m.argument not in c.deal_fields:
            hint = did_you_mean(str(m.argument), c.deal_fields)
            c.add("E-UNKNOWN-NAME",
                  f"'{m.argument}' is not a deal field.{hint}",
                  plan.file, m.path + ("distinct",))
        elif m.aggregate == "metric" and c.metrics is not None:
            if m.argument not in c.metrics:
                hint = did_you_mean(str(m.argument), c.metrics)
                c.add("E-UNKNOWN-METRIC",
                      f"No installed plugin provides the metric "
                      f"'{m.argument}'.{hint} `attain plugins` lists them.",
                      plan.file, m.path + ("metric",))
        elif m.aggregate == "formula" and m.argument is not None:
            others = set(plan.measures) - {m.id}
            c.names(m.argument, others, plan.file, m.path + ("formula",),
                    "another measure of this plan")
            used |= set(m.argument.names)
    _check_formula_cycles(c, plan)
    return used


def _check_formula_cycles(c: _Checker, plan: Plan) -> None:
    graph = {
        m.id: set(m.argument.names) & set(plan.measures)
        for m in plan.measures.values()
        if m.aggregate == "formula" and m.argument is not None
    }
    for start in graph:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    c.add(
                        "E-MEASURE-CYCLE",
                        f"Measure '{start}' depends on itself through its "
                        "formula.",
                        plan.file,
                        plan.measures[start].path + ("formula",),
                    )
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)


def _check_quotas(c: _Checker, plan: Plan) -> None:
    periods = PERIODS_PER_YEAR[plan.period]
    for quota in plan.quotas.values():
        _measure_ref(c, plan, quota.measure, quota.path)
        if quota.seasonality:
            if len(quota.seasonality) != periods:
                c.add(
                    "E-SEASONALITY",
                    f"Seasonality has {len(quota.seasonality)} shares but "
                    f"a {plan.period}ly plan has {periods} periods a year.",
                    plan.file,
                    quota.path + ("seasonality",),
                )
            elif sum(s or 0 for s in quota.seasonality) != 1:
                c.add(
                    "E-SEASONALITY",
                    "Seasonality shares must add up to 100 %.",
                    plan.file,
                    quota.path + ("seasonality",),
                )
        if quota.source == "team_sum":
            _check_team_quota(c, plan, quota)


def _check_team_quota(c: _Checker, plan: Plan, quota) -> None:
    other = c.catalog.plan(quota.team_plan)
    path = quota.path + ("team_sum",)
    if other is None:
        ids = [p.id for p in c.catalog.plans]
        hint = did_you_mean(quota.team_plan, ids)
        c.add("E-UNKNOWN-REF", f"No plan '{quota.team_plan}'.{hint}",
              plan.file, path + ("plan",))
    elif quota.team_measure not in other.quotas:
        hint = did_you_mean(quota.team_measure, other.quotas)
        c.add(
            "E-UNKNOWN-MEASURE",
            f"Plan '{other.id}' has no quota for '{quota.team_measure}'."
            f"{hint}",
            plan.file,
            path + ("measure",),
        )


def _check_component(c: _Checker, plan: Plan, comp: Component) -> set[str]:
    rule = comp.rule
    used: set[str] = set()
    path = comp.path + (comp.kind,)
    measure = comp.measure
    if measure is not None:
        if _measure_ref(c, plan, measure, path + ("measure",)):
            used.add(measure)
    needs_quota = (
        isinstance(rule, PayoutCurve)
        or isinstance(rule, RateTable) and rule.basis == "attainment"
    )
    if needs_quota and measure and measure not in plan.quotas:
        c.add(
            "E-NO-QUOTA",
            f"'{comp.id}' pays on attainment of '{measure}', but the plan "
            f"has no quota for it. Add quotas: {{{measure}: ...}}.",
            plan.file,
            path + ("measure",),
        )
    if isinstance(rule, RateTable):
        used |= _check_bands(c, plan, comp, rule, path)
    elif isinstance(rule, FlatRate):
        _check_base_rate(c, plan, comp, [rule.rate], path + ("rate",))
    elif isinstance(rule, PayoutCurve):
        _check_curve(c, plan, rule, path)
    elif isinstance(rule, Spif):
        c.names(rule.where, c.deal_fields | CREDIT_FIELDS, plan.file,
                path + ("where",), "a deal field")
        if rule.starts and rule.ends and rule.ends < rule.starts:
            c.add("E-DATES", "The SPIF ends before it starts.",
                  plan.file, path + ("to",))
    elif isinstance(rule, Bonus):
        c.names(rule.when, plan.measures, plan.file, path + ("when",),
                "a measure of this plan")
        if rule.when is not None:
            used |= set(rule.when.names)
    _check_ti_use(c, plan, comp)
    return used


def _check_base_rate(c, plan: Plan, comp, rates, path) -> None:
    if not any(r is not None and r.of_base_rate for r in rates):
        return
    measure = comp.measure
    if plan.target_incentive is None or measure not in plan.quotas:
        c.add(
            "E-NO-BASE-RATE",
            "A rate is a multiple of the base rate, which is annual target "
            "incentive / annual quota: give the plan a target_incentive and "
            f"a quota for '{measure}'.",
            plan.file,
            path,
        )


def _check_bands(c, plan: Plan, comp, table: RateTable, path) -> set[str]:
    used: set[str] = set()
    bands = table.bands
    if any(b.lower is None for b in bands):
        return used
    for band in bands:
        c.names(band.when, plan.measures, plan.file, band.path + ("when",),
                "a measure of this plan")
        if band.when is not None:
            used |= set(band.when.names)
        if band.upper is not None and band.upper <= band.lower:
            c.add("E-BAND-ORDER",
                  "A band must end above where it starts.",
                  plan.file, band.path + ("to",))
    rates = [b.rate for b in bands] + [b.otherwise for b in bands]
    _check_base_rate(c, plan, comp, rates, path + ("bands",))
    if table.basis == "attainment":
        for band in bands:
            for key, edge in (("from", band.lower), ("to", band.upper)):
                _check_scale(c, plan, edge, band.path + (key,))
    ordered = sorted(bands, key=lambda b: b.lower)
    if ordered != list(bands):
        c.add("E-BAND-ORDER",
              "List the bands from the lowest to the highest.",
              plan.file, path + ("bands",))
        return used
    unit = "%" if table.basis == "attainment" else ""
    if bands[0].lower != 0:
        c.add("E-BAND-GAP",
              f"The first band starts at {_edge(bands[0].lower, unit)}; "
              "no band covers the values below it. Start it at 0.",
              plan.file, bands[0].path + ("from",))
    for lower, upper in zip(bands, bands[1:]):
        if lower.upper is None:
            c.add("E-BAND-OVERLAP",
                  "Only the last band may be open-ended; this one has no "
                  "'to' but another band follows.",
                  plan.file, lower.path)
        elif lower.upper < upper.lower:
            c.add("E-BAND-GAP",
                  f"No band covers {_edge(lower.upper, unit)} to "
                  f"{_edge(upper.lower, unit)}.",
                  plan.file, upper.path + ("from",))
        elif lower.upper > upper.lower:
            c.add("E-BAND-OVERLAP",
                  f"This band starts at {_edge(upper.lower, unit)}, inside "
                  f"the band before it (up to {_edge(lower.upper, unit)}).",
                  plan.file, upper.path + ("from",))
    if bands[-1].upper is not None:
        c.add("E-BAND-GAP",
              f"No band covers values from {_edge(bands[-1].upper, unit)} "
              "up. Leave out 'to' on the last band.",
              plan.file, bands[-1].path + ("to",))
    return used


def _edge(value: Decimal, unit: str) -> str:
    return percent_text(value) if unit == "%" else f"{value:,}"


def _check_scale(c, plan: Plan, edge: Decimal | None, path) -> None:
    """Attainment written as a plain number of percent, such as 100."""
    if edge is not None and edge >= 10:
        c.add(
            "W-ATTAINMENT-SCALE",
            f"Attainment {edge:f} is {percent_text(edge)}. Write attainment "
            f"as a percentage ({edge:f}%) or a fraction ({edge / 100:f}).",
            plan.file,
            path,
            "warning",
        )


def _check_curve(c, plan: Plan, curve: PayoutCurve, path) -> None:
    points = curve.points
    for i, point in enumerate(points):
        _check_scale(c, plan, point.attainment,
                     path + ("points", i, "attainment"))
    for before, after in zip(points, points[1:]):
        if after.attainment <= before.attainment:
            c.add("E-CURVE-ORDER",
                  "Curve points must go up in attainment, each above the "
                  "one before.",
                  plan.file, path + ("points",))
            break
    if curve.above_per_point is None:
        c.add("W-CURVE-NO-TOP",
              "The curve says nothing above its last point, so pay stays "
              "flat there. Add 'above: {per_point: ...}' if it should "
              "keep rising.",
              plan.file, path + ("points",), "warning")


def _check_ti_use(c, plan: Plan, comp: Component) -> None:
    amounts = [comp.floor]
    if comp.cap is not None:
        amounts.append(comp.cap.per_period)
    if isinstance(comp.rule, Bonus):
        amounts.append(comp.rule.amount)
    needs_ti = isinstance(comp.rule, PayoutCurve) or any(
        a is not None and a.of_target_incentive for a in amounts
    )
    if needs_ti and plan.target_incentive is None:
        c.add(
            "W-NO-TARGET-INCENTIVE",
            f"'{comp.id}' uses the target incentive, but the plan sets "
            "none: every payee then needs one in the roster.",
            plan.file,
            comp.path,
            "warning",
        )


def iter_errors(findings: Iterable[Finding]) -> Iterator[Finding]:
    return (f for f in findings if f.is_error)


def check_split_totals(catalog, rows) -> list[Finding]:
    """Deals whose split-table rows do not add up to the total declared
    by a crediting that reads the table, each at its first row."""
    totals = {
        c.splits.table: c.splits.total
        for c in catalog.creditings.values()
        if c.splits is not None and c.splits.table
    }
    if not totals or not rows:
        return []
    by_deal: dict[str, list] = {}
    for row in rows:
        by_deal.setdefault(row.deal_id, []).append(row)
    findings = []
    for deal_id, split in by_deal.items():
        share = sum((r.percent for r in split), Decimal(0)) / 100
        for table, total in totals.items():
            if share != total:
                first = split[0]
                findings.append(Finding(
                    "E-SPLIT-TOTAL",
                    f"The splits of deal '{deal_id}' add up to "
                    f"{percent_text(share)}, not the {percent_text(total)} "
                    f"the crediting declares for table '{table}'.",
                    Location(first.source, first.row, None, ()),
                ))
    return findings
