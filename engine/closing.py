"""Closed periods and manual adjustments.

A closed period's pay is frozen: a later run shows the lines that were
paid, never recomputed ones. Where recomputing the closed period would
now give a different amount (late data, a corrected plan), the
difference is carried into the payee's next open period as a
prior-period adjustment that names the period, the components and the
deals that changed. Manual adjustments (a bonus, a correction) are
entered with a reason and an author and appear in every run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from .errors import ConfigError
from .money import round_money
from .results import PayoutLine

ZERO = Decimal(0)


@dataclass(frozen=True)
class Adjustment:
    """A manual amount of pay, entered once and kept for every run."""

    adjustment_id: str
    payee_id: str
    period: str
    amount: Decimal
    reason: str
    author: str
    created_at: datetime
    plan_id: str | None = None


@dataclass(frozen=True)
class ClosedPeriod:
    period: str
    run_id: str
    closed_at: datetime
    closed_by: str
    inputs: dict[str, str]


def add_adjustments(
    lines: list[PayoutLine], adjustments: Iterable[Adjustment]
) -> list[PayoutLine]:
    """Payout lines with an ``adjustment`` line for each adjustment whose
    period and payee the lines cover."""
    added = []
    for adjustment in adjustments:
        mine = [
            line for line in lines
            if line.payee_id == adjustment.payee_id
            and line.period == adjustment.period
            and adjustment.plan_id in (None, line.plan_id)
        ]
        if not mine:
            continue
        plans = sorted({line.plan_id for line in mine})
        if len(plans) > 1:
            raise ConfigError(
                f"Adjustment {adjustment.adjustment_id[:8]} for "
                f"'{adjustment.payee_id}' in {adjustment.period} names no "
                f"plan, and the payee is on {', '.join(plans)} then. Enter "
                "it again with --plan."
            )
        first = mine[0]
        added.append(replace(
            first,
            component="adjustment",
            component_name=f"Adjustment: {adjustment.reason}",
            amount=round_money(adjustment.amount, first.currency),
            trace={
                "kind": "adjustment",
                "adjustment_id": adjustment.adjustment_id,
                "reason": adjustment.reason,
                "author": adjustment.author,
                "entered": adjustment.created_at.isoformat(),
                "role": first.trace.get("role"),
            },
        ))
    return lines + added


def apply_closed(
    lines: list[PayoutLine],
    frozen: dict[str, list[PayoutLine]],
    closings: dict[str, ClosedPeriod] | None = None,
    inputs: dict[str, str] | None = None,
) -> tuple[list[PayoutLine], list[dict]]:
    """Keep closed periods as they were paid and carry any difference.

    ``frozen`` maps each closed period to the lines paid for it. Returns
    the lines to report and the differences that found no open period
    after their closed one among ``lines`` (they wait for a later run).
    """
    closed = set(frozen)
    kept = [line for line in lines if line.period not in closed]
    for period_lines in frozen.values():
        kept += period_lines
    waiting = []
    for period, paid in sorted(frozen.items()):
        now = [line for line in lines if line.period == period]
        for key, delta in _differences(paid, now).items():
            payee, plan = key
            target = _next_open(lines, payee, plan, paid, now, closed)
            cause = _cause(period, delta, closings, inputs)
            if target is None:
                waiting.append({"payee_id": payee, "plan_id": plan,
                                "period": period, **cause})
                continue
            kept.append(_adjustment_line(target, period, cause))
    kept.sort(key=PayoutLine.sort_key)
    return kept, waiting


def _differences(paid, now) -> dict[tuple[str, str], dict]:
    """Per payee and plan: each component's paid and recomputed amount."""
    found: dict[tuple[str, str], dict] = {}
    for side, lines in (("paid", paid), ("recomputed", now)):
        for line in lines:
            entry = found.setdefault((line.payee_id, line.plan_id), {})
            row = entry.setdefault(line.component, {
                "paid": ZERO, "recomputed": ZERO, "deals": {},
            })
            row[side] += line.amount
            for deal in line.trace.get("deals", []):
                shares = row["deals"].setdefault(deal["deal_id"], {})
                shares[side] = deal.get("share")
    return {
        key: rows for key, rows in found.items()
        if any(r["paid"] != r["recomputed"] for r in rows.values())
    }


def _next_open(lines, payee, plan, paid, now, closed) -> PayoutLine | None:
    ends = [line.period_end for line in paid + now
            if line.payee_id == payee and line.plan_id == plan]
    after = max(ends)
    later = sorted(
        (line for line in lines
         if line.payee_id == payee and line.plan_id == plan
         and line.period not in closed and line.period_start > after),
        key=lambda line: line.period_start,
    )
    return later[0] if later else None


def _cause(period, rows, closings, inputs) -> dict:
    components = []
    changed: set[str] = set()
    total = ZERO
    for component, row in sorted(rows.items()):
        delta = row["recomputed"] - row["paid"]
        if not delta:
            continue
        total += delta
        components.append({
            "component": component,
            "paid": str(row["paid"]),
            "recomputed": str(row["recomputed"]),
            "difference": str(delta),
        })
        changed |= {
            deal for deal, shares in row["deals"].items()
            if shares.get("paid") != shares.get("recomputed")
        }
    cause = {
        "kind": "prior_period_adjustment",
        "closed_period": period,
        "difference": str(total),
        "components": components,
        "deals_changed": sorted(changed),
    }
    closing = (closings or {}).get(period)
    if closing is not None and inputs is not None:
        cause["inputs_changed"] = sorted(
            name for name, digest in inputs.items()
            if closing.inputs.get(name) != digest
        )
        cause["closed_by"] = closing.closed_by
        cause["closed_at"] = closing.closed_at.isoformat()
    return cause


def _adjustment_line(target: PayoutLine, period: str, cause: dict):
    return replace(
        target,
        component="prior_period_adjustment",
        component_name=f"Prior-period adjustment for {period}",
        amount=Decimal(cause["difference"]),
        trace={**cause, "role": target.trace.get("role")},
    )
