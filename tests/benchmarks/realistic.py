"""The realistic case: a seeded company to measure Attain against.

:func:`build_case` writes a complete Attain project: 1,000 payees in a
four-level hierarchy, a deal ledger of any size generated inside DuckDB,
a quota table, and plans that use splits, an overlay role credited
through 100 territory rules, roll-up to managers, three measures,
marginal tiers with an accelerator and a cap, and a SPIF.

The plans are defined here as data (:data:`PLANS`, :func:`rules`) and
written out as YAML from that data. The hand-written SQL and the
row-by-row evaluator read the same definitions, so the three ways of
computing pay cannot drift apart without a test noticing.

Every value of the ledger is derived from a hash of the row number and
the seed, so the same seed and size give the same bytes, whatever the
number of threads DuckDB uses (on one DuckDB version: its hash function
may change between versions).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

YEAR = 2026
PERIODS = tuple(f"FY{YEAR}-Q{q}" for q in range(1, 5))

# -- the company -------------------------------------------------------------

DIRECTORS = 9
MANAGERS = 60
ACCOUNT_EXECUTIVES = 800
SOLUTIONS_ENGINEERS = 130
VP = "VP-1"

REGIONS = ("NA", "LATAM", "EMEA", "APAC", "ANZ")
PRODUCTS = ("platform", "analytics", "connect", "security", "services")
ACCOUNTS = 20_000

# An AE's share of the yearly quota falls in each quarter.
SEASONALITY = (Decimal("0.20"), Decimal("0.25"), Decimal("0.25"),
               Decimal("0.30"))
# Quota tiers: AE ``a`` carries TIERS[a % 3] of the standard quota.
TIERS = (Decimal("0.8"), Decimal("1.0"), Decimal("1.2"))

FIRST_NAMES = ("Ana", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Goran",
               "Hana", "Ivan", "Julia", "Kofi", "Lea", "Mateo")
LAST_NAMES = ("Silva", "Okafor", "Novak", "Tanaka", "Costa", "Meyer",
              "Haddad", "Larsen", "Rossi", "Kumar", "Nilsson")


@dataclass(frozen=True)
class Segment:
    """A customer segment: its share of deals, its deal sizes in whole
    currency units before the owner's productivity, and the size from
    which a deal counts as large for territory rules."""

    name: str
    percent: int
    smallest: int
    largest: int
    large: int


SEGMENTS = (
    Segment("Enterprise", 20, 60_000, 600_000, 500_000),
    Segment("Mid-Market", 35, 15_000, 150_000, 150_000),
    Segment("SMB", 45, 2_000, 25_000, 30_000),
)
# Percent of deals of each type and stage, in order.
TYPES = (("new", 25), ("upsell", 45), ("renewal", 30))
STAGES = (("won", 80), ("lost", 12), ("negotiation", 8))
SPLIT_PERCENT_OF_DEALS = 20
SPLIT_PERCENTS = (20, 25, 30, 40, 50)


def ae_id(index: int) -> str:
    return f"AE-{index + 1:03d}"


def se_id(index: int) -> str:
    return f"SE-{index + 1:03d}"


def manager_id(index: int) -> str:
    return f"MGR-{index + 1:02d}"


def director_id(index: int) -> str:
    return f"DIR-{index + 1}"


def productivity(ae: int) -> Decimal:
    """How much the AE sells against the average, 0.3 to 2.2: multiplies
    the amount of each deal they own, so attainment spreads from a
    fraction of quota to well past the cap at any ledger size."""
    return Decimal(_productivity_tenths(ae)) / 10


def _productivity_tenths(ae: int) -> int:
    return 3 + (ae * 7 + ae // 20) % 20


# The same, in the ledger's SQL over the owner's index.
PRODUCTIVITY_TENTHS_SQL = "(3 + (owner * 7 + owner // 20) % 20)"


# -- the plans, as data ------------------------------------------------------

ALL_CREDIT_TYPES = ("direct", "split", "overlay", "rollup")
BOOKING_TYPES = ("new", "upsell")


@dataclass(frozen=True)
class Measure:
    """A sum of credit, or a count of deals, over won deals of some types."""

    id: str
    name: str
    aggregate: str
    deal_types: tuple[str, ...]
    credit_types: tuple[str, ...] = ALL_CREDIT_TYPES

    @property
    def where(self) -> str:
        return type_condition(self.deal_types)


@dataclass(frozen=True)
class Band:
    """A band of attainment; ``gate`` is (measure, least value) for a
    rate that holds only when the gate is met, ``otherwise`` when not."""

    lower: Decimal
    upper: Decimal | None
    rate: Decimal
    gate: tuple[str, int] | None = None
    otherwise: Decimal | None = None


@dataclass(frozen=True)
class Tiers:
    """A marginal rate table on attainment, capped at a multiple of the
    quarter's target incentive."""

    id: str
    name: str
    measure: str
    bands: tuple[Band, ...]
    cap: Decimal
    threshold: Decimal | None = None


@dataclass(frozen=True)
class FlatRate:
    id: str
    name: str
    measure: str
    rate: Decimal


@dataclass(frozen=True)
class Spif:
    """An amount per won deal of one type and product that the payee owns,
    closed between two dates (both included)."""

    id: str
    name: str
    amount: Decimal
    deal_type: str
    product: str
    starts: date
    ends: date

    @property
    def where(self) -> str:
        return f'type == "{self.deal_type}" and product == "{self.product}"'


@dataclass(frozen=True)
class PlanDef:
    id: str
    name: str
    role: str
    target_incentive: Decimal
    measures: tuple[Measure, ...]
    quota_measure: str
    components: tuple[Tiers | FlatRate | Spif, ...]


def type_condition(types: tuple[str, ...]) -> str:
    """The plan expression that keeps deals of ``types``."""
    if len(types) == 1:
        return f'type == "{types[0]}"'
    return "type in (" + ", ".join(f'"{t}"' for t in types) + ")"


def pct(text: str) -> Decimal:
    """``"12.5"`` percent as the fraction 0.125."""
    return Decimal(text) * Decimal("0.01")


AE_PLAN = PlanDef(
    id="ae-fy2026",
    name="FY2026 Account Executive Plan",
    role="AE",
    target_incentive=Decimal(80000),
    measures=(
        Measure("bookings", "Bookings", "sum", BOOKING_TYPES),
        Measure("new_logos", "New-logo deals", "count", ("new",),
                ("direct", "split")),
        Measure("renewal_bookings", "Renewal bookings", "sum",
                ("renewal",)),
    ),
    quota_measure="bookings",
    components=(
        Tiers(
            "commission", "Commission", "bookings",
            (
                Band(pct("0"), pct("50"), pct("5")),
                Band(pct("50"), pct("100"), pct("15")),
                Band(pct("100"), pct("150"), pct("20")),
                Band(pct("150"), None, pct("25"), ("new_logos", 2),
                     pct("20")),
            ),
            cap=Decimal("2.5"),
        ),
        FlatRate("renewal_commission", "Renewal commission",
                 "renewal_bookings", pct("2")),
        Spif("platform_spif", "Platform SPIF", Decimal(400), "new",
             "platform", date(YEAR, 4, 1), date(YEAR, 6, 30)),
    ),
)

MANAGER_PLAN = PlanDef(
    id="manager-fy2026",
    name="FY2026 Sales Manager Plan",
    role="Manager",
    target_incentive=Decimal(100000),
    measures=(
        Measure("team_bookings", "Team bookings", "sum", BOOKING_TYPES,
                ("rollup",)),
    ),
    quota_measure="team_bookings",
    components=(
        Tiers(
            "team_commission", "Team commission", "team_bookings",
            (
                Band(pct("0"), pct("100"), pct("1")),
                Band(pct("100"), None, pct("2")),
            ),
            cap=Decimal("2.5"),
            threshold=pct("40"),
        ),
    ),
)

SE_PLAN = PlanDef(
    id="se-fy2026",
    name="FY2026 Solutions Engineer Plan",
    role="SE",
    target_incentive=Decimal(60000),
    measures=(
        Measure("overlay_bookings", "Overlay bookings", "sum",
                BOOKING_TYPES, ("overlay",)),
    ),
    quota_measure="overlay_bookings",
    components=(
        Tiers(
            "commission", "Commission", "overlay_bookings",
            (
                Band(pct("0"), pct("100"), pct("1")),
                Band(pct("100"), None, pct("1.5")),
            ),
            cap=Decimal(2),
        ),
    ),
)

PLANS = (AE_PLAN, MANAGER_PLAN, SE_PLAN)
ROLLUP_ROLES = ("AE",)
OVERLAY_TYPES = BOOKING_TYPES
TERRITORIES_ID = "se-coverage"
CREDITING_ID = "field-sales"


# -- territory rules ---------------------------------------------------------

NAMED_ACCOUNTS_PER_RULE = 12


@dataclass(frozen=True)
class Rule:
    """A territory rule: every condition given must hold."""

    name: str
    payees: tuple[str, ...]
    accounts: tuple[str, ...] = ()
    region: str | None = None
    segment: str | None = None
    product: str | None = None
    min_amount: int | None = None

    @property
    def condition(self) -> str:
        """The rule as a plan expression."""
        parts = []
        if self.accounts:
            quoted = ", ".join(f'"{a}"' for a in self.accounts)
            parts.append(f"account in ({quoted})")
        for field in ("region", "segment", "product"):
            value = getattr(self, field)
            if value is not None:
                parts.append(f'{field} == "{value}"')
        if self.min_amount is not None:
            parts.append(f"amount >= {self.min_amount}")
        return " and ".join(parts)


def account_id(index: int) -> str:
    return f"ACC-{index + 1:05d}"


def rules() -> list[Rule]:
    """The 100 SE coverage rules, first match wins.

    Named accounts come first, then large deals by region and segment,
    then region, segment and product, and last region and segment as
    the fall-back that covers every remaining deal. Each SE appears in
    exactly one rule; the large-deal and fall-back rules name two.
    """
    engineers = iter(range(SOLUTIONS_ENGINEERS))

    def take(count: int) -> tuple[str, ...]:
        return tuple(se_id(next(engineers)) for _ in range(count))

    found = [
        Rule(f"Named accounts {k + 1}", take(1), accounts=_named(k))
        for k in range(10)
    ]
    pairs = [(r, s) for r in REGIONS for s in SEGMENTS]
    found += [
        Rule(f"{r} {s.name} large deals", take(2), region=r,
             segment=s.name, min_amount=s.large)
        for r, s in pairs
    ]
    found += [
        Rule(f"{r} {s.name} {p}", take(1), region=r, segment=s.name,
             product=p)
        for r, s in pairs
        for p in PRODUCTS[:4]
    ]
    found += [
        Rule(f"{r} {s.name}", take(2), region=r, segment=s.name)
        for r, s in pairs
    ]
    return found


def _named(rule: int) -> tuple[str, ...]:
    """Accounts spread over the whole range, none in two rules."""
    first = rule * NAMED_ACCOUNTS_PER_RULE
    return tuple(
        account_id((k * 7919) % ACCOUNTS)
        for k in range(first + 1, first + 1 + NAMED_ACCOUNTS_PER_RULE)
    )


# Each kind of SE rule's share of all won new and upsell bookings, per
# SE it names, measured on a million deals and rounded: it sets the SE
# quotas so that SE attainment centres near 100 %.
SE_LOAD = {
    "named": Decimal("0.0006"),
    "large": Decimal("0.037"),
    "product": Decimal("0.0059"),
    "fallback": Decimal("0.0058"),
}


def se_load(rule: Rule) -> Decimal:
    if rule.accounts:
        return SE_LOAD["named"]
    if rule.min_amount is not None:
        return SE_LOAD["large"]
    if rule.product is not None:
        return SE_LOAD["product"]
    return SE_LOAD["fallback"]


# -- building the case -------------------------------------------------------


def build_case(folder: Path, deals: int, seed: int = 7) -> Path:
    """Write the project into ``folder`` and return its ``attain.yaml``."""
    folder = Path(folder)
    data = folder / "data"
    plans = folder / "plans"
    data.mkdir(parents=True, exist_ok=True)
    plans.mkdir(parents=True, exist_ok=True)

    roster = roster_rows()
    quotas = quota_rows(deals, roster)
    _write_csv(data / "quotas.csv", quotas)
    _write_csv(data / "roster.csv", _with_incentives(roster, quotas))
    write_deals(data / "deals.csv", deals, seed)

    for name, text in plan_files().items():
        (plans / name).write_text(text, encoding="utf-8")
    project = folder / "attain.yaml"
    project.write_text(PROJECT_FILE, encoding="utf-8")
    return project


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# -- roster and quotas -------------------------------------------------------


def roster_rows() -> list[dict]:
    """VP, directors, managers, AEs and SEs, each with one stretch that
    covers the whole year."""
    rows = [_payee(VP, "VP", None, "", 0)]
    rows += [
        _payee(director_id(d), "Director", VP, "", 1 + d)
        for d in range(DIRECTORS)
    ]
    rows += [
        _payee(manager_id(m), "Manager", director_id(m % DIRECTORS),
               REGIONS[m % len(REGIONS)], 20 + m)
        for m in range(MANAGERS)
    ]
    rows += [
        _payee(ae_id(a), "AE", manager_id(a % MANAGERS),
               REGIONS[a % len(REGIONS)], 100 + a)
        for a in range(ACCOUNT_EXECUTIVES)
    ]
    rows += [
        _payee(se_id(s), "SE", director_id(s % DIRECTORS), "", 1000 + s)
        for s in range(SOLUTIONS_ENGINEERS)
    ]
    return rows


def _payee(ident, role, manager, territories, number) -> dict:
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    hired = date(2015 + number % 10, 1 + number % 12, 1 + number % 28)
    return {
        "payee_id": ident,
        "name": f"{first} {last}",
        "role": role,
        "manager": manager or "",
        "hire_date": hired.isoformat(),
        "target_incentive": "",
        "territories": territories,
    }


def quota_rows(deals: int, roster: list[dict]) -> list[dict]:
    """Quarterly quotas that scale with the ledger, so that attainment
    spreads the same way at every size: AEs by tier, managers the sum of
    their team's, SEs by the load of their territory rule."""
    yearly = {
        ae_id(a): _round_hundred(_ae_standard(deals) * TIERS[a % 3])
        for a in range(ACCOUNT_EXECUTIVES)
    }
    team = {manager_id(m): Decimal(0) for m in range(MANAGERS)}
    for row in roster:
        if row["role"] == "AE":
            team[row["manager"]] += yearly[row["payee_id"]]
    engineers = {
        payee: _round_hundred(_bookings(deals) * se_load(rule))
        for rule in rules()
        for payee in rule.payees
    }
    rows = []
    for measure, quotas in (("bookings", yearly),
                            ("team_bookings", team),
                            ("overlay_bookings", engineers)):
        rows += [
            {"payee_id": payee, "measure": measure, "period": period,
             "amount": f"{amount * share:.2f}"}
            for payee, amount in quotas.items()
            for period, share in zip(PERIODS, SEASONALITY)
        ]
    return rows


def _with_incentives(roster: list[dict], quotas: list[dict]) -> list[dict]:
    """Each paid payee's target incentive: a fixed share of their yearly
    quota, so that pay at 100 % attainment is about the incentive."""
    share = {
        "AE": pct("10"), "Manager": pct("0.6"), "SE": pct("1"),
    }
    yearly: dict[str, Decimal] = {}
    for row in quotas:
        payee = row["payee_id"]
        yearly[payee] = yearly.get(payee, Decimal(0)) + Decimal(row["amount"])
    rows = []
    for row in roster:
        row = dict(row)
        if row["role"] in share:
            incentive = yearly[row["payee_id"]] * share[row["role"]]
            row["target_incentive"] = f"{incentive:.2f}"
        rows.append(row)
    return rows


def _bookings(deals: int) -> Decimal:
    """Expected won new and upsell bookings of the whole ledger."""
    won = Decimal(STAGES[0][1]) / 100
    booked = Decimal(sum(p for t, p in TYPES if t in BOOKING_TYPES)) / 100
    mean_amount = sum(
        Decimal(s.percent) / 100 * (s.smallest + s.largest) / 2
        for s in SEGMENTS
    )
    mean_productivity = sum(
        productivity(a) for a in range(ACCOUNT_EXECUTIVES)
    ) / ACCOUNT_EXECUTIVES
    return deals * won * booked * mean_amount * mean_productivity


def _ae_standard(deals: int) -> Decimal:
    return _bookings(deals) / ACCOUNT_EXECUTIVES


def _round_hundred(amount: Decimal) -> Decimal:
    return max(Decimal(100), (amount / 100).quantize(Decimal(1)) * 100)


# -- the ledger --------------------------------------------------------------


def write_deals(path: Path, deals: int, seed: int) -> None:
    """Generate the ledger in DuckDB and write it as CSV."""
    target = str(path).replace("'", "''")
    with duckdb.connect() as con:
        con.execute(f"COPY ({deals_query(deals, seed)}) TO '{target}' "
                    "(HEADER, DELIMITER ',')")


def deals_query(deals: int, seed: int) -> str:
    """The SELECT that generates the ledger.

    Each column draws from its own hash of (row, seed, column number);
    ``random()`` would differ between runs and threads.
    """
    draws = ",\n".join(
        f"    (hash(i, {int(seed)}, {k}) % {m})::BIGINT AS {name}"
        for k, (name, m) in enumerate(_DRAWS.items())
    )
    return f"""
WITH draws AS (
  SELECT i,
{draws}
  FROM range({int(deals)}) t(i)
), shaped AS (
  SELECT *,
    {_pick("seg", [(s.name, s.percent) for s in SEGMENTS])} AS segment,
    {_pick("kind", TYPES)} AS type,
    {_pick("outcome", STAGES)} AS stage,
    split < {SPLIT_PERCENT_OF_DEALS} AS is_split
  FROM draws
)
SELECT
  'D' || lpad((i + 1)::VARCHAR, 8, '0') AS deal_id,
  DATE '{YEAR}-01-01' + day::INTEGER AS close_date,
  ({_cents()} * 0.01)::DECIMAL(18, 2) AS amount,
  'AE-' || lpad((owner + 1)::VARCHAR, 3, '0') AS owner,
  stage,
  type,
  {_list(REGIONS)}[owner % {len(REGIONS)} + 1] AS region,
  segment,
  {_list(PRODUCTS)}[product + 1] AS product,
  'ACC-' || lpad((account + 1)::VARCHAR, 5, '0') AS account,
  CASE WHEN is_split THEN 'AE-' || lpad(({_partner()} + 1)::VARCHAR, 3, '0')
  END AS split_partner,
  CASE WHEN is_split THEN {_list(SPLIT_PERCENTS)}[percent + 1]
  END AS split_percent
FROM shaped
"""


# Name and number of outcomes of each draw; the order numbers the hashes.
_DRAWS = {
    "day": 365,
    "owner": ACCOUNT_EXECUTIVES,
    "seg": 100,
    "size": 1 << 40,
    "kind": 100,
    "outcome": 100,
    "product": len(PRODUCTS),
    "account": ACCOUNTS,
    "split": 100,
    "partner": ACCOUNT_EXECUTIVES // len(REGIONS) - 1,
    "percent": len(SPLIT_PERCENTS),
}


def _pick(draw: str, weights) -> str:
    """A CASE that maps a draw of 0-99 to values by percent weights."""
    parts, bound = [], 0
    for value, percent in weights[:-1]:
        bound += percent
        parts.append(f"WHEN {draw} < {bound} THEN '{value}'")
    return f"CASE {' '.join(parts)} ELSE '{weights[-1][0]}' END"


def _cents() -> str:
    """Whole cents: uniform within the segment's range, times the owner's
    productivity in tenths, in integer arithmetic so that every amount
    is exact."""
    ranges = " ".join(
        f"WHEN '{s.name}' THEN {s.smallest * 100} + size % "
        f"{(s.largest - s.smallest) * 100 + 1}"
        for s in SEGMENTS
    )
    tenths = PRODUCTIVITY_TENTHS_SQL
    return f"((CASE segment {ranges} END) * {tenths} // 10)::DECIMAL(18, 0)"


def _partner() -> str:
    """Another AE of the owner's region: a step of a multiple of the
    number of regions, never a whole turn."""
    step = f"{len(REGIONS)} * (partner + 1)"
    return f"(owner + {step}) % {ACCOUNT_EXECUTIVES}"


def _list(values) -> str:
    return "[" + ", ".join(
        f"'{v}'" if isinstance(v, str) else str(v) for v in values
    ) + "]"


# -- plan files --------------------------------------------------------------

PROJECT_FILE = """\
kind: project
name: Realistic benchmark case, FY2026
plans: [plans]
data:
  deals: {connector: csv, path: data/deals.csv}
  roster: {connector: csv, path: data/roster.csv}
  quotas: {connector: csv, path: data/quotas.csv}
store:
  url: sqlite:///.attain/attain.db
outputs:
  - {format: csv, path: out/payouts.csv}
"""


def plan_files() -> dict[str, str]:
    """File name -> YAML text of every plan file of the case."""
    files = {
        "crediting.yaml": crediting_yaml(),
        "se-coverage.yaml": territories_yaml(),
    }
    for plan in PLANS:
        files[f"{plan.id}.yaml"] = plan_yaml(plan)
    return files


def crediting_yaml() -> str:
    return "\n".join([
        "kind: crediting",
        f"id: {CREDITING_ID}",
        "name: Field sales crediting",
        "splits:",
        "  columns: {partner: split_partner, percent: split_percent}",
        "overlays:",
        "  - name: Solutions engineer",
        f"    territories: {TERRITORIES_ID}",
        "    credit: 100%",
        f"    where: '{type_condition(OVERLAY_TYPES)}'",
        "rollup:",
        f"  roles: [{', '.join(ROLLUP_ROLES)}]",
        "",
    ])


def territories_yaml() -> str:
    lines = [
        "kind: territories",
        f"id: {TERRITORIES_ID}",
        "name: Solutions engineer coverage",
        "match: first",
        "rules:",
    ]
    for rule in rules():
        lines += [
            f"  - name: {rule.name}",
            f"    when: '{rule.condition}'",
            f"    payees: [{', '.join(rule.payees)}]",
        ]
    return "\n".join(lines) + "\n"


def plan_yaml(plan: PlanDef) -> str:
    lines = [
        "kind: plan",
        f"id: {plan.id}",
        f"name: {plan.name}",
        "version: 1",
        "currency: USD",
        "calendar: {fiscal_year_starts: January}",
        "period: quarter",
        f"effective: {{from: {YEAR}-01-01, to: {YEAR}-12-31}}",
        f"participants: {{roles: [{plan.role}]}}",
        f"target_incentive: {plan.target_incentive}",
        f"crediting: {CREDITING_ID}",
        "measures:",
    ]
    for measure in plan.measures:
        lines += _measure_yaml(measure)
    lines += [
        "quotas:",
        f"  {plan.quota_measure}: {{table: quotas}}",
        "components:",
    ]
    for component in plan.components:
        lines += _component_yaml(component)
    return "\n".join(lines) + "\n"


def _measure_yaml(measure: Measure) -> list[str]:
    lines = [f"  {measure.id}:", f"    name: {measure.name}"]
    if measure.aggregate == "sum":
        lines.append("    sum: credit")
    else:
        lines.append("    count: deals")
    lines.append(f"    where: '{measure.where}'")
    if measure.credit_types != ALL_CREDIT_TYPES:
        lines.append(f"    credit_types: [{', '.join(measure.credit_types)}]")
    return lines


def _component_yaml(component) -> list[str]:
    lines = [f"  {component.id}:", f"    name: {component.name}"]
    if isinstance(component, Tiers):
        lines += _tiers_yaml(component)
    elif isinstance(component, FlatRate):
        lines += [
            "    flat_rate:",
            f"      measure: {component.measure}",
            f"      rate: {_percent(component.rate)}",
        ]
    else:
        lines += [
            "    spif:",
            f"      amount: {component.amount}",
            f"      where: '{component.where}'",
            f"      from: {component.starts}",
            f"      to: {component.ends}",
            "      pays: owner",
        ]
    return lines


def _tiers_yaml(tiers: Tiers) -> list[str]:
    lines = [
        "    rate_table:",
        f"      measure: {tiers.measure}",
        "      basis: attainment",
        "      method: marginal",
    ]
    if tiers.threshold is not None:
        lines.append(f"      threshold: {_percent(tiers.threshold)}")
    lines.append("      bands:")
    for band in tiers.bands:
        lines.append(f"        - from: {_percent(band.lower)}")
        if band.upper is not None:
            lines.append(f"          to: {_percent(band.upper)}")
        lines.append(f"          rate: {_percent(band.rate)}")
        if band.gate is not None:
            measure, least = band.gate
            lines.append(f"          when: '{measure} >= {least}'")
            lines.append(f"          otherwise: {_percent(band.otherwise)}")
    lines.append(f"    cap: {tiers.cap}x target incentive")
    return lines


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"
