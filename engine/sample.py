"""Seeded sample data for the bundled example project.

:func:`generate` writes a deal ledger, an effective-dated roster, a quota
table, a split table, a named-account list and the pipeline history
(opportunity snapshots) for one fiscal year, in the CSV input contract.
The same arguments always give byte-identical files: every draw comes
from a ``random.Random`` seeded with ``seed`` (the pipeline history from
one of its own), and nothing depends on hash order or the clock.

The data is shaped for the example plans: quarterly bookings of the
Account Executives land between about 40 % and 180 % of quota, a few
deals exceed 500,000 (windfall), some won deals are cancelled inside and
outside a 90-day window (clawback), a team moves to another manager
mid-year, two sellers are hired and one leaves during the year.

Run ``python -m engine.sample DEST [--seed N] [--deals N]``.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

from engine.errors import ConfigError
from engine.records import LOST, WON, QuotaRow, RosterRow, SplitRow

logger = logging.getLogger(__name__)

MIN_DEALS = 200

DEAL_COLUMNS = (
    "deal_id", "close_date", "amount", "currency", "owner", "type",
    "stage", "created_date", "probability", "list_price", "region",
    "country", "segment", "industry", "product", "account", "tech_win",
    "split_partner", "split_percent", "cancels",
)
ROSTER_COLUMNS = (
    "payee_id", "name", "role", "manager", "currency", "hire_date",
    "termination_date", "target_incentive", "territories",
    "effective_from", "effective_to",
)
QUOTA_COLUMNS = ("payee_id", "measure", "period", "amount")
SPLIT_COLUMNS = ("deal_id", "payee_id", "percent")
SNAPSHOT_COLUMNS = ("snapshot_date", "deal_id", "stage", "probability",
                    "amount", "close_date")

CURRENCY = "USD"
QUOTA_MEASURE = "bookings"

# Manager id, region and number of Account Executives in the team.
TEAMS = (("MGR-1", "NA", 11), ("MGR-2", "LATAM", 9),
         ("MGR-3", "EMEA", 10), ("MGR-4", "APAC", 8))
SOLUTIONS_ENGINEERS = (
    ("SE-STRAT", ("NA", "LATAM", "EMEA", "APAC")),
    ("SE-EMEA-ENT", ("EMEA",)),
    ("SE-EMEA", ("EMEA",)),
    ("SE-AMER", ("NA", "LATAM")),
    ("SE-APAC", ("APAC",)),
)

# Annual target incentives and quarterly quotas, in cents.
AE_TI, SENIOR_AE_TI = 80_000_00, 96_000_00
MANAGER_TI, SE_TI = 90_000_00, 30_000_00
AE_QUOTA, SENIOR_AE_QUOTA = 200_000_00, 240_000_00

COUNTRIES = {
    "NA": (("US", 8), ("CA", 2)),
    "LATAM": (("BR", 4), ("MX", 3), ("AR", 1), ("CL", 1), ("CO", 1)),
    "EMEA": (("GB", 4), ("DE", 3), ("FR", 2), ("NL", 1), ("SE", 1),
             ("NO", 1), ("ES", 1), ("IT", 1), ("AE", 1), ("ZA", 1)),
    "APAC": (("AU", 3), ("JP", 3), ("SG", 2), ("IN", 2), ("NZ", 1)),
}
EURO_COUNTRIES = ("DE", "FR", "NL", "ES", "IT")
SEGMENTS = (("Enterprise", 25), ("Mid-Market", 40), ("SMB", 35))
INDUSTRIES = ("Financial Services", "Healthcare", "Manufacturing",
              "Retail", "Software", "Public Sector")
PRODUCTS = (("platform", 45), ("analytics", 30), ("connect", 25))
DEAL_TYPES = (("new", 35), ("upsell", 35), ("renewal", 30))
STAGES = ((WON, 45), (LOST, 30), ("discovery", 9), ("proposal", 9),
          ("negotiation", 7))
PROBABILITY = {WON: Decimal(1), LOST: Decimal(0),
               "discovery": Decimal("0.1"), "proposal": Decimal("0.4"),
               "negotiation": Decimal("0.7")}

# The open stages in the order a deal moves through them, and how far
# a lost deal got before it was lost.
OPEN_STAGES = ("discovery", "proposal", "negotiation")
LOST_AT = (("discovery", 45), ("proposal", 35), ("negotiation", 20))

# Deal sizes in whole dollars: bands, then the weight of each band per
# segment. The weights set the average deal so that a typical seller
# books about a quarterly quota from the default 5,000 deals.
SIZE_BANDS = ((5_000, 10_000), (10_000, 20_000), (20_000, 40_000),
              (40_000, 80_000), (80_000, 120_000))
SIZE_WEIGHTS = {"SMB": (62, 30, 7, 1, 0),
                "Mid-Market": (44, 36, 14, 5, 1),
                "Enterprise": (20, 30, 28, 15, 7)}
LARGE_DEAL = (200_000, 900_000)
WINDFALL_SIZE = 500_000

ACCOUNTS = 1_200
INSTALLED_BASE_SHARE = 0.4
STRATEGIC_ACCOUNTS = 25

FIRST_NAMES = (
    "Aisha", "Akira", "Amara", "Ana", "Benedikt", "Bruna", "Camille",
    "Carlos", "Chloe", "Daniel", "Diego", "Elena", "Emeka", "Farah",
    "Freya", "Gabriel", "Hana", "Ingrid", "Isabel", "James", "Jonas",
    "Kavya", "Lars", "Leila", "Lucas", "Mateo", "Mei", "Nadia",
    "Noah", "Olivia", "Priya", "Rafael", "Sakura", "Sofia", "Tariq",
    "Thomas", "Valentina", "Wei", "Yusuf", "Zoe",
)
LAST_NAMES = (
    "Andersen", "Bauer", "Brown", "Castillo", "Chen", "Costa",
    "Dubois", "Fernandes", "Fischer", "Garcia", "Haddad", "Hansen",
    "Ito", "Johnson", "Kim", "Kowalski", "Lindqvist", "Lopez",
    "Martin", "Mensah", "Moreau", "Nakamura", "Nguyen", "Okafor",
    "Patel", "Pereira", "Rossi", "Santos", "Schmidt", "Silva", "Singh",
    "Smith", "Tanaka", "Taylor", "Van Dijk", "Wagner", "Walsh",
    "Williams", "Yilmaz", "Zhang",
)


@dataclass(frozen=True)
class _FiscalYear:
    """A fiscal year named after the calendar year it starts in."""

    year: int
    start_month: int

    @property
    def start(self) -> date:
        return date(self.year, self.start_month, 1)

    @property
    def end(self) -> date:
        return self.months_in(12) - timedelta(days=1)

    def months_in(self, months: int, days: int = 0) -> date:
        """The first day of the month ``months`` after the start, plus days."""
        index = self.start_month - 1 + months
        first = date(self.year + index // 12, index % 12 + 1, 1)
        return first + timedelta(days=days)

    def quarter(self, day: date) -> int:
        """The quarter (1 to 4) a day of this fiscal year falls in."""
        months = (day.year - self.year) * 12 + day.month - self.start_month
        return months // 3 + 1

    def quarter_label(self, quarter: int) -> str:
        return f"FY{self.year}-Q{quarter}"


@dataclass
class _Seller:
    """An Account Executive as the deal draws see them."""

    payee_id: str
    stretches: list[RosterRow]
    active_from: date
    active_to: date
    pace: float
    discount_bp: tuple[int, int]
    senior: bool = False

    def territory_on(self, day: date) -> str:
        for stretch in self.stretches:
            if stretch.in_force(day):
                return stretch.territories[0]
        return self.stretches[-1].territories[0]

    def is_active(self, day: date) -> bool:
        return self.active_from <= day <= self.active_to


@dataclass(frozen=True)
class _Account:
    name: str
    region: str
    country: str
    segment: str
    industry: str


@dataclass(frozen=True)
class _Market:
    """Who sells to whom: sellers with their deal weights, and accounts."""

    sellers: list[_Seller]
    cum_weights: list[float]
    accounts: dict[str, list[_Account]]

    def draw_seller(self, rng: Random) -> _Seller:
        return rng.choices(self.sellers, cum_weights=self.cum_weights)[0]


@dataclass(frozen=True)
class _Staffing:
    """The fixed choices of one generation: calendar and special sellers."""

    fiscal_year: _FiscalYear
    moved: tuple[str, ...]
    hired: dict[str, date]
    terminated: dict[str, date]
    promoted: str
    seniors: tuple[str, ...]
    heavy_discounters: tuple[str, ...]

    @property
    def move_date(self) -> date:
        return self.fiscal_year.months_in(6)

    @property
    def promotion_date(self) -> date:
        return self.fiscal_year.months_in(9)


def generate(
    dest: Path,
    *,
    seed: int = 2026,
    deals: int = 5000,
    fiscal_year: int = 2026,
    fy_start_month: int = 2,
) -> dict[str, Path]:
    """Write the sample data set into ``dest`` and return name -> path.

    ``deals`` counts the deals; the few cancellation rows come on top.
    """
    _check_arguments(deals, fiscal_year, fy_start_month)
    rng = Random(seed)
    fy = _FiscalYear(fiscal_year, fy_start_month)

    staffing = _draw_staffing(rng, fy)
    roster = _build_roster(rng, staffing)
    sellers = _build_sellers(rng, staffing, roster)
    market = _Market(sellers, _cumulative(sellers), _build_accounts(rng))

    ledger = [_draw_deal(rng, market) for _ in range(deals)]
    _make_large(rng, ledger, market)
    split_table = _draw_splits(rng, ledger, sellers)
    ledger += _draw_cancellations(rng, fy, ledger, sellers, split_table)
    _number(ledger)
    # A stream of its own, so the pipeline history leaves the other
    # files exactly as they were before it existed.
    history = _snapshots(Random(seed + 1), fy, ledger)

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths = {
        "deals": _write_deals(dest, ledger),
        "roster": _write_roster(dest, roster),
        "quotas": _write_quotas(dest, _quotas(staffing, sellers)),
        "splits": _write_splits(dest, _split_rows(split_table)),
        "strategic_accounts": _write_accounts(
            dest, _strategic_accounts(ledger)),
        "snapshots": _write_snapshots(dest, history),
    }
    logger.info("Wrote %d deal rows and %d roster rows to %s",
                len(ledger), len(roster), dest)
    return paths


def _check_arguments(deals: int, fiscal_year: int, start_month: int) -> None:
    if deals < MIN_DEALS:
        raise ConfigError(
            f"Deal count {deals} is too small; use at least {MIN_DEALS}.")
    if not 1 <= start_month <= 12:
        raise ConfigError(
            f"Fiscal year start month {start_month} is not a month; "
            "use 1 to 12.")
    if not 1900 < fiscal_year < 9000:
        raise ConfigError(
            f"Fiscal year {fiscal_year} is out of range; use 1901 to 8999.")


# -- roster -----------------------------------------------------------------


def _ae_ids() -> list[tuple[str, str, str]]:
    """Every Account Executive as (payee_id, manager, region)."""
    ids = []
    for manager, region, size in TEAMS:
        for _ in range(size):
            ids.append((f"AE-{len(ids) + 1:03d}", manager, region))
    return ids


def _draw_staffing(rng: Random, fy: _FiscalYear) -> _Staffing:
    aes = [payee_id for payee_id, _, _ in _ae_ids()]
    latam = [p for p, manager, _ in _ae_ids() if manager == "MGR-2"]
    moved = sorted(rng.sample(latam, 3))

    others = [p for p in aes if p not in moved]
    hired_ids, leaver, promoted = _pick(rng, others, 2, 1, 1)
    rest = [p for p in others if p not in hired_ids + leaver + promoted]
    seniors = sorted(rng.sample(rest, 5))
    heavy = sorted(rng.sample(aes, 4))

    hire_dates = (fy.months_in(3, 17), fy.months_in(7))
    return _Staffing(
        fiscal_year=fy,
        moved=tuple(moved),
        hired=dict(zip(sorted(hired_ids), hire_dates)),
        terminated={leaver[0]: fy.months_in(8, 14)},
        promoted=promoted[0],
        seniors=tuple(seniors),
        heavy_discounters=tuple(heavy),
    )


def _pick(rng: Random, pool: list[str], *sizes: int) -> list[list[str]]:
    chosen = rng.sample(pool, sum(sizes))
    groups, start = [], 0
    for size in sizes:
        groups.append(chosen[start:start + size])
        start += size
    return groups


def _names(rng: Random, count: int) -> list[str]:
    pairs = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    return rng.sample(pairs, count)


def _build_roster(rng: Random, staffing: _Staffing) -> list[RosterRow]:
    """Every payee with one row per stretch, in hierarchy order."""
    size = 1 + len(TEAMS) + len(_ae_ids()) + len(SOLUTIONS_ENGINEERS)
    names = iter(_names(rng, size))
    fy = staffing.fiscal_year

    def payee(payee_id: str, role: str, hired: date | None = None,
              **fields: Any) -> RosterRow:
        before = fy.start - timedelta(days=rng.randint(240, 2_900))
        return RosterRow(payee_id, next(names), role, currency=CURRENCY,
                         hire_date=hired or before, **fields)

    rows = [payee("VP-1", "VP")]
    for manager, region, _ in TEAMS:
        rows.append(payee(manager, "Manager", manager="VP-1",
                          target_incentive=_money(MANAGER_TI),
                          territories=(region,)))
    for payee_id, manager, region in _ae_ids():
        row = payee(payee_id, "AE", manager=manager,
                    territories=(region,),
                    target_incentive=_money(_ae_ti(staffing, payee_id)),
                    hired=staffing.hired.get(payee_id),
                    termination_date=staffing.terminated.get(payee_id))
        rows += _stretches(staffing, row)
    for payee_id, territories in SOLUTIONS_ENGINEERS:
        rows.append(payee(payee_id, "SE", manager="VP-1",
                          target_incentive=_money(SE_TI),
                          territories=territories))
    return rows


def _ae_ti(staffing: _Staffing, payee_id: str) -> int:
    return SENIOR_AE_TI if payee_id in staffing.seniors else AE_TI


def _stretches(staffing: _Staffing, row: RosterRow) -> list[RosterRow]:
    """Split a seller's row where the manager or the incentive changes."""
    if row.payee_id in staffing.moved:
        day = staffing.move_date
        changed = {"manager": "MGR-3", "territories": ("EMEA",)}
    elif row.payee_id == staffing.promoted:
        day = staffing.promotion_date
        changed = {"target_incentive": _money(SENIOR_AE_TI)}
    else:
        return [row]
    before = replace(row, effective_to=day - timedelta(days=1))
    after = replace(row, effective_from=day, **changed)
    return [before, after]


def _build_sellers(
    rng: Random, staffing: _Staffing, roster: list[RosterRow]
) -> list[_Seller]:
    fy = staffing.fiscal_year
    sellers = []
    for payee_id, _, _ in _ae_ids():
        stretches = [row for row in roster if row.payee_id == payee_id]
        first = stretches[0]
        heavy = payee_id in staffing.heavy_discounters
        sellers.append(_Seller(
            payee_id=payee_id,
            stretches=stretches,
            active_from=max(fy.start, first.hire_date or fy.start),
            active_to=min(fy.end, first.termination_date or fy.end),
            pace=rng.uniform(0.6, 1.4),
            discount_bp=(800, 3_500) if heavy else (0, 2_000),
            senior=payee_id in staffing.seniors,
        ))
    return sellers


def _cumulative(sellers: list[_Seller]) -> list[float]:
    """Deal weights that grow with pace, quota and days active."""
    total, weights = 0.0, []
    for seller in sellers:
        days = (seller.active_to - seller.active_from).days + 1
        quota = SENIOR_AE_QUOTA if seller.senior else AE_QUOTA
        total += seller.pace * quota * days
        weights.append(total)
    return weights


# -- accounts and deals -----------------------------------------------------


def _build_accounts(rng: Random) -> dict[str, list[_Account]]:
    """Accounts per region; each list starts with the customer base."""
    regions = [region for _, region, _ in TEAMS]
    weights = [size for _, _, size in TEAMS]
    accounts: dict[str, list[_Account]] = {region: [] for region in regions}
    for number in range(1, ACCOUNTS + 1):
        region = rng.choices(regions, weights)[0]
        accounts[region].append(_Account(
            name=f"ACME-{number:04d}",
            region=region,
            country=_weighted(rng, COUNTRIES[region]),
            segment=_weighted(rng, SEGMENTS),
            industry=rng.choice(INDUSTRIES),
        ))
    return accounts


def _weighted(rng: Random, options: Sequence[tuple[str, int]]) -> str:
    values = [value for value, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(values, weights)[0]


def _draw_deal(rng: Random, market: _Market) -> dict[str, Any]:
    """One deal as a row of typed values; ``deal_id`` comes later."""
    seller = market.draw_seller(rng)
    stage = _weighted(rng, STAGES)
    close = _close_date(rng, seller, open_stage=stage not in (WON, LOST))
    deal_type = _weighted(rng, DEAL_TYPES)
    account = _pick_account(rng, seller, close, deal_type,
                            market.accounts, large=False)

    cents = _draw_amount(rng, account.segment)
    return {
        "deal_id": None,
        "close_date": close,
        "amount": _money(cents),
        "currency": _currency(rng, account),
        "owner": seller.payee_id,
        "type": deal_type,
        "stage": stage,
        "created_date": close - timedelta(days=rng.randint(10, 180)),
        "probability": PROBABILITY[stage],
        "list_price": _money(_list_price(rng, seller, cents)),
        "region": account.region,
        "country": account.country,
        "segment": account.segment,
        "industry": account.industry,
        "product": _weighted(rng, PRODUCTS),
        "account": account.name,
        "tech_win": _tech_win(rng, deal_type, stage),
    }


def _close_date(rng: Random, seller: _Seller, open_stage: bool) -> date:
    """A day in the seller's active stretch; open deals lean late."""
    days = (seller.active_to - seller.active_from).days
    offset = rng.randint(0, days)
    if open_stage:
        offset = max(offset, rng.randint(0, days))
    return seller.active_from + timedelta(days=offset)


def _pick_account(
    rng: Random,
    seller: _Seller,
    close: date,
    deal_type: str,
    accounts: dict[str, list[_Account]],
    large: bool,
) -> _Account:
    """An account in the seller's territory, now and then in another one.

    Upsells and renewals go to the customer base, so accounts repeat.
    """
    region = seller.territory_on(close)
    if rng.random() < 0.07:
        region = rng.choice(sorted(accounts))
    pool = accounts[region]
    if deal_type != "new":
        pool = pool[:max(1, int(len(pool) * INSTALLED_BASE_SHARE))]
    if large:
        pool = [a for a in pool if a.segment == "Enterprise"] or pool
    return rng.choice(pool)


def _draw_amount(rng: Random, segment: str) -> int:
    """An ordinary deal amount in cents, larger for larger customers."""
    low, high = rng.choices(SIZE_BANDS, SIZE_WEIGHTS[segment])[0]
    return rng.randint(low * 100, high * 100)


def _list_price(rng: Random, seller: _Seller, cents: int) -> int:
    """The price before discount, rounded up so it never falls below."""
    low, high = seller.discount_bp
    discount = 0 if low == 0 and rng.random() < 0.25 else rng.randint(
        low, high)
    return -(-cents * 10_000 // (10_000 - discount))


def _currency(rng: Random, account: _Account) -> str:
    # Only euro-area accounts buy in euros: about 3 % of EMEA deals.
    if account.country in EURO_COUNTRIES and rng.random() < 0.07:
        return "EUR"
    return CURRENCY


def _tech_win(rng: Random, deal_type: str, stage: str) -> bool | None:
    if deal_type == "renewal" or rng.random() < 0.5:
        return None
    return rng.random() < (0.65 if stage == WON else 0.35)


def _make_large(
    rng: Random, ledger: list[dict[str, Any]], market: _Market
) -> None:
    """Replace a few deals with large ones, some of them won above 500,000.

    The won ones above the windfall size are placed on purpose so that
    every seed gives the windfall rule something to act on.
    """
    count = max(4, round(len(ledger) * 0.0024))
    windfalls = max(2, count // 3)
    by_id = {s.payee_id: s for s in market.sellers}
    for index in range(count):
        row = ledger[index]
        seller = by_id[row["owner"]]
        low, high = LARGE_DEAL
        if index < windfalls:
            low = WINDFALL_SIZE
            row.update(stage=WON, probability=PROBABILITY[WON],
                       type="new" if index % 2 else "upsell")
        account = _pick_account(rng, seller, row["close_date"],
                                row["type"], market.accounts, large=True)
        cents = rng.randint(low * 100 + 1, high * 100)
        row.update(
            amount=_money(cents),
            list_price=_money(_list_price(rng, seller, cents)),
            region=account.region, country=account.country,
            segment=account.segment, industry=account.industry,
            account=account.name, currency=_currency(rng, account),
        )


# -- splits and cancellations -----------------------------------------------


def _is_plain_won(row: dict[str, Any]) -> bool:
    return row["stage"] == WON and not row.get("cancels")


def _draw_splits(
    rng: Random, ledger: list[dict[str, Any]], sellers: list[_Seller]
) -> list[tuple[dict[str, Any], list[tuple[str, int]]]]:
    """Split about 5 % of won deals by columns and 2 % by the split table.

    Returns the table splits as (deal, [(payee_id, percent), ...]).
    """
    table = []
    for row in ledger:
        if not _is_plain_won(row):
            continue
        draw = rng.random()
        if draw < 0.05:
            partner = _partners(rng, row, sellers, 1)[0]
            row["split_partner"] = partner
            row["split_percent"] = Decimal(rng.choice((30, 40, 50)))
        elif draw < 0.07:
            table.append((row, _table_split(rng, row, sellers)))
    return table


def _table_split(
    rng: Random, row: dict[str, Any], sellers: list[_Seller]
) -> list[tuple[str, int]]:
    shares = rng.choice(((60, 40), (50, 50), (70, 30),
                         (50, 30, 20), (40, 30, 30), (34, 33, 33)))
    partners = _partners(rng, row, sellers, len(shares) - 1)
    payees = [row["owner"], *partners]
    return list(zip(payees, shares))


def _partners(
    rng: Random, row: dict[str, Any], sellers: list[_Seller], count: int
) -> list[str]:
    """Other sellers active at the close, from the deal's region if any."""
    close = row["close_date"]
    active = [s for s in sellers
              if s.is_active(close) and s.payee_id != row["owner"]]
    local = [s for s in active if s.territory_on(close) == row["region"]]
    pool = local if len(local) >= count else active
    return [s.payee_id for s in rng.sample(pool, count)]


def _draw_cancellations(
    rng: Random,
    fy: _FiscalYear,
    ledger: list[dict[str, Any]],
    sellers: list[_Seller],
    split_table: list[tuple[dict[str, Any], list[tuple[str, int]]]],
) -> list[dict[str, Any]]:
    """Reversal rows for about 0.2 % of the deals.

    Half are cancelled within 90 days of the close, half later; the first
    two sit on each side of the edge (90 and 91 days).
    """
    count = max(4, round(len(ledger) * 0.002))
    by_id = {s.payee_id: s for s in sellers}
    table_split = {id(deal) for deal, _ in split_table}
    candidates = [row for row in ledger
                  if _cancellable(row) and id(row) not in table_split]
    rng.shuffle(candidates)

    rows = []
    for row in candidates:
        days = _cancel_after(rng, len(rows))
        cancelled = row["close_date"] + timedelta(days=days)
        if cancelled <= fy.end and by_id[row["owner"]].is_active(cancelled):
            rows.append(_reversal(row, cancelled))
        if len(rows) == count:
            break
    return rows


def _cancellable(row: dict[str, Any]) -> bool:
    """A won new or upsell deal of ordinary size that nobody shares."""
    ordinary = row["amount"] < LARGE_DEAL[0] and not row.get("split_partner")
    return _is_plain_won(row) and row["type"] != "renewal" and ordinary


def _cancel_after(rng: Random, index: int) -> int:
    if index < 2:
        return 90 + index
    return rng.randint(14, 89) if index % 2 else rng.randint(92, 200)


def _reversal(row: dict[str, Any], cancelled: date) -> dict[str, Any]:
    reversal = dict(row)
    reversal.update(
        deal_id=None, close_date=cancelled, amount=-row["amount"],
        created_date=None, probability=None, list_price=None,
        cancels=row,
    )
    return reversal


def _number(ledger: list[dict[str, Any]]) -> None:
    """Give deal ids in the order the rows entered the ledger."""

    def entered(item: tuple[int, dict[str, Any]]) -> tuple[date, int]:
        index, row = item
        return (row["created_date"] or row["close_date"], index)

    ordered = sorted(enumerate(ledger), key=entered)
    for number, (_, row) in enumerate(ordered, start=1):
        row["deal_id"] = f"D-{number:06d}"
    ledger.sort(key=lambda row: row["deal_id"])
    for row in ledger:
        if row.get("cancels"):
            row["cancels"] = row["cancels"]["deal_id"]


def _split_rows(
    table: list[tuple[dict[str, Any], list[tuple[str, int]]]]
) -> list[SplitRow]:
    rows = [SplitRow(deal["deal_id"], payee_id, Decimal(percent))
            for deal, shares in table for payee_id, percent in shares]
    return sorted(rows, key=lambda row: row.deal_id)


# -- pipeline history -------------------------------------------------------


def _snapshots(
    rng: Random, fy: _FiscalYear, ledger: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each deal as the pipeline saw it, from its creation to its close.

    A deal has a row on its created date, on the first of every month
    while it is open, and on the day it is won or lost. It moves from
    discovery through proposal to negotiation; a won deal reaches
    negotiation, a lost one stops where it was lost, and a deal still
    open at the end of the year ends in its stage of the ledger. Early
    rows may show another amount and an earlier expected close date,
    which the seller pushes out some time after it has passed.
    """
    rows = []
    for deal in ledger:
        if deal.get("cancels") or deal["created_date"] is None:
            continue
        rows += _deal_history(rng, fy, deal)
    rows.sort(key=lambda row: (row["snapshot_date"], row["deal_id"]))
    return rows


def _deal_history(
    rng: Random, fy: _FiscalYear, deal: dict[str, Any]
) -> list[dict[str, Any]]:
    created, close = deal["created_date"], deal["close_date"]
    decided = deal["stage"] in (WON, LOST)
    last = close if decided else max(close, fy.end)
    path = _stage_path(rng, deal["stage"])
    edges = sorted(rng.uniform(0.1, 0.9) for _ in path[1:])

    first_amount = deal["amount"]
    if rng.random() < 0.5:
        factor = Decimal(rng.randint(80, 125)) / 100
        first_amount = (deal["amount"] * factor).quantize(Decimal("0.01"))
    first_close = max(created, close - timedelta(days=rng.randint(0, 45)))
    pushed_after = first_close + timedelta(days=rng.choice((0, 0, 14, 30)))

    rows = []
    for day in _review_days(created, last, decided):
        share = (day - created).days / max(1, (last - created).days)
        stage = path[sum(share >= edge for edge in edges)]
        rows.append({
            "snapshot_date": day,
            "deal_id": deal["deal_id"],
            "stage": stage,
            "probability": PROBABILITY[stage],
            "amount": first_amount if stage == "discovery" else deal["amount"],
            "close_date": first_close if day <= pushed_after else close,
        })
    final = {"stage": deal["stage"], "probability": deal["probability"],
             "amount": deal["amount"], "close_date": close}
    if decided:
        rows.append({"snapshot_date": close, "deal_id": deal["deal_id"],
                     **final})
    else:
        rows[-1].update(final)
    return rows


def _stage_path(rng: Random, outcome: str) -> tuple[str, ...]:
    """The open stages a deal passes through before its outcome."""
    if outcome == WON:
        top = "negotiation"
    elif outcome == LOST:
        top = _weighted(rng, LOST_AT)
    else:
        top = outcome
    return OPEN_STAGES[:OPEN_STAGES.index(top) + 1]


def _review_days(created: date, last: date, decided: bool) -> list[date]:
    """The created date and the first of each month the deal is open."""
    days = [created]
    month = date(created.year, created.month, 1)
    while True:
        month = (month + timedelta(days=32)).replace(day=1)
        if month > last or (decided and month == last):
            return days
        days.append(month)


# -- quotas and named accounts ----------------------------------------------


def _quotas(staffing: _Staffing, sellers: list[_Seller]) -> list[QuotaRow]:
    """Full quarterly quotas; the plans apply ramps and proration."""
    fy = staffing.fiscal_year
    promoted_from = fy.quarter(staffing.promotion_date)
    rows = []
    for seller in sellers:
        for quarter in range(1, 5):
            promoted = seller.payee_id == staffing.promoted
            senior = seller.senior or (promoted and quarter >= promoted_from)
            cents = SENIOR_AE_QUOTA if senior else AE_QUOTA
            rows.append(QuotaRow(seller.payee_id, QUOTA_MEASURE,
                                 fy.quarter_label(quarter), _money(cents)))
    return rows


def _strategic_accounts(ledger: list[dict[str, Any]]) -> list[str]:
    """The enterprise accounts with the most won deals."""
    wins: dict[str, int] = {}
    for row in ledger:
        if _is_plain_won(row) and row["segment"] == "Enterprise":
            wins[row["account"]] = wins.get(row["account"], 0) + 1
    ranked = sorted(wins, key=lambda name: (-wins[name], name))
    return sorted(ranked[:STRATEGIC_ACCOUNTS])


# -- writing ----------------------------------------------------------------


def _money(cents: int) -> Decimal:
    """An amount of cents as an exact Decimal with two places."""
    return Decimal(cents).scaleb(-2)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


def _write(path: Path, header: Sequence[str],
           rows: Iterable[Sequence[Any]]) -> Path:
    # A fixed line ending keeps the bytes the same on every platform.
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([_cell(value) for value in row] for row in rows)
    return path


def _write_deals(dest: Path, ledger: list[dict[str, Any]]) -> Path:
    rows = ([row.get(column) for column in DEAL_COLUMNS] for row in ledger)
    return _write(dest / "deals.csv", DEAL_COLUMNS, rows)


def _write_roster(dest: Path, roster: list[RosterRow]) -> Path:
    rows = ([getattr(row, column) for column in ROSTER_COLUMNS]
            for row in roster)
    return _write(dest / "roster.csv", ROSTER_COLUMNS, rows)


def _write_quotas(dest: Path, quotas: list[QuotaRow]) -> Path:
    rows = ([getattr(row, column) for column in QUOTA_COLUMNS]
            for row in quotas)
    return _write(dest / "quotas.csv", QUOTA_COLUMNS, rows)


def _write_splits(dest: Path, splits: list[SplitRow]) -> Path:
    rows = ([getattr(row, column) for column in SPLIT_COLUMNS]
            for row in splits)
    return _write(dest / "splits.csv", SPLIT_COLUMNS, rows)


def _write_snapshots(dest: Path, history: list[dict[str, Any]]) -> Path:
    rows = ([row[column] for column in SNAPSHOT_COLUMNS] for row in history)
    return _write(dest / "snapshots.csv", SNAPSHOT_COLUMNS, rows)


def _write_accounts(dest: Path, accounts: list[str]) -> Path:
    return _write(dest / "strategic_accounts.csv", ("account",),
                  ([name] for name in accounts))


# -- command line -----------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Write the sample data set; print one written file per line."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.sample",
        description="Write seeded sample data for the example project.")
    parser.add_argument("dest", type=Path, help="directory to write into")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--deals", type=int, default=5000)
    parser.add_argument("--fiscal-year", type=int, default=2026)
    parser.add_argument("--fy-start-month", type=int, default=2)
    args = parser.parse_args(argv)

    try:
        paths = generate(args.dest, seed=args.seed, deals=args.deals,
                         fiscal_year=args.fiscal_year,
                         fy_start_month=args.fy_start_month)
    except ConfigError as error:
        parser.error(str(error))
    for path in paths.values():
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
