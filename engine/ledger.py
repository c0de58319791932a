"""Pay over time: what one payee is owed on one plan, period after period.

A component's outcome becomes a payout line here. A periodic plan pays
each period's outcome; a cumulative plan pays the year-to-date outcome
less what it already paid (the true-up). After the components come, in
this order: clawbacks of cancelled deals, the draw (a guaranteed advance,
and its recovery), and the holdback (part of the payout kept until its
release). The ledger remembers each deal's share of pay, so a clawback
reverses exactly what was paid for the deal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .calendar import Period, period_of, periods_apart
from .money import round_money
from .payout import Outcome, s
from .records import Deal
from .spec import Component, Plan

ZERO = Decimal(0)

SPECIAL_COMPONENTS = {
    "clawback": "Clawback",
    "draw": "Draw",
    "draw_recovery": "Draw recovery",
    "draw_balance": "Draw balance owed",
    "holdback": "Holdback",
    "holdback_release": "Holdback release",
}


@dataclass
class Entry:
    """One amount of pay for the period, before it becomes a line."""

    component: str
    name: str
    amount: Decimal
    trace: dict


@dataclass
class PayeeLedger:
    """The running state of one payee on one plan."""

    plan: Plan
    payee_id: str
    hire_date: date | None = None
    termination_date: date | None = None
    paid: dict[tuple[str, int], Decimal] = field(default_factory=dict)
    shares: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    components_of: dict[str, list[str]] = field(default_factory=dict)
    year_shares: dict[tuple[str, str, int], Decimal] = field(
        default_factory=dict
    )
    clawed: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    draw_balance: Decimal = ZERO
    held: list[tuple[Period | None, date | None, Decimal, str]] = field(
        default_factory=list
    )

    # -- components ------------------------------------------------------

    def paid_this_year(self, component: str, period: Period) -> Decimal:
        return self.paid.get((component, period.fiscal_year), ZERO)

    def settle(
        self, component: Component, period: Period, outcome: Outcome
    ) -> Entry:
        """The line a component's outcome pays in ``period``."""
        trace = dict(outcome.trace)
        year = period.fiscal_year
        key = (component.id, year)
        if self.plan.accumulation == "cumulative":
            amount = self._true_up(component, period, outcome, trace)
        else:
            amount = outcome.amount
            for deal in trace.get("deals", []):
                self._add_share(component.id, deal["deal_id"], year,
                                Decimal(deal["share"]))
        self.paid[key] = self.paid.get(key, ZERO) + amount
        trace["amount"] = s(amount)
        return Entry(component.id, component.name, amount, trace)

    def _true_up(self, component, period, outcome, trace) -> Decimal:
        year = period.fiscal_year
        paid = self.paid_this_year(component.id, period)
        due = outcome.amount - paid
        trace["year_to_date"] = s(outcome.amount)
        trace["paid_before"] = s(paid)
        trace["true_up"] = s(due)
        if due < 0 and self.plan.negative_true_up == "carry":
            trace["carried"] = s(-due)
            for deal in trace.get("deals", []):
                deal["year_to_date_share"] = deal["share"]
                deal["share"] = "0"
            return ZERO
        for deal in trace.get("deals", []):
            ytd = Decimal(deal["share"])
            before = self.year_shares.get(
                (component.id, deal["deal_id"], year), ZERO
            )
            deal["year_to_date_share"] = deal["share"]
            deal["share"] = s(ytd - before)
            self._add_share(component.id, deal["deal_id"], year, ytd - before)
        return due

    def _add_share(self, component, deal_id, year, share: Decimal) -> None:
        key = (component, deal_id)
        if key not in self.shares:
            self.components_of.setdefault(deal_id, []).append(component)
        self.shares[key] = self.shares.get(key, ZERO) + share
        ykey = (component, deal_id, year)
        self.year_shares[ykey] = self.year_shares.get(ykey, ZERO) + share

    # -- clawbacks -------------------------------------------------------

    def clawback(
        self, period: Period, cancellations: list[tuple[Deal, Deal]]
    ) -> Entry | None:
        """Reverse the pay of deals cancelled in ``period``.

        Each pair is (cancellation row, original deal); a partial
        cancellation reverses its part of the share. A clawback never
        pays anything.
        """
        currency = self.plan.currency
        reversed_ = []
        total = ZERO
        for cancel, original in cancellations:
            part = _part(cancel, original)
            deal_id = original.deal_id
            for component in self.components_of.get(deal_id, ()):
                key = (component, deal_id)
                share = self.shares[key]
                left = share - self.clawed.get(key, ZERO)
                if left <= 0:
                    continue
                back = min(left, round_money(share * part, currency))
                self.clawed[key] = self.clawed.get(key, ZERO) + back
                total -= back
                reversed_.append({
                    "deal_id": deal_id,
                    "cancelled_by": cancel.deal_id,
                    "cancelled_on": cancel.close_date.isoformat(),
                    "component": component,
                    "share_paid": s(share),
                    "reversed": s(-back),
                })
        if not reversed_:
            return None
        trace = {
            "kind": "clawback",
            "window_days": self.plan.clawback.window_days,
            "deals": reversed_,
        }
        return Entry("clawback", "Clawback", total, trace)

    # -- draws -----------------------------------------------------------

    def draw(self, period: Period, earnings: Decimal) -> list[Entry]:
        draw = self.plan.draw
        if draw is None:
            return []
        amount = draw.amount if self._draw_applies(period) else ZERO
        before = self.draw_balance
        trace = {
            "kind": "draw",
            "earnings": s(earnings),
            "draw": s(amount),
            "recoverable": draw.recoverable,
            "balance_before": s(before),
        }
        entries = []
        if earnings < amount:
            top_up = amount - earnings
            if draw.recoverable:
                self.draw_balance += top_up
            entries.append(Entry("draw", "Draw", top_up, trace))
        elif draw.recoverable and self.draw_balance > 0:
            recovered = self._recovery(earnings - amount)
            if recovered:
                self.draw_balance -= recovered
                entries.append(
                    Entry("draw_recovery", "Draw recovery", -recovered, trace)
                )
        trace["balance_after"] = s(self.draw_balance)
        entries += self._termination(period, trace)
        return entries

    def _draw_applies(self, period: Period) -> bool:
        limit = self.plan.draw.first_periods
        if limit is None:
            return True
        if self.hire_date is None:
            return False
        first = period_of(self.plan.calendar, period.kind, self.hire_date)
        index = periods_apart(first, period)
        return 0 <= index < limit

    def _recovery(self, excess: Decimal) -> Decimal:
        draw = self.plan.draw
        limit = self.draw_balance
        if draw.max_recovery is not None:
            cap = draw.max_recovery
            if draw.recovery_is_share:
                cap = round_money(excess * cap, self.plan.currency)
            limit = min(limit, cap)
        return max(ZERO, min(excess, limit))

    def _termination(self, period: Period, trace: dict) -> list[Entry]:
        left = self.termination_date
        if left is None or left not in period or self.draw_balance <= 0:
            return []
        balance = self.draw_balance
        if self.plan.draw.at_termination == "forgive":
            trace["forgiven_at_termination"] = s(balance)
            self.draw_balance = ZERO
            return []
        self.draw_balance = ZERO
        owed = {"kind": "draw", "owed_at_termination": s(balance)}
        return [Entry("draw_balance", "Draw balance owed", -balance, owed)]

    # -- holdbacks -------------------------------------------------------

    def holdback(
        self, period: Period, payout: Decimal, later: list[Period]
    ) -> list[Entry]:
        """Release what falls due in ``period``, then hold back part of
        this period's payout. ``later`` are the payee's next periods."""
        rule = self.plan.holdback
        if rule is None:
            return []
        entries = self._releases(period)
        held = round_money(max(ZERO, payout) * rule.share, self.plan.currency)
        if held:
            release = self._release_period(period, later)
            label = release.label if release else None
            self.held.append((release, rule.release_on, held, period.label))
            trace = {
                "kind": "holdback",
                "payout": s(payout),
                "share": s(rule.share),
                "release": label or (
                    s(rule.release_on) if rule.release_on else None
                ),
            }
            entries.append(Entry("holdback", "Holdback", -held, trace))
        return entries

    def _release_period(self, period: Period, later: list[Period]):
        rule = self.plan.holdback
        if rule.release_after_periods is not None:
            index = rule.release_after_periods - 1
            return later[index] if index < len(later) else None
        for candidate in [period, *later]:
            if candidate.end >= rule.release_on:
                return candidate
        return None

    def _releases(self, period: Period) -> list[Entry]:
        due = [h for h in self.held if h[0] is not None and h[0] == period]
        if not due:
            return []
        self.held = [h for h in self.held if h not in due]
        total = sum((h[2] for h in due), ZERO)
        trace = {
            "kind": "holdback_release",
            "released": [{"held_in": h[3], "amount": s(h[2])} for h in due],
        }
        return [Entry("holdback_release", "Holdback release", total, trace)]

    def still_held(self) -> Decimal:
        return sum((h[2] for h in self.held), ZERO)


def _part(cancel: Deal, original: Deal) -> Decimal:
    """How much of the original a cancellation row takes back, 0 to 1."""
    if not original.amount:
        return Decimal(1)
    part = abs(cancel.amount) / abs(original.amount)
    return min(Decimal(1), part)
