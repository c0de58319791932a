"""The plugin manager, the built-in plugins and an installed example plugin."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import engine
from engine import hookspecs
from engine.errors import ConfigError, EvaluationError
from engine.plugins import (
    KNOWN_HOOKS,
    Aggregate,
    Metric,
    PluginError,
    commands,
    connectors,
    describe_plugins,
    evaluate_metric,
    get_plugin_manager,
    metrics,
    output_formats,
)
from engine.records import Deal
from engine.results import PayoutLine, Statement

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = Path(__file__).resolve().parent / "plugin_example"


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Install a one-module plugin found through the ``attain`` entry points.

    Each call writes the module and its distribution metadata to a folder
    of its own and puts that folder on ``sys.path``.
    """
    modules = []

    def install(module: str, source: str, *, dist: str, version="1.0"):
        folder = tmp_path / module
        folder.mkdir()
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
        info = folder / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        )
        (info / "entry_points.txt").write_text(f"[attain]\n{module} = {module}\n")
        monkeypatch.syspath_prepend(folder)
        modules.append(module)

    yield install
    for module in modules:
        sys.modules.pop(module, None)


CONNECTOR_PLUGIN = """
    from engine.hookspecs import hookimpl
    from plugins.connectors import CsvConnector

    class Semicolons(CsvConnector):
        name = {name!r}
        delimiter = ";"

    @hookimpl
    def attain_register_connectors():
        return [Semicolons()]
"""


# ---------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("hook", KNOWN_HOOKS)
def test_every_hook_is_documented(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook))

    assert doc, f"{hook} has no docstring"
    assert "None" in doc and "collected" in doc and "Since 0.1" in doc


def test_the_known_hooks_are_the_four_registries():
    assert KNOWN_HOOKS == (
        "attain_register_commands",
        "attain_register_connectors",
        "attain_register_metrics",
        "attain_register_output_formats",
    )


# ---------------------------------------------------------------------------
# Built-ins
# ---------------------------------------------------------------------------


def test_built_ins_are_plugins_with_their_hooks():
    pm = get_plugin_manager(entry_points=False)

    infos = {info.name: info for info in describe_plugins(pm)}

    assert list(infos) == [
        "plugins.connectors",
        "plugins.outputs",
        "plugins.metrics",
        "plugins.kpis",
    ]
    assert infos["plugins.outputs"].hooks == ("attain_register_output_formats",)
    assert infos["plugins.metrics"].hooks == ("attain_register_metrics",)
    for info in infos.values():
        assert info.distribution is None
        assert info.version == engine.__version__


def test_built_ins_register_connectors_formats_and_metrics():
    pm = get_plugin_manager(entry_points=False)

    assert list(connectors(pm)) == ["csv", "jsonl", "parquet"]
    assert list(output_formats(pm)) == ["csv", "json", "markdown"]
    assert set(metrics(pm)) == {
        "new_logo_count",
        "average_discount",
        "distinct_accounts",
        "open_pipeline",
        "weighted_pipeline",
        "open_deals",
        "win_rate",
        "average_deal_size",
        "deals_closed",
    }
    assert commands(pm) == []
    for item in [*connectors(pm).values(), *output_formats(pm).values()]:
        assert item.description.endswith(".")


def test_each_manager_is_new():
    assert get_plugin_manager() is not get_plugin_manager()


# ---------------------------------------------------------------------------
# Plugins that cannot be used
# ---------------------------------------------------------------------------


def test_a_misspelled_hook_names_plugin_hook_and_suggestion(install):
    install(
        "typo_plugin",
        """
        from engine.hookspecs import hookimpl

        @hookimpl
        def attain_register_conectors():
            return []
        """,
        dist="attain-typo",
        version="2.0",
    )

    with pytest.raises(PluginError) as caught:
        get_plugin_manager()

    message = str(caught.value)
    assert "'typo_plugin' (attain-typo 2.0)" in message
    assert "unknown hook 'attain_register_conectors'" in message
    assert "Did you mean 'attain_register_connectors'?" in message
    assert "Known hooks: attain_register_commands," in message
    assert isinstance(caught.value, ConfigError)


def test_an_optional_hook_of_a_later_version_is_allowed(install):
    install(
        "future_plugin",
        """
        from engine.hookspecs import hookimpl

        @hookimpl(optionalhook=True)
        def attain_register_rate_tables():
            return []
        """,
        dist="attain-future",
    )

    pm = get_plugin_manager()

    assert "future_plugin" in {info.name for info in describe_plugins(pm)}


def test_entry_points_can_be_left_out(install):
    install(
        "ignored_plugin",
        "raise ImportError('never imported')",
        dist="attain-ignored",
    )

    pm = get_plugin_manager(entry_points=False)

    assert "ignored_plugin" not in {i.name for i in describe_plugins(pm)}


def test_a_plugin_that_fails_to_import_names_its_distribution(install):
    install(
        "broken_plugin",
        "import attain_no_such_module_anywhere",
        dist="attain-broken",
        version="0.0.1",
    )

    with pytest.raises(ConfigError) as caught:
        get_plugin_manager()

    message = str(caught.value)
    assert "'broken_plugin'" in message
    assert "attain-broken 0.0.1" in message
    assert "ModuleNotFoundError" in message
    assert "attain_no_such_module_anywhere" in message


def test_a_hook_with_arguments_it_is_not_given_is_refused(install):
    install(
        "greedy_plugin",
        """
        from engine.hookspecs import hookimpl

        @hookimpl
        def attain_register_metrics(config):
            return []
        """,
        dist="attain-greedy",
    )

    with pytest.raises(PluginError, match="greedy_plugin"):
        get_plugin_manager()


def test_a_connector_name_taken_by_a_built_in_names_both(install):
    install(
        "clash_plugin",
        CONNECTOR_PLUGIN.format(name="csv"),
        dist="attain-clash",
        version="1.2",
    )
    pm = get_plugin_manager()

    with pytest.raises(PluginError) as caught:
        connectors(pm)

    message = str(caught.value)
    assert "connector named 'csv'" in message
    assert "'plugins.connectors'" in message
    assert "'clash_plugin' (attain-clash 1.2)" in message


def test_two_plugins_with_one_connector_name_are_refused(install):
    for module in ("first_plugin", "second_plugin"):
        install(module, CONNECTOR_PLUGIN.format(name="ssv"), dist=module)
    pm = get_plugin_manager()

    with pytest.raises(PluginError) as caught:
        connectors(pm)

    assert "'first_plugin'" in str(caught.value)
    assert "'second_plugin'" in str(caught.value)


def test_a_plugin_connector_is_used_like_a_built_in(install, tmp_path):
    install("semicolon_plugin", CONNECTOR_PLUGIN.format(name="ssv"), dist="ssv")
    (tmp_path / "list.csv").write_text("account;note\nACME;x\n")

    found = connectors(get_plugin_manager())
    source = found["ssv"].open({"path": "list.csv"}, tmp_path)

    assert list(found) == ["csv", "jsonl", "parquet", "ssv"]
    assert list(source.rows()) == [(2, {"account": "ACME", "note": "x"})]


def test_a_plugin_returning_the_wrong_kind_of_thing_is_named(install):
    install(
        "wrong_plugin",
        """
        from engine.hookspecs import hookimpl

        @hookimpl
        def attain_register_output_formats():
            return ["markdown"]
        """,
        dist="attain-wrong",
    )
    pm = get_plugin_manager()

    with pytest.raises(PluginError, match="'wrong_plugin'.*not a OutputFormat"):
        output_formats(pm)


def test_a_plugin_whose_hook_fails_is_named(install):
    install(
        "failing_plugin",
        """
        from engine.hookspecs import hookimpl

        @hookimpl
        def attain_register_metrics():
            raise RuntimeError("no database")
        """,
        dist="attain-failing",
    )
    pm = get_plugin_manager()

    with pytest.raises(PluginError, match="'failing_plugin'.*no database"):
        metrics(pm)


def test_two_commands_with_one_name_are_refused(install):
    source = """
        import click
        from engine.hookspecs import hookimpl

        @hookimpl
        def attain_register_commands():
            return [click.Command("report")]
    """
    install("report_a", source, dist="report-a")
    install("report_b", source, dist="report-b")

    with pytest.raises(PluginError, match="command named 'report'"):
        commands(get_plugin_manager())


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def deal(**values):
    base = {"deal_id": "D", "amount": Decimal(1000), "type": "upsell"}
    return {**base, **values}


@pytest.fixture(scope="module")
def builtin_metrics():
    return metrics(get_plugin_manager(entry_points=False))


def test_new_logo_count_counts_new_deals(builtin_metrics):
    deals = [deal(type="new"), deal(), deal(type="new"), deal(type=None)]

    count = evaluate_metric(builtin_metrics["new_logo_count"], deals)

    assert count == Decimal(2)
    assert evaluate_metric(builtin_metrics["new_logo_count"], []) == 0


def test_average_discount_is_weighted_by_list_price(builtin_metrics):
    deals = [
        deal(amount=Decimal("80"), list_price=Decimal("100")),
        deal(amount=Decimal("270"), list_price=Decimal("300")),
        deal(amount=Decimal("999"), list_price=None),
    ]

    discount = evaluate_metric(builtin_metrics["average_discount"], deals)

    # (20 + 30) / (100 + 300); a plain average of 20 % and 10 % is 15 %.
    assert discount == Decimal("0.125")


def test_average_discount_without_list_prices_has_no_value(builtin_metrics):
    deals = [deal(list_price=None), deal()]

    assert evaluate_metric(builtin_metrics["average_discount"], deals) is None


def test_distinct_accounts_counts_each_account_once(builtin_metrics):
    deals = [deal(account="A"), deal(account="B"), deal(account="A"), deal()]

    assert evaluate_metric(builtin_metrics["distinct_accounts"], deals) == 2


def test_metrics_read_deal_records_through_their_attributes(builtin_metrics):
    record = Deal(
        deal_id="D-1",
        close_date=date(2026, 3, 1),
        amount=Decimal(5),
        owner="AE-1",
        type="new",
        attributes={"deal_id": "D-1", "type": "new", "amount": Decimal(5)},
    )

    assert evaluate_metric(builtin_metrics["new_logo_count"], [record]) == 1


def test_min_max_and_sum_with_a_filter():
    metric = Metric(
        name="spread",
        description="Largest minus smallest won amount, over the total.",
        aggregates={
            "low": Aggregate("min", "amount", where='stage == "won"'),
            "high": Aggregate("max", "amount", where='stage == "won"'),
            "total": Aggregate("sum", "amount"),
        },
        formula="(high - low) / total",
        columns=("amount", "stage"),
    )
    deals = [
        deal(amount=Decimal("100"), stage="won"),
        deal(amount=Decimal("300"), stage="won"),
        deal(amount=Decimal("600"), stage="lost"),
    ]

    assert evaluate_metric(metric, deals) == Decimal("0.2")
    # No won deal: min and max have no value, so neither has the formula.
    assert evaluate_metric(metric, deals[2:]) is None


def test_a_sum_of_text_is_an_evaluation_error():
    metric = Metric(
        "names", "", {"n": Aggregate("sum", "owner")}, "n", ("owner",)
    )

    with pytest.raises(EvaluationError, match="'names'.*needs numbers"):
        evaluate_metric(metric, [deal(owner="AE-1")])


@pytest.mark.parametrize(
    ("aggregates", "formula", "columns", "words"),
    [
        ({"n": Aggregate("cuont", "amount")}, "n", ("amount",),
         "Did you mean 'count'?"),
        ({"n": Aggregate("sum", None)}, "n", (), "sum needs an expression"),
        ({"won": Aggregate("count", None)}, "wonn + 1", (),
         "Did you mean 'won'?"),
        ({"n": Aggregate("sum", "list_price")}, "n", ("amount",),
         "reads column 'list_price'"),
        ({"n": Aggregate("sum", "amount.real")}, "n", ("amount",),
         "not a valid plan expression"),
        ({}, "1", (), "declares no aggregates"),
    ],
)
def test_a_metric_that_cannot_be_evaluated_is_refused_when_registered(
    install, aggregates, formula, columns, words
):
    metric = Metric("broken_metric", "", aggregates, formula, columns)
    install(
        "metric_plugin",
        """
        from engine.hookspecs import hookimpl

        METRIC = None

        @hookimpl
        def attain_register_metrics():
            return [METRIC]
        """,
        dist="attain-metric",
    )
    import metric_plugin

    metric_plugin.METRIC = metric

    with pytest.raises(ConfigError, match="'broken_metric'") as caught:
        metrics(get_plugin_manager())
    assert words in str(caught.value)


# ---------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------


def payout_line(payee="AE-1", period="FY2026-Q1", amount="18000.00", **kw):
    start = {"FY2026-Q1": date(2026, 2, 1), "FY2026-Q2": date(2026, 5, 1)}
    values = dict(
        payee_id=payee,
        payee_name="Ada Lovelace",
        plan_id="ae-plan",
        plan_version="2026.1",
        period=period,
        period_start=start[period],
        period_end=date(2026, 4, 30),
        component="commission",
        component_name="Commission",
        amount=Decimal(amount),
        currency="USD",
        trace={},
    )
    return PayoutLine(**{**values, **kw})


TRACE = {
    "kind": "rate_table",
    "measure": "bookings",
    "value": "120000.00",
    "quota": "100000",
    "attainment": "1.2",
    "method": "retroactive",
    "basis": "attainment",
    "bands": [
        {"from": "0", "to": "1", "rate": "0.10", "amount": "0", "pay": "0"},
        {"from": "1", "to": None, "rate": "0.15", "amount": "120000.00",
         "pay": "18000.00"},
    ],
    "band": 2,
    "rate": "0.15",
    "cap": {"per_period": "60000.00", "rule": "3x target incentive"},
    "cap_applied": False,
    "unrounded": "18000.000",
    "quota_source": "per period",
    "deals": [
        {"deal_id": "D-7", "close_date": "2026-03-02", "credit": "70000.00",
         "credit_type": "direct", "rule": "owner", "share": "10500.00"},
        {"deal_id": "D-9", "close_date": "2026-03-30", "credit": "50000.00",
         "credit_type": "split", "rule": "split|60", "share": "7500.00"},
    ],
    "fx_note": "rates of 2026-03-31",
}


def test_csv_output_has_a_fixed_shape():
    lines = [
        payout_line("AE-2", amount="1E+3"),
        payout_line("AE-1", "FY2026-Q2", amount="-40.50"),
        payout_line("AE-1", payee_name='Lovelace, "Ada"'),
    ]

    text = output_formats(get_plugin_manager())["csv"].render_payouts(lines)

    assert text == (
        "period,payee_id,payee_name,plan_id,plan_version,component,amount,"
        "currency\n"
        'FY2026-Q1,AE-1,"Lovelace, ""Ada""",ae-plan,2026.1,commission,'
        "18000.00,USD\n"
        "FY2026-Q1,AE-2,Ada Lovelace,ae-plan,2026.1,commission,1000,USD\n"
        "FY2026-Q2,AE-1,Ada Lovelace,ae-plan,2026.1,commission,-40.50,USD\n"
    )


def test_json_output_is_stable_and_exact():
    json_format = output_formats(get_plugin_manager())["json"]
    lines = [payout_line(trace=TRACE), payout_line("AE-0", amount="0.10")]

    text = json_format.render_payouts(lines)
    again = json_format.render_payouts(list(reversed(lines)))

    assert text == again
    document = json.loads(text)
    assert [line["payee_id"] for line in document["lines"]] == ["AE-0", "AE-1"]
    assert document["lines"][0]["amount"] == "0.10"
    assert document["lines"][1]["trace"]["deals"][1]["share"] == "7500.00"
    assert document["lines"][1]["period_start"] == "2026-02-01"
    assert text.index('"amount"') < text.index('"component"') < text.index(
        '"trace"'
    )


def test_json_statement_carries_the_total():
    statement = Statement(
        "AE-1", "Ada Lovelace", "AE", "USD", ["FY2026-Q1"],
        [payout_line(amount="10.05"), payout_line(amount="0.95")],
    )

    document = json.loads(
        output_formats(get_plugin_manager())["json"].render_statement(statement)
    )

    assert document["total"] == "11.00"
    assert document["role"] == "AE"


def test_markdown_statement_explains_each_line():
    statement = Statement(
        payee_id="AE-1",
        payee_name="Ada Lovelace",
        role="AE",
        currency="USD",
        periods=["FY2026-Q1", "FY2026-Q2"],
        lines=[
            payout_line(trace=TRACE),
            payout_line(period="FY2026-Q2", amount="2500.00"),
        ],
    )

    text = output_formats(get_plugin_manager())["markdown"].render_statement(
        statement
    )

    assert text.startswith("# Statement for Ada Lovelace\n")
    assert "- **Role:** AE" in text
    assert "- **Periods:** FY2026-Q1, FY2026-Q2" in text
    assert "- **Total:** 20,500.00 USD" in text
    assert text.index("## FY2026-Q1") < text.index("## FY2026-Q2")
    assert "### Commission: 18,000.00 USD" in text
    assert "- **Attainment:** 120.00 %" in text
    assert "- **Quota:** 100,000" in text
    assert "- **Rate:** 15.00 %" in text
    assert "- **Cap:** 60,000.00 a period (3x target incentive)" in text
    assert "- **Cap reached:** no" in text
    assert "- **Quota from:** per period" in text
    assert "- **fx_note:** rates of 2026-03-31" in text
    assert "| 100.00 % |  | 15.00 % | 120,000.00 | 18,000.00 |" in text
    assert "| Deal | Close date | Credit | Credit type | Rule | Share of pay |" in text
    assert "| D-9 | 2026-03-30 | 50,000.00 | split | split\\|60 | 7,500.00 |" in text


@pytest.mark.parametrize(
    "trace",
    [
        {},
        {"attainment": None, "rate": "n/a", "bands": "none", "deals": [1, None]},
        {"cap": {"limit": "1000", "applied": True}, "gate": False, 7: [1, 2]},
        {"bands": [{"rate": "0.1"}], "deals": [{"deal_id": "D-1"}]},
    ],
)
def test_markdown_never_fails_on_an_unusual_trace(trace):
    statement = Statement(
        "AE-1", "Ada", "AE", "USD", [], [payout_line(trace=trace)]
    )

    text = output_formats(get_plugin_manager())["markdown"].render_statement(
        statement
    )

    assert "### Commission: 18,000.00 USD" in text


def test_markdown_payouts_are_a_table():
    text = output_formats(get_plugin_manager())["markdown"].render_payouts(
        [payout_line(amount="1234567.5")]
    )

    assert text.splitlines() == [
        "| Period | Payee | Plan | Component | Amount | Currency |",
        "|---|---|---|---|---|---|",
        "| FY2026-Q1 | Ada Lovelace (AE-1) | ae-plan 2026.1 | Commission"
        " | 1,234,567.5 | USD |",
    ]


# ---------------------------------------------------------------------------
# The example plugin, installed with pip
# ---------------------------------------------------------------------------

EXAMPLE_CHECK = r"""
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from engine.data import read_deals
from engine.plugins import (
    commands, connectors, describe_plugins, evaluate_metric,
    get_plugin_manager, metrics, output_formats,
)
from engine.results import PayoutLine

folder = Path(sys.argv[1])
pm = get_plugin_manager()
info = next(i for i in describe_plugins(pm) if i.name == "example")
deals = read_deals(connectors(pm)["tsv"].open({"path": "deals.tsv"}, folder))
line = PayoutLine(
    "AE-1", "Ada", "ae-plan", "1", "FY2026-Q1", date(2026, 2, 1),
    date(2026, 4, 30), "commission", "Commission", Decimal("12.50"), "USD",
)
command = next(c for c in commands(pm) if c.name == "hello-example")
run = CliRunner().invoke(command, ["ada"])
print(json.dumps({
    "distribution": info.distribution,
    "version": info.version,
    "hooks": info.hooks,
    "rows": [d.row for d in deals],
    "amounts": [str(d.amount) for d in deals],
    "large": str(evaluate_metric(metrics(pm)["large_deal_count"], deals)),
    "tsv": output_formats(pm)["tsv"].render_payouts([line]),
    "command": [run.exit_code, run.output],
}))
"""


@pytest.fixture(scope="module")
def example_site(tmp_path_factory) -> Path:
    """The example plugin installed with pip into a folder of its own."""
    work = tmp_path_factory.mktemp("example")
    # Building writes into the source tree, so build from a copy.
    source = shutil.copytree(EXAMPLE, work / "source")
    target = work / "site"
    install = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", "--no-deps",
            "--no-build-isolation", "--target", str(target), str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, (
        "Installing the example plugin failed (building it needs setuptools"
        f" and wheel):\n{install.stderr}"
    )
    return target


def test_the_example_plugin_is_found_and_each_part_works(
    example_site, tmp_path
):
    (tmp_path / "deals.tsv").write_text(
        "deal_id\tclose_date\tamount\towner\n"
        "D-1\t2026-03-01\t99999.99\tAE-1\n"
        "D-2\t2026-03-02\t100000\tAE-1\n"
        "D-3\t2026-03-03\t250000.50\tAE-2\n"
    )
    path = os.pathsep.join(
        filter(None, [str(example_site), os.environ.get("PYTHONPATH")])
    )

    run = subprocess.run(
        [sys.executable, "-c", EXAMPLE_CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path},
        timeout=120,
    )

    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["distribution"] == "attain-plugin-example"
    assert seen["version"] == "0.3.1"
    assert seen["hooks"] == [
        "attain_register_commands",
        "attain_register_connectors",
        "attain_register_metrics",
        "attain_register_output_formats",
    ]
    assert seen["rows"] == [2, 3, 4]
    assert seen["amounts"] == ["99999.99", "100000", "250000.50"]
    assert seen["large"] == "2"
    assert seen["tsv"] == (
        "period\tpayee_id\tplan_id\tcomponent\tamount\tcurrency\n"
        "FY2026-Q1\tAE-1\tae-plan\tcommission\t12.50\tUSD\n"
    )
    assert seen["command"] == [0, "Hello, Ada: 3 letters.\n"]


EXAMPLE_PLAN = """\
kind: plan
id: large-deals
name: Large-deal bonus
currency: USD
period: year
effective: {from: 2026-01-01, to: 2026-12-31}
participants: {roles: [AE]}
measures:
  large_deals: {metric: large_deal_count}
components:
  bonus:
    name: Large-deal bonus
    bonus: {amount: 750, when: large_deals >= 2}
"""

EXAMPLE_PROJECT = """\
kind: project
name: Example plugin project
plans: [plan.yaml]
data:
  deals: {connector: tsv, path: deals.tsv}
  roster: {connector: tsv, path: roster.tsv}
"""


def test_the_example_plugin_from_the_command_line(example_site, tmp_path):
    (tmp_path / "plan.yaml").write_text(EXAMPLE_PLAN)
    (tmp_path / "attain.yaml").write_text(EXAMPLE_PROJECT)
    (tmp_path / "roster.tsv").write_text(
        "payee_id\tname\trole\nAE-1\tAda\tAE\nAE-2\tBo\tAE\n"
    )
    (tmp_path / "deals.tsv").write_text(
        "deal_id\tclose_date\tamount\towner\n"
        "D-1\t2026-03-01\t150000\tAE-1\n"
        "D-2\t2026-05-02\t100000\tAE-1\n"
        "D-3\t2026-03-03\t250000.50\tAE-2\n"
    )
    path = os.pathsep.join(
        filter(None, [str(example_site), os.environ.get("PYTHONPATH")])
    )

    def attain(*args):
        return subprocess.run(
            [sys.executable, "-m", "engine", *args],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), path])},
        )

    listed = attain("plugins")
    assert listed.returncode == 0, listed.stderr
    assert "example (attain-plugin-example 0.3.1)" in listed.stdout
    assert "large_deal_count" in listed.stdout

    hello = attain("hello-example", "grace")
    assert hello.stdout == "Hello, Grace: 5 letters.\n"

    run = attain("run", "--no-store", "--format", "tsv")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1:] == [
        "FY2026\tAE-1\tlarge-deals\tbonus\t750.00\tUSD",
        "FY2026\tAE-2\tlarge-deals\tbonus\t0.00\tUSD",
    ]
