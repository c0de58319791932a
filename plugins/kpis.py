"""Built-in KPI metrics: pipeline, win rate, deal size, deals closed.

Each is a pure aggregate over the credited deals of a payee and period,
declared in the plan expression language like any plugin's metric, so
a plan can use it as a measure (``metric: win_rate``) and every engine
computes it alike. ``credit`` is the payee's credited amount in the plan
currency. Cancellation rows carry a negative credit; the counts leave
them out, since they correct a deal rather than add one.

KPIs that need quotas, payee counts or day counts (coverage, attainment,
productivity, cycle length, sales velocity) are computed by
:mod:`engine.insights.kpis`: the expression language has no arithmetic
on dates, and a metric sees deals only.
"""

from __future__ import annotations

from engine.hookspecs import hookimpl
from engine.plugins import Aggregate, Metric

OPEN = ("open",)
WON = ("won",)
DECIDED = ("won", "lost")

OPEN_PIPELINE = Metric(
    name="open_pipeline",
    description=(
        "Credited amount of the deals neither won nor lost whose expected"
        " close date falls in the period."
    ),
    aggregates={"open": Aggregate("sum", "credit")},
    formula="open",
    columns=("credit",),
    stages=OPEN,
)

WEIGHTED_PIPELINE = Metric(
    name="weighted_pipeline",
    description=(
        "Open pipeline with each credited amount times the deal's win"
        " probability; a deal without a probability adds nothing."
    ),
    aggregates={"weighted": Aggregate("sum", "credit * probability")},
    formula="weighted",
    columns=("credit", "probability"),
    stages=OPEN,
)

OPEN_DEALS = Metric(
    name="open_deals",
    description="Deals neither won nor lost expected to close in the period.",
    aggregates={"open": Aggregate("count", None)},
    formula="open",
    columns=(),
    stages=OPEN,
)

WIN_RATE = Metric(
    name="win_rate",
    description=(
        "Won deals over won and lost deals, by count, among the deals"
        " decided in the period."
    ),
    aggregates={
        # Among decided deals, whatever is not lost is won; a deal
        # without a stage is a won one.
        "won": Aggregate(
            "count", None, where='credit > 0 and not stage == "lost"'
        ),
        "lost": Aggregate("count", None, where='stage == "lost"'),
    },
    # No deal decided: 0 / 0, which has no value.
    formula="won / (won + lost)",
    columns=("stage", "credit"),
    stages=DECIDED,
)

AVERAGE_DEAL_SIZE = Metric(
    name="average_deal_size",
    description="Credited amount per won deal.",
    aggregates={
        "amount": Aggregate("sum", "credit", where="credit > 0"),
        "deals": Aggregate("count", None, where="credit > 0"),
    },
    formula="amount / deals",
    columns=("credit",),
    stages=WON,
)

DEALS_CLOSED = Metric(
    name="deals_closed",
    description="Won deals closed in the period.",
    aggregates={"won": Aggregate("count", None, where="credit > 0")},
    formula="won",
    columns=("credit",),
    stages=WON,
)

KPI_METRICS = (
    OPEN_PIPELINE,
    WEIGHTED_PIPELINE,
    OPEN_DEALS,
    WIN_RATE,
    AVERAGE_DEAL_SIZE,
    DEALS_CLOSED,
)


@hookimpl
def attain_register_metrics() -> list[Metric]:
    return list(KPI_METRICS)
