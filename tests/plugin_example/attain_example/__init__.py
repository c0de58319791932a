"""An example Attain plugin, installed like any third-party one.

It reads and writes tab-separated files, adds a metric that counts large
deals and a command for the ``attain`` command line. Attain finds it
through the ``attain`` entry point group declared in pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from engine.hookspecs import hookimpl
from engine.plugins import Aggregate, Metric, OutputFormat
from engine.results import PayoutLine, Statement
from plugins.connectors import CsvConnector

LARGE_DEAL = 100000

TSV_COLUMNS = ("period", "payee_id", "plan_id", "component", "amount", "currency")


class TsvConnector(CsvConnector):
    """Tab-separated files: the CSV connector with a tab as delimiter."""

    name = "tsv"
    description = "Tab-separated values with a header row (UTF-8)."
    format = "tsv"
    delimiter = "\t"
    options = ("path", "encoding")


class TsvOutput(OutputFormat):
    name = "tsv"
    extension = "tsv"
    description = "One tab-separated row per payout line."

    def render_payouts(self, lines: Sequence[PayoutLine]) -> str:
        rows = ["\t".join(TSV_COLUMNS)]
        for line in sorted(lines, key=PayoutLine.sort_key):
            cells = (
                line.period,
                line.payee_id,
                line.plan_id,
                line.component,
                format(line.amount, "f"),
                line.currency,
            )
            rows.append("\t".join(cells))
        return "\n".join(rows) + "\n"

    def render_statement(self, statement: Statement) -> str:
        return self.render_payouts(statement.lines)


LARGE_DEAL_COUNT = Metric(
    name="large_deal_count",
    description=f"Credited deals of {LARGE_DEAL} or more.",
    aggregates={
        "large": Aggregate("count", None, where=f"amount >= {LARGE_DEAL}"),
    },
    formula="large",
    columns=("amount",),
)


@click.command("hello-example")
@click.argument("name")
def hello_example(name: str) -> None:
    """Greet NAME from the example plugin."""
    click.echo(f"Hello, {name.title()}: {len(name)} letters.")


@hookimpl
def attain_register_connectors():
    return [TsvConnector()]


@hookimpl
def attain_register_output_formats():
    return [TsvOutput()]


@hookimpl
def attain_register_metrics():
    return [LARGE_DEAL_COUNT]


@hookimpl
def attain_register_commands():
    return [hello_example]
