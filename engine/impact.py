"""What a plan change does to pay: two versions of the plans, one data set.

:func:`compare` takes the payout lines of the old and the new plans over
the same inputs and keeps, per payee, the lines whose amount changed: by
plan, component and period, with old, new and delta. A plan present on
one side only (added, removed or renamed) counts in full: all its pay is
new, or all of it is gone.

:func:`sides_from_files` and :func:`plans_at_revision` build the two
sets of plan files to compare; the evaluation itself is the ordinary one.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from .errors import ConfigError
from .loader import PLAN_SUFFIXES, plan_files
from .results import PayoutLine
from .yamlio import load_yaml

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
Key = tuple[str, str, str, str]  # payee, plan, component, period


@dataclass(frozen=True)
class Change:
    """One payout line whose amount differs between the two sides."""

    payee_id: str
    plan_id: str
    component: str
    component_name: str
    period: str
    currency: str
    old: Decimal
    new: Decimal

    @property
    def delta(self) -> Decimal:
        return self.new - self.old


@dataclass
class PayeeImpact:
    payee_id: str
    payee_name: str
    changes: list[Change] = field(default_factory=list)

    def totals(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Old and new total of the changed lines, per currency."""
        return _totals(self.changes)


@dataclass
class Impact:
    """The pay that changes, payee by payee, and the totals of all pay."""

    old_label: str
    new_label: str
    payees: list[PayeeImpact]
    unchanged: int
    totals: dict[str, tuple[Decimal, Decimal]]
    changed_files: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [c for p in self.payees for c in p.changes]

    def absolute_change(self) -> dict[str, Decimal]:
        """Sum of |new - old| over every changed line, per currency.

        Rises and cuts do not cancel out: moving 1,000 from one payee to
        another is a change of 2,000.
        """
        found: dict[str, Decimal] = defaultdict(Decimal)
        for change in self.changes:
            found[change.currency] += abs(change.delta)
        return dict(sorted(found.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": self.old_label,
            "new": self.new_label,
            "changed_files": self.changed_files,
            "payees_changed": len(self.payees),
            "payees_unchanged": self.unchanged,
            "totals": {
                cur: {"old": str(o), "new": str(n), "delta": str(n - o)}
                for cur, (o, n) in self.totals.items()
            },
            "absolute_change": {
                cur: str(v) for cur, v in self.absolute_change().items()
            },
            "payees": [
                {
                    "payee_id": p.payee_id,
                    "payee_name": p.payee_name,
                    "totals": {
                        cur: {"old": str(o), "new": str(n),
                              "delta": str(n - o)}
                        for cur, (o, n) in p.totals().items()
                    },
                    "changes": [_change_dict(c) for c in p.changes],
                }
                for p in self.payees
            ],
        }


def _change_dict(change: Change) -> dict[str, Any]:
    return {
        "plan": change.plan_id,
        "component": change.component,
        "component_name": change.component_name,
        "period": change.period,
        "currency": change.currency,
        "old": str(change.old),
        "new": str(change.new),
        "delta": str(change.delta),
    }


def _totals(lines: Iterable[Change]) -> dict[str, tuple[Decimal, Decimal]]:
    old: dict[str, Decimal] = defaultdict(Decimal)
    new: dict[str, Decimal] = defaultdict(Decimal)
    for change in lines:
        old[change.currency] += change.old
        new[change.currency] += change.new
    return {cur: (old[cur], new[cur]) for cur in sorted(old)}


# -- comparing ------------------------------------------------------------


def compare(
    old_lines: Iterable[PayoutLine],
    new_lines: Iterable[PayoutLine],
    old_label: str = "old",
    new_label: str = "new",
) -> Impact:
    """The payees whose pay differs between two sets of payout lines."""
    old = _by_key(old_lines)
    new = _by_key(new_lines)
    names = {k[0]: line.payee_name for k, line in {**old, **new}.items()}

    payees: dict[str, PayeeImpact] = {}
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        old_amount = before.amount if before else ZERO
        new_amount = after.amount if after else ZERO
        if old_amount == new_amount:
            continue
        line = after or before
        payee = payees.setdefault(
            key[0], PayeeImpact(key[0], names[key[0]])
        )
        payee.changes.append(
            Change(
                payee_id=key[0],
                plan_id=key[1],
                component=key[2],
                component_name=line.component_name,
                period=key[3],
                currency=line.currency,
                old=old_amount,
                new=new_amount,
            )
        )

    everyone = {k[0] for k in old} | {k[0] for k in new}
    all_lines = [
        Change(k[0], k[1], k[2], "", k[3], line.currency,
               old[k].amount if k in old else ZERO,
               new[k].amount if k in new else ZERO)
        for k, line in {**old, **new}.items()
    ]
    return Impact(
        old_label=old_label,
        new_label=new_label,
        payees=[payees[p] for p in sorted(payees)],
        unchanged=len(everyone - set(payees)),
        totals=_totals(all_lines),
    )


def _by_key(lines: Iterable[PayoutLine]) -> dict[Key, PayoutLine]:
    found: dict[Key, PayoutLine] = {}
    for line in lines:
        key = (line.payee_id, line.plan_id, line.component, line.period)
        if key in found:
            # Two versions of one plan never cover the same period, so
            # one key holds one line; add up rather than lose pay if not.
            earlier = found[key]
            line = PayoutLine(**{**vars(earlier),
                                 "amount": earlier.amount + line.amount})
        found[key] = line
    return found


def threshold_exceeded(impact: Impact, limit: str) -> str | None:
    """Why the change is above ``limit``, or None when it is not.

    ``limit`` is an amount in the plan currency (``1000``) or a share of
    the old total pay (``5%``); it is compared with the absolute change
    in each currency.
    """
    text = limit.strip()
    share = text.endswith("%")
    try:
        value = Decimal(text.rstrip("%").strip().replace(",", ""))
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise ConfigError(
            f"'{limit}' is not a threshold; give an amount such as 1000 "
            "or a share of the old total such as 5%."
        )

    for currency, moved in impact.absolute_change().items():
        old_total = impact.totals.get(currency, (ZERO, ZERO))[0]
        allowed = abs(old_total) * value / 100 if share else value
        if moved > allowed:
            what = f"{text} of the old total ({_money(allowed)})" if share \
                else _money(allowed)
            return (
                f"Pay changes by {_money(moved)} {currency} in all, more "
                f"than the {what} allowed."
            )
    return None


# -- the two sides --------------------------------------------------------


def identity(path: Path) -> tuple[str, str] | None:
    """A plan file's kind and id, or None when it has neither."""
    try:
        data = load_yaml(path).data
    except Exception:  # an unreadable file is the loader's to report
        return None
    if isinstance(data, dict) and "kind" in data and "id" in data:
        return str(data["kind"]), str(data["id"])
    return None


def sides_from_files(
    old: Path, new: Path, project_plans: Iterable[Path] = ()
) -> tuple[list[Path], list[Path]]:
    """The plan files of each side when comparing two files or folders.

    Each side is ``old`` (or ``new``) plus the project's other plan
    files, less any that define the same plan, crediting or territory
    set, so that a plan can be compared with a copy of itself.
    """
    around = plan_files(project_plans) if project_plans else []
    given = {p.resolve() for p in plan_files([old, new])}
    others = [p for p in around if p.resolve() not in given]
    return _side(old, others), _side(new, others)


def _side(chosen: Path, others: list[Path]) -> list[Path]:
    mine = plan_files([chosen])
    taken = {identity(p) for p in mine} - {None}
    return [p for p in others if identity(p) not in taken] + mine


def plans_at_revision(
    revision: str, plan_paths: Iterable[Path], target: Path
) -> list[Path]:
    """Copy the plan files under ``plan_paths`` as ``revision`` had them
    into ``target``; return the paths to load, those that existed then."""
    from . import vcs

    plan_paths = list(plan_paths)
    root = vcs.require_repo(plan_paths[0] if plan_paths else Path.cwd())
    names = [vcs.relative(root, p) for p in plan_paths]
    for name in vcs.files_at(root, revision, names):
        if Path(name).suffix not in PLAN_SUFFIXES:
            continue
        content = vcs.show_file(root, revision, name)
        if content is None:
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)
    return [target / n for n in names if (target / n).exists()]


def changed_plan_files(
    revision: str, plan_paths: Iterable[Path], until: str | None = None
) -> list[str]:
    """Plan files under ``plan_paths`` that differ between ``revision``
    and ``until`` (the work tree when None), relative to the repository.

    Test files are left out: they do not change pay.
    """
    from . import vcs
    from .plantest import is_test_file

    plan_paths = list(plan_paths)
    root = vcs.require_repo(plan_paths[0] if plan_paths else Path.cwd())
    prefixes = [vcs.relative(root, p) for p in plan_paths]
    found = []
    for name in vcs.changed_files(root, revision, until):
        if Path(name).suffix not in PLAN_SUFFIXES:
            continue
        if not any(_under(name, prefix) for prefix in prefixes):
            continue
        if until is None and is_test_file(root / name):
            continue
        found.append(name)
    return found


def _under(name: str, prefix: str) -> bool:
    return prefix == "." or name == prefix or name.startswith(prefix + "/")


# -- rendering ------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + _money(value)


def _percent(delta: Decimal, old: Decimal) -> str:
    if old == 0:
        return ""
    return f" ({delta * 100 / old:+.2f} %)"


def render_text(impact: Impact) -> str:
    """A plain report for a terminal or a CI log."""
    out = [
        f"Pay impact: {impact.old_label} -> {impact.new_label}",
        _headline(impact),
    ]
    if impact.changed_files:
        out.append("Changed plan files: " + ", ".join(impact.changed_files))
    for payee in impact.payees:
        out.append("")
        out.append(f"{payee.payee_id} {payee.payee_name}")
        for c in payee.changes:
            out.append(
                f"  {c.plan_id} {c.component} {c.period}: "
                f"{_money(c.old)} -> {_money(c.new)} "
                f"{_signed(c.delta)} {c.currency}"
            )
        if len(payee.changes) > 1:
            for cur, (old, new) in payee.totals().items():
                out.append(
                    f"  total: {_money(old)} -> {_money(new)} "
                    f"{_signed(new - old)} {cur}"
                )
    out.append("")
    out += _total_lines(impact)
    return "\n".join(out) + "\n"


def _headline(impact: Impact) -> str:
    if not impact.totals and not impact.payees:
        return "No pay to compare: no plan file changed, or no plan pays."
    return (
        f"{len(impact.payees)} payee(s) with changed pay, "
        f"{impact.unchanged} unchanged."
    )


def _total_lines(impact: Impact) -> list[str]:
    lines = []
    moved = impact.absolute_change()
    for cur, (old, new) in impact.totals.items():
        lines.append(
            f"Total {cur}: {_money(old)} -> {_money(new)} "
            f"{_signed(new - old)}{_percent(new - old, old)}; "
            f"absolute change {_money(moved.get(cur, ZERO))}"
        )
    return lines or ["No pay on either side."]


def render_markdown(impact: Impact) -> str:
    """A pull-request comment: a headline, totals, one table of changes."""
    out = [
        f"### Pay impact: `{impact.old_label}` → `{impact.new_label}`",
        "",
        _headline(impact),
        "",
    ]
    if impact.changed_files:
        files = ", ".join(f"`{f}`" for f in impact.changed_files)
        out += [f"Changed plan files: {files}", ""]
    out += ["| Currency | Old total | New total | Delta | Absolute change |",
            "|---|---:|---:|---:|---:|"]
    moved = impact.absolute_change()
    for cur, (old, new) in impact.totals.items():
        out.append(
            f"| {cur} | {_money(old)} | {_money(new)} | "
            f"{_signed(new - old)}{_percent(new - old, old)} | "
            f"{_money(moved.get(cur, ZERO))} |"
        )
    if impact.payees:
        out += ["", "| Payee | Plan | Component | Period | Old | New | Delta |",
                "|---|---|---|---|---:|---:|---:|"]
        for payee in impact.payees:
            out += _payee_rows(payee)
    return "\n".join(out) + "\n"


def _payee_rows(payee: PayeeImpact) -> list[str]:
    who = f"{payee.payee_id} {_cell(payee.payee_name)}"
    rows = [
        f"| {who} | {c.plan_id} | {_cell(c.component_name)} | {c.period} | "
        f"{_money(c.old)} | {_money(c.new)} | {_signed(c.delta)} |"
        for c in payee.changes
    ]
    if len(payee.changes) > 1:
        for cur, (old, new) in payee.totals().items():
            rows.append(
                f"| **{payee.payee_id} total** | | | | {_money(old)} | "
                f"{_money(new)} | **{_signed(new - old)}** |"
            )
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_json(impact: Impact) -> str:
    return json.dumps(impact.as_dict(), indent=2) + "\n"
