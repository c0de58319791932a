"""Crediting: who gets credit for each deal, and how much.

The order is fixed: the windfall rule turns the deal amount into the
credit basis; splits divide that basis among the owners; overlays get
their share of the same basis; roll-ups pass each direct or split
credit up the hierarchy in force at the close date.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterable, Mapping

from .errors import DataError
from .expressions import Expression
from .quantities import percent_text
from .records import Deal, SplitRow
from .roster import Roster
from .spec import Crediting, Territories

ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Credit:
    """A payee's credit for one deal, and the rule that gave it."""

    deal: Deal
    payee_id: str
    amount: Decimal
    credit_type: str
    rule: str
    share: Decimal


def windfall_basis(amount: Decimal, crediting: Crediting) -> Decimal:
    """The deal amount after the windfall rule.

    >>> from engine.spec import Windfall
    >>> c = Crediting("c", "c", Windfall(Decimal(500000), Decimal("0.5")))
    >>> windfall_basis(Decimal(800000), c)
    Decimal('650000.0')
    """
    rule = crediting.windfall
    if rule is None or abs(amount) <= rule.above:
        return amount
    sign = 1 if amount > 0 else -1
    excess = abs(amount) - rule.above
    return sign * (rule.above + excess * rule.credit)


class Crediter:
    """Applies one crediting definition to deals."""

    def __init__(
        self,
        crediting: Crediting,
        roster: Roster,
        territories: Mapping[str, Territories],
        lists: Mapping[str, tuple[str, ...]],
        splits: Iterable[SplitRow] = (),
        amount_of: Callable[[Deal], Decimal] | None = None,
    ):
        self.crediting = crediting
        self.roster = roster
        self.territories = territories
        self.lists = dict(lists)
        self.amount_of = amount_of or (lambda deal: deal.amount)
        self.split_rows: dict[str, list[SplitRow]] = {}
        if crediting.splits and crediting.splits.table:
            for row in splits:
                self.split_rows.setdefault(row.deal_id, []).append(row)

    def credit(self, deal: Deal) -> list[Credit]:
        basis = windfall_basis(self.amount_of(deal), self.crediting)
        credits = self._owners(deal, basis)
        credits += self._overlays(deal, basis)
        credits += self._rollups(deal, credits)
        return credits

    def _owners(self, deal: Deal, basis: Decimal) -> list[Credit]:
        splits = self.crediting.splits
        rows = self.split_rows.get(deal.deal_id)
        if rows:
            return self._table_split(deal, basis, rows, splits.total)
        if splits and splits.partner_column:
            partner = deal.attributes.get(splits.partner_column)
            percent = deal.attributes.get(splits.percent_column)
            if partner and percent is not None:
                return self._column_split(deal, basis, partner, percent)
        owners = self._direct_payees(deal)
        return [
            Credit(deal, payee, basis, "direct", rule, ONE)
            for payee, rule in owners
        ]

    def _direct_payees(self, deal: Deal) -> list[tuple[str, str]]:
        ident = self.crediting.direct_territories
        if ident is None:
            return [(deal.owner, "owner")]
        return self._territory_payees(deal, self.territories[ident])

    def _table_split(self, deal, basis, rows, total) -> list[Credit]:
        shares = sum((r.percent for r in rows), Decimal(0)) / HUNDRED
        if shares != total:
            first = rows[0]
            raise DataError(
                f"The splits of deal '{deal.deal_id}' add up to "
                f"{percent_text(shares)}, but the crediting says they "
                f"add up to {percent_text(total)}.",
                source=first.source,
                row=first.row,
                column="percent",
            )
        return [
            Credit(
                deal, r.payee_id, basis * r.percent / HUNDRED, "split",
                f"split table ({r.source} row {r.row})", r.percent / HUNDRED,
            )
            for r in rows
        ]

    def _column_split(self, deal, basis, partner, percent) -> list[Credit]:
        share = Decimal(percent) / HUNDRED
        if not 0 < share < 1:
            raise DataError(
                f"A split percent must be between 0 and 100, found "
                f"{percent}.",
                source=deal.source,
                row=deal.row,
                column=self.crediting.splits.percent_column,
                value=percent,
            )
        rule = "split columns"
        return [
            Credit(deal, deal.owner, basis * (1 - share), "split", rule,
                   1 - share),
            Credit(deal, str(partner), basis * share, "split", rule, share),
        ]

    def _overlays(self, deal: Deal, basis: Decimal) -> list[Credit]:
        credits = []
        for overlay in self.crediting.overlays:
            if overlay.where and not overlay.where.test(deal.attributes):
                continue
            rules = self.territories[overlay.territories]
            for payee, rule in self._territory_payees(deal, rules):
                credits.append(
                    Credit(
                        deal, payee, basis * overlay.credit, "overlay",
                        f"{overlay.name}: {rule}", overlay.credit,
                    )
                )
        return credits

    def _territory_payees(
        self, deal: Deal, rules: Territories
    ) -> list[tuple[str, str]]:
        values = {**deal.attributes, **self._list_values(rules)}
        found = []
        for rule in rules.rules:
            if rule.when is not None and not rule.when.test(values):
                continue
            payees = rule.payees or self.roster.territory_payees(
                rule.territory, deal.close_date
            )
            label = f"territory rule '{rule.name}'"
            found.extend((payee, label) for payee in payees)
            if rules.match == "first":
                break
        return found

    def _list_values(self, rules: Territories) -> dict[str, tuple]:
        return {
            name: value if isinstance(value, tuple) else self.lists[value]
            for name, value in rules.lists.items()
        }

    def _rollups(self, deal: Deal, credits: list[Credit]) -> list[Credit]:
        roles = self.crediting.rollup_roles
        if roles is None:
            return []
        rolled = []
        for credit in credits:
            if credit.credit_type not in ("direct", "split"):
                continue
            role = self.roster.role_on(credit.payee_id, deal.close_date)
            if roles and role not in roles:
                continue
            for manager in self.roster.managers(
                credit.payee_id, deal.close_date
            ):
                rolled.append(
                    Credit(
                        deal, manager, credit.amount, "rollup",
                        f"roll-up from {credit.payee_id}", credit.share,
                    )
                )
        return rolled


def condition_values(credit: Credit) -> dict:
    """What a measure's condition sees for one credit."""
    values = dict(credit.deal.attributes)
    values["credit"] = credit.amount
    values["credit_type"] = credit.credit_type
    values["credit_share"] = credit.share
    return values


def test(expr: Expression | None, values) -> bool:
    return expr is None or expr.test(values)
