"""Who is on a plan when, and their quotas and target incentives.

A payee is on a plan on the days their roster stretch matches the plan's
participants, within the plan's and the participation's dates and their
own employment. Quota and target incentive are prorated by those active
days over the period's days; the hire day and the termination day count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Mapping

from .calendar import Period, period_of, periods_apart, periods_of_year
from .errors import EvaluationError
from .quantities import percent_text
from .records import QuotaRow, RosterRow
from .roster import Roster, span_days
from .spec import Plan, Quota

ZERO = Decimal(0)
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


@dataclass(frozen=True)
class Slot:
    """A payee on a plan in a period, for ``active_days`` of its days."""

    payee_id: str
    period: Period
    spans: tuple[tuple[date, date], ...]
    active_days: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "active_days", span_days(self.spans))

    @property
    def last_day(self) -> date:
        return self.spans[-1][1]


@dataclass
class QuotaValue:
    """A quota and how it was reached, for the statement."""

    amount: Decimal
    full: Decimal
    ramp: Decimal = Decimal(1)
    proration: Decimal = Decimal(1)
    source: str = ""
    members: list[dict] = field(default_factory=list)

    def trace(self) -> dict:
        trace = {"quota": str(self.amount), "quota_source": self.source}
        if self.full != self.amount:
            trace["full_quota"] = str(self.full)
        if self.ramp != 1:
            trace["ramp"] = percent_text(self.ramp)
        if self.proration != 1:
            trace["proration"] = str(self.proration)
        if self.members and self.source == "year to date":
            trace["quota_by_period"] = self.members
        elif self.members:
            trace["team"] = self.members
        return trace


def on_plan(plan: Plan):
    """A test of roster rows: does this stretch put the payee on ``plan``?"""
    who = plan.participants

    def accept(row: RosterRow) -> bool:
        return row.role in who.roles or row.payee_id in who.payees

    return accept


def slots(plan: Plan, roster: Roster, periods: list[Period]) -> list[Slot]:
    """Every payee active on ``plan`` in each of ``periods``."""
    accept = on_plan(plan)
    found = []
    for period in periods:
        first = max(
            d for d in (period.start, plan.starts, plan.participants.starts)
            if d
        )
        last = min(
            d for d in (period.end, plan.ends, plan.participants.ends) if d
        )
        if first > last:
            continue
        for payee in roster:
            spans = roster.days_matching(payee, first, last, accept)
            if spans:
                found.append(Slot(payee, period, tuple(sorted(spans))))
    return found


class Targets:
    """Quotas, target incentives and base rates of payees on plans."""

    def __init__(
        self,
        plans: Mapping[str, Plan],
        roster: Roster,
        quota_rows: list[QuotaRow],
        target_incentives: list[dict] = (),
    ):
        self.plans = plans
        self.roster = roster
        self.incentives: dict[tuple[str, str | None], Decimal] = {
            (row["payee_id"], row.get("plan")): row["amount"]
            for row in target_incentives
        }
        self.rows: dict[tuple, Decimal] = {}
        for row in quota_rows:
            self.rows[(row.payee_id, row.measure, row.period, row.plan)] = (
                row.amount
            )
        self._cache: dict[tuple, QuotaValue] = {}

    # -- proration -------------------------------------------------------

    def proration(self, plan: Plan, slot: Slot) -> Decimal:
        if plan.proration == "none":
            return Decimal(1)
        return Decimal(slot.active_days) / Decimal(slot.period.days)

    def ramp(self, plan: Plan, quota: Quota, slot: Slot) -> Decimal:
        hired = self.roster.hire_date(slot.payee_id)
        if not quota.ramp or hired is None:
            return Decimal(1)
        first = period_of(plan.calendar, plan.period, hired)
        index = periods_apart(first, slot.period)
        if index < 0 or index >= len(quota.ramp):
            return Decimal(1)
        return quota.ramp[index]

    # -- quotas ----------------------------------------------------------

    def quota(self, plan: Plan, slot: Slot, measure: str) -> QuotaValue:
        key = (plan.id, slot.payee_id, slot.period.label, measure)
        if key not in self._cache:
            self._cache[key] = self._quota(plan, slot, measure)
        return self._cache[key]

    def _quota(self, plan: Plan, slot: Slot, measure: str) -> QuotaValue:
        quota = plan.quotas.get(measure)
        if quota is None:
            raise EvaluationError(
                f"Plan '{plan.id}' has no quota for '{measure}'."
            )
        if quota.source == "team_sum":
            return self._team_quota(plan, quota, slot)
        full = self.full_quota(plan, quota, slot.payee_id, slot.period)
        ramp = self.ramp(plan, quota, slot)
        factor = self.proration(plan, slot)
        return QuotaValue(
            full * ramp * factor, full, ramp, factor, _source(quota)
        )

    def full_quota(
        self, plan: Plan, quota: Quota, payee: str, period: Period
    ) -> Decimal:
        """The quota before ramp and proration."""
        if quota.source == "per_period":
            return quota.amount
        if quota.source == "annual":
            if quota.seasonality:
                return quota.amount * quota.seasonality[period.index]
            return quota.amount / PERIODS_PER_YEAR[plan.period]
        for plan_key in (plan.id, None):
            key = (payee, quota.measure, period.label, plan_key)
            if key in self.rows:
                return self.rows[key]
        raise EvaluationError(
            f"The quota table has no '{quota.measure}' quota for payee "
            f"'{payee}' in {period.label} (plan '{plan.id}'). Add a row "
            f"with payee_id {payee}, measure {quota.measure}, period "
            f"{period.label}."
        )

    def _team_quota(self, plan: Plan, quota: Quota, slot: Slot) -> QuotaValue:
        team_plan = self.plans[quota.team_plan]
        manager = slot.payee_id
        period = slot.period
        total = ZERO
        members = []
        for member in slots(team_plan, self.roster, [period]):
            if quota.team_roles:
                role = self.roster.role_on(member.payee_id, member.last_day)
                if role not in quota.team_roles:
                    continue
            days = self._days_under(member, manager)
            if not days:
                continue
            own = self.quota(team_plan, member, quota.team_measure)
            share = own.amount * days / member.active_days
            total += share
            members.append({"payee_id": member.payee_id,
                            "quota": str(share)})
        return QuotaValue(total, total, source="sum of the team's quotas",
                          members=members)

    def _days_under(self, member: Slot, manager: str) -> int:
        days = 0
        for start, end in member.spans:
            day = start
            while day <= end:
                if manager in self.roster.managers(member.payee_id, day):
                    days += 1
                day += timedelta(days=1)
        return days

    def annual_quota(
        self, plan: Plan, measure: str, slot: Slot
    ) -> Decimal | None:
        """The year's quota before ramps and proration, for the base rate."""
        quota = plan.quotas.get(measure)
        if quota is None:
            return None
        if quota.source == "annual":
            return quota.amount
        year = periods_of_year(
            plan.calendar, slot.period.fiscal_year, plan.period
        )
        if quota.source == "team_sum":
            total = ZERO
            for period in year:
                whole = Slot(slot.payee_id, period, ((period.start, period.end),))
                total += self._team_quota(plan, quota, whole).amount
            return total
        return sum(
            (self.full_quota(plan, quota, slot.payee_id, p) for p in year),
            ZERO,
        )

    # -- target incentive ------------------------------------------------

    def annual_target_incentive(
        self, plan: Plan, slot: Slot
    ) -> Decimal | None:
        """The payee's own target incentive: from the target incentive
        table (for this plan, then for any plan), else the roster, else
        the plan's."""
        for key in ((slot.payee_id, plan.id), (slot.payee_id, None)):
            if key in self.incentives:
                return self.incentives[key]
        own = self.roster.target_incentive(slot.payee_id, slot.last_day)
        return own if own is not None else plan.target_incentive

    def target_incentive(self, plan: Plan, slot: Slot) -> Decimal | None:
        """The period's target incentive, prorated."""
        annual = self.annual_target_incentive(plan, slot)
        if annual is None:
            return None
        share = annual / PERIODS_PER_YEAR[plan.period]
        return share * self.proration(plan, slot)

    def base_rate(
        self, plan: Plan, slot: Slot, measure: str
    ) -> Decimal | None:
        """Annual target incentive / annual quota, before ramps and
        proration."""
        annual = self.annual_target_incentive(plan, slot)
        quota = self.annual_quota(plan, measure, slot)
        if annual is None or not quota:
            return None
        return annual / quota



def _source(quota: Quota) -> str:
    return {
        "per_period": "per period",
        "annual": "annual quota split into periods",
        "table": "quota table",
    }[quota.source]


class YearToDate:
    """Targets summed over the year so far, for a cumulative plan.

    ``earlier`` are the payee's slots of the same fiscal year before the
    current one; quota and target incentive add up across them.
    """

    def __init__(self, targets: Targets, earlier: list[Slot]):
        self.targets = targets
        self.earlier = earlier

    def quota(self, plan: Plan, slot: Slot, measure: str) -> QuotaValue:
        parts = [
            self.targets.quota(plan, s, measure)
            for s in (*self.earlier, slot)
        ]
        total = sum((p.amount for p in parts), ZERO)
        full = sum((p.full for p in parts), ZERO)
        value = QuotaValue(total, full, source="year to date")
        value.members = [
            {"period": s.period.label, "quota": str(p.amount)}
            for s, p in zip((*self.earlier, slot), parts)
        ]
        return value

    def target_incentive(self, plan: Plan, slot: Slot) -> Decimal | None:
        parts = [
            self.targets.target_incentive(plan, s)
            for s in (*self.earlier, slot)
        ]
        if any(p is None for p in parts):
            return None
        return sum(parts, ZERO)

    def base_rate(self, plan: Plan, slot: Slot, measure: str):
        return self.targets.base_rate(plan, slot, measure)
