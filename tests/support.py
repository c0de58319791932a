"""Small builders shared by the tests: deals, roster rows, evaluation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from engine.evaluate import Inputs, evaluate
from engine.loader import load_catalog
from engine.records import Deal, RosterRow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "plan_specs" / "examples"


def deal(deal_id, day, amount, owner="A", **attributes) -> Deal:
    """A won deal; ``attributes`` become its columns."""
    values = {
        "deal_id": deal_id,
        "close_date": date.fromisoformat(day),
        "amount": Decimal(str(amount)),
        "owner": owner,
        **attributes,
    }
    return Deal(
        deal_id=deal_id,
        close_date=values["close_date"],
        amount=values["amount"],
        owner=owner,
        currency=attributes.get("currency"),
        stage=attributes.get("stage", "won"),
        type=attributes.get("type"),
        attributes=values,
        source="deals.csv",
        row=2,
    )


def payee(payee_id="A", role="AE", **fields) -> RosterRow:
    for key in ("hire_date", "termination_date", "effective_from",
                "effective_to"):
        if isinstance(fields.get(key), str):
            fields[key] = date.fromisoformat(fields[key])
    return RosterRow(payee_id, fields.pop("name", payee_id), role, **fields)


def run(paths, deals, roster=None, periods=(), **tables):
    """Evaluate plan files over records; returns the Evaluation."""
    catalog = load_catalog([EXAMPLES / p for p in paths])
    assert not catalog.errors, [str(f) for f in catalog.errors]
    inputs = Inputs(deals=deals, roster=roster or [payee()], **tables)
    return evaluate(catalog, inputs, periods)


def amounts(evaluation, component=None) -> dict:
    """(payee, period) -> amount, for one component or all."""
    return {
        (line.payee_id, line.period): line.amount
        for line in evaluation.lines
        if component is None or line.component == component
    }


def one(evaluation, component=None):
    lines = [
        line for line in evaluation.lines
        if component is None or line.component == component
    ]
    assert len(lines) == 1, lines
    return lines[0]
