"""Built-in metrics that plans can use as measures.

Each is declared in the plan expression language, the way a plugin's
metric would be, so every engine computes them alike.
"""

from __future__ import annotations

from engine.hookspecs import hookimpl
from engine.plugins import Aggregate, Metric

NEW_LOGO_COUNT = Metric(
    name="new_logo_count",
    description="Credited deals that are a first purchase (type new).",
    aggregates={"new_logos": Aggregate("count", None, where='type == "new"')},
    formula="new_logos",
    columns=("type",),
)

AVERAGE_DISCOUNT = Metric(
    name="average_discount",
    description=(
        "Discount weighted by list price: the sum of list price minus"
        " amount over the sum of list price, for deals with a list price."
    ),
    aggregates={
        # A deal without a list price gives no value to either sum.
        "discount": Aggregate("sum", "list_price - amount"),
        "list_total": Aggregate("sum", "list_price"),
    },
    # Without any list price the ratio divides by 0, which has no value.
    formula="discount / list_total",
    columns=("list_price", "amount"),
)

DISTINCT_ACCOUNTS = Metric(
    name="distinct_accounts",
    description="Accounts among the credited deals, each counted once.",
    aggregates={"accounts": Aggregate("count_distinct", "account")},
    formula="accounts",
    columns=("account",),
)


@hookimpl
def attain_register_metrics() -> list[Metric]:
    return [NEW_LOGO_COUNT, AVERAGE_DISCOUNT, DISTINCT_ACCOUNTS]
