"""Input tables to typed records, and errors that name file, row and column."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.data import (
    read_deals,
    read_list,
    read_quotas,
    read_roster,
    read_splits,
    read_table,
)
from engine.errors import ConfigError, DataError
from engine.plugins import TableSource
from plugins.connectors import CsvConnector, JsonLinesConnector

DEALS_HEADER = "deal_id,close_date,amount,owner"


def csv_source(folder: Path, text: str, name: str = "deals.csv") -> TableSource:
    (folder / name).write_bytes(text.encode("utf-8"))
    return CsvConnector().open({"path": name}, folder)


def jsonl_source(folder: Path, *lines: Any, name: str = "deals.jsonl") -> TableSource:
    text = "\n".join(
        line if isinstance(line, str) else json.dumps(line) for line in lines
    )
    (folder / name).write_text(text + "\n", encoding="utf-8")
    return JsonLinesConnector().open({"path": name}, folder)


def memory_source(*rows: dict[str, Any]) -> TableSource:
    """Rows as another connector might hand them over, numbered from 1."""
    return TableSource(name="memory", rows=lambda: iter(enumerate(rows, 1)))


def data_error(read, *args: Any, **kwargs: Any) -> DataError:
    with pytest.raises(DataError) as caught:
        read(*args, **kwargs)
    return caught.value


# ---------------------------------------------------------------------------
# Deals that read cleanly
# ---------------------------------------------------------------------------


def test_deals_have_their_types_and_rows(tmp_path):
    source = csv_source(
        tmp_path,
        "deal_id,close_date,amount,owner,currency,stage,probability,region\n"
        "D-1,2026-03-31,1200.50,AE-1,usd,,,NA\n"
        "D-2,2026-04-01,-300,AE-2,EUR,Lost,0.25,\n"
        "D-3,2026-04-02,10.000,AE-1,,proposal,0.7, EMEA \n",
    )

    first, second, third = read_deals(source)

    assert first.amount == Decimal("1200.50")
    assert first.close_date == date(2026, 3, 31)
    assert first.currency == "USD"
    assert first.is_won and first.stage == "won"
    assert (first.source, first.row) == ("deals.csv", 2)
    assert second.stage == "lost" and second.amount == Decimal("-300")
    assert second.attributes["probability"] == Decimal("0.25")
    assert second.attributes["region"] is None
    assert third.is_open and third.stage == "proposal"
    assert str(third.amount) == "10.000"
    assert third.attributes["region"] == "EMEA"
    assert third.row == 4


def test_attributes_hold_every_column_typed(tmp_path):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER},list_price,tech_win,seats,renewal_on,note\n"
        "D-1,2026-03-31,900,AE-1,1000,yes,12,2027-03-31,first deal\n",
    )
    types = {"tech_win": "boolean", "seats": "integer", "renewal_on": "date"}

    (deal,) = read_deals(source, column_types=types)

    assert deal.attributes["list_price"] == Decimal("1000")
    assert deal.attributes["tech_win"] is True
    assert deal.attributes["seats"] == 12
    assert deal.attributes["renewal_on"] == date(2027, 3, 31)
    assert deal.attributes["note"] == "first deal"
    assert deal.attributes["amount"] == Decimal("900")
    # Standard columns absent from the file are present and missing.
    assert deal.attributes["segment"] is None
    assert deal.attributes["stage"] == "won"


def test_undeclared_extra_columns_stay_strings(tmp_path):
    source = csv_source(
        tmp_path, f"{DEALS_HEADER},tech_win\nD-1,2026-03-31,1,AE-1,true\n"
    )

    (deal,) = read_deals(source)

    assert deal.attributes["tech_win"] == "true"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True), ("TRUE", True), ("Yes", True), ("1", True),
        ("false", False), ("No", False), ("0", False), ("FALSE", False),
        ("", None),
    ],
)
def test_booleans_accept_common_spellings(tmp_path, text, expected):
    source = csv_source(
        tmp_path, f"{DEALS_HEADER},tech_win\nD-1,2026-03-31,1,AE-1,{text}\n"
    )

    (deal,) = read_deals(source, column_types={"tech_win": "boolean"})

    assert deal.attributes["tech_win"] is expected


def test_blank_lines_are_skipped_and_rows_keep_their_line(tmp_path):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER}\n\nD-1,2026-03-31,1,AE-1\n,,,\nD-2,2026-03-31,2,AE-1\n",
    )

    assert [deal.row for deal in read_deals(source)] == [3, 5]


def test_a_byte_order_mark_is_accepted(tmp_path):
    text = f"\ufeff{DEALS_HEADER}\nD-1,2026-03-31,5,AE-1\n"
    (tmp_path / "deals.csv").write_bytes(text.encode("utf-8"))
    source = CsvConnector().open({"path": "deals.csv"}, tmp_path)

    (deal,) = read_deals(source)

    assert deal.deal_id == "D-1"
    assert "deal_id" in source.columns()


def test_embedded_newlines_keep_row_numbers_true_to_the_file(tmp_path):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER},note\n"
        'D-1,2026-03-31,5,AE-1,"two\nlines"\n'
        'D-2,2026-03-31,6,AE-1,"three\nlines\nhere"\n'
        "D-3,2026-03-31,oops,AE-1,plain\n",
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column, error.value) == (7, "amount", "oops")
    assert error.source == "deals.csv"


def test_a_row_spanning_lines_is_numbered_by_its_first_line(tmp_path):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER},note\n"
        'D-1,2026-03-31,5,AE-1,"a\nb"\n'
        'D-2,2026-03-31,6,AE-1,"c\n\nd"\n',
    )

    first, second = read_deals(source)

    assert first.attributes["note"] == "a\nb"
    assert second.attributes["note"] == "c\n\nd"
    assert (first.row, second.row) == (2, 4)


def test_an_error_in_a_row_spanning_lines_names_its_first_line(tmp_path):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER},note\n"
        'D-1,2026-03-31,5,AE-1,"a\nb"\n'
        'D-2,2026-03-31,6,,"c\nd"\n',
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (4, "owner")


def test_other_delimiters_are_an_option(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "deal_id;close_date;amount;owner\nD-1;2026-03-31;7.5;AE-1\n"
    )
    source = CsvConnector().open(
        {"path": "deals.csv", "delimiter": ";"}, tmp_path
    )

    assert read_deals(source)[0].amount == Decimal("7.5")


# ---------------------------------------------------------------------------
# Errors in deals: each names the row and column
# ---------------------------------------------------------------------------


def test_a_missing_required_column_is_reported_on_the_header(tmp_path):
    source = csv_source(
        tmp_path, "deal_id,closedate,amount,owner\nD-1,2026-03-31,5,AE-1\n"
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (1, "close_date")
    assert "Did you mean 'closedate'?" in str(error)
    assert "deal_id, closedate, amount, owner" in str(error)


def test_a_missing_column_is_reported_even_without_rows(tmp_path):
    source = csv_source(tmp_path, "deal_id,close_date,amount\n")

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (1, "owner")


def test_a_short_row_names_the_first_column_without_a_cell(tmp_path):
    source = csv_source(
        tmp_path, f"{DEALS_HEADER}\nD-1,2026-03-31,5,AE-1\nD-2,2026-03-31\n"
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (3, "amount")
    assert "2 cells" in str(error) and "4 columns" in str(error)


def test_extra_cells_are_an_error(tmp_path):
    source = csv_source(
        tmp_path, f"{DEALS_HEADER}\nD-1,2026-03-31,5,AE-1,surprise\n"
    )

    error = data_error(read_deals, source)

    assert error.row == 2
    assert error.column is None
    assert "5 cells" in str(error)


@pytest.mark.parametrize(
    "amount", ["1,000.00", "$100", "12 EUR", "NaN", "Infinity", "1_000", "1e3"]
)
def test_an_amount_must_be_a_plain_decimal(tmp_path, amount):
    source = csv_source(
        tmp_path, f'{DEALS_HEADER}\nD-1,2026-03-31,"{amount}",AE-1\n'
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column, error.value) == (2, "amount", amount)
    assert "without thousands separators" in str(error)


@pytest.mark.parametrize("day", ["31/03/2026", "2026-02-30", "20260331", "soon"])
def test_a_date_must_be_iso(tmp_path, day):
    source = csv_source(tmp_path, f"{DEALS_HEADER}\nD-1,{day},5,AE-1\n")

    error = data_error(read_deals, source)

    assert (error.row, error.column, error.value) == (2, "close_date", day)
    assert str(error).endswith("Expected an ISO date such as 2026-03-31.")


def test_a_boolean_must_be_one_of_the_spellings(tmp_path):
    source = csv_source(
        tmp_path, f"{DEALS_HEADER},tech_win\nD-1,2026-03-31,5,AE-1,maybe\n"
    )

    error = data_error(read_deals, source, column_types={"tech_win": "boolean"})

    assert (error.row, error.column, error.value) == (2, "tech_win", "maybe")
    assert "Expected true or false" in str(error)


def test_an_integer_must_be_whole(tmp_path):
    source = csv_source(
        tmp_path, f"{DEALS_HEADER},seats\nD-1,2026-03-31,5,AE-1,3.5\n"
    )

    error = data_error(read_deals, source, column_types={"seats": "integer"})

    assert (error.row, error.column, error.value) == (2, "seats", "3.5")
    assert "whole number" in str(error)


@pytest.mark.parametrize("column", ["deal_id", "close_date", "amount", "owner"])
def test_a_required_cell_may_not_be_empty(tmp_path, column):
    values = {"deal_id": "D-1", "close_date": "2026-03-31", "amount": "5",
              "owner": "AE-1", column: "  "}
    source = csv_source(
        tmp_path, f"{DEALS_HEADER}\nD-0,2026-03-31,1,AE-1\n"
        + ",".join(values.values()) + "\n",
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (3, column)
    assert "is empty" in str(error)


def test_a_duplicate_deal_id_names_both_rows(tmp_path):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER}\nD-1,2026-03-31,5,AE-1\nD-2,2026-03-31,5,AE-1\n"
        "D-1,2026-04-30,-5,AE-1\n",
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column, error.value) == (4, "deal_id", "D-1")
    assert "rows 2 and 4" in str(error)


@pytest.mark.parametrize("probability", ["1.5", "-0.1", "40"])
def test_a_probability_lies_between_0_and_1(tmp_path, probability):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER},probability\nD-1,2026-03-31,5,AE-1,{probability}\n",
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (2, "probability")
    assert error.value == Decimal(probability)


def test_a_split_percent_lies_between_0_and_100(tmp_path):
    source = csv_source(
        tmp_path,
        f"{DEALS_HEADER},split_partner,split_percent\n"
        "D-1,2026-03-31,5,AE-1,AE-2,40\nD-2,2026-03-31,5,AE-1,AE-2,140\n",
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (3, "split_percent")


@pytest.mark.parametrize("currency", ["US$", "DOLLAR", "EU", "12A"])
def test_a_currency_is_three_letters(tmp_path, currency):
    source = csv_source(
        tmp_path, f"{DEALS_HEADER},currency\nD-1,2026-03-31,5,AE-1,{currency}\n"
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column, error.value) == (2, "currency", currency)
    assert "ISO 4217" in str(error)


def test_an_undecodable_byte_names_its_line(tmp_path):
    text = f"{DEALS_HEADER},note\nD-1,2026-03-31,5,AE-1,ok\n"
    bad = text.encode() + b"D-2,2026-03-31,5,AE-1,caf\xe9\n"
    (tmp_path / "deals.csv").write_bytes(bad)
    source = CsvConnector().open({"path": "deals.csv"}, tmp_path)

    error = data_error(read_deals, source)

    assert error.row == 3
    assert "encoding" in str(error)


def test_the_encoding_option_reads_other_encodings(tmp_path):
    text = f"{DEALS_HEADER},note\nD-2,2026-03-31,5,AE-1,café\n"
    (tmp_path / "deals.csv").write_bytes(text.encode("latin-1"))
    source = CsvConnector().open(
        {"path": "deals.csv", "encoding": "latin-1"}, tmp_path
    )

    assert read_deals(source)[0].attributes["note"] == "café"


# ---------------------------------------------------------------------------
# Declared column types
# ---------------------------------------------------------------------------


def test_an_unknown_column_type_is_a_config_error(tmp_path):
    source = csv_source(tmp_path, f"{DEALS_HEADER}\n")

    with pytest.raises(ConfigError, match="Did you mean 'boolean'"):
        read_deals(source, column_types={"tech_win": "bool"})


def test_a_standard_column_keeps_its_type(tmp_path):
    source = csv_source(tmp_path, f"{DEALS_HEADER}\n")

    with pytest.raises(ConfigError, match="standard column of type decimal"):
        read_deals(source, column_types={"amount": "string"})


def test_declaring_a_standard_type_again_is_harmless(tmp_path):
    source = csv_source(tmp_path, f"{DEALS_HEADER}\nD-1,2026-03-31,5,AE-1\n")

    (deal,) = read_deals(source, column_types={"amount": "decimal"})

    assert deal.amount == Decimal(5)


# ---------------------------------------------------------------------------
# JSON Lines
# ---------------------------------------------------------------------------


def test_json_numbers_become_exact_decimals(tmp_path):
    source = jsonl_source(
        tmp_path,
        '{"deal_id": "D-1", "close_date": "2026-03-31", "amount": 0.1,'
        ' "owner": "AE-1", "list_price": 100000000000000000000.01,'
        ' "probability": 1}',
    )

    (deal,) = read_deals(source)

    assert deal.amount == Decimal("0.1")
    assert deal.attributes["list_price"] == Decimal("100000000000000000000.01")
    assert deal.attributes["probability"] == Decimal(1)


def test_floats_from_other_connectors_convert_through_their_text():
    source = memory_source(
        {"deal_id": "D-1", "close_date": date(2026, 3, 31), "amount": 0.1,
         "owner": "AE-1", "tech_win": True, "seats": 3.0},
    )

    (deal,) = read_deals(
        source, column_types={"tech_win": "boolean", "seats": "integer"}
    )

    assert deal.amount == Decimal("0.1")
    assert deal.amount != Decimal(0.1)
    assert deal.close_date == date(2026, 3, 31)
    assert deal.attributes["tech_win"] is True
    assert deal.attributes["seats"] == 3


def test_json_values_in_undeclared_columns_read_as_strings(tmp_path):
    source = jsonl_source(
        tmp_path,
        {"deal_id": 17, "close_date": "2026-03-31", "amount": "5",
         "owner": "AE-1", "tech_win": True, "score": 2.50},
    )

    (deal,) = read_deals(source)

    assert deal.deal_id == "17"
    assert deal.attributes["tech_win"] == "true"
    assert deal.attributes["score"] == "2.5"


def test_json_lines_report_the_line_of_a_missing_key(tmp_path):
    good = {"deal_id": "D-1", "close_date": "2026-03-31", "amount": 5,
            "owner": "AE-1"}
    bad = {"deal_id": "D-2", "closed": "2026-03-31", "amount": 5,
           "owner": "AE-1"}
    source = jsonl_source(tmp_path, good, "", bad)

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (3, "close_date")


def test_json_null_is_missing(tmp_path):
    source = jsonl_source(
        tmp_path,
        {"deal_id": "D-1", "close_date": "2026-03-31", "amount": 5,
         "owner": None},
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (1, "owner")


@pytest.mark.parametrize(
    ("line", "words"),
    [("{not json", "not valid JSON"), ("[1, 2]", "JSON object")],
)
def test_a_line_that_is_not_an_object_is_an_error(tmp_path, line, words):
    good = {"deal_id": "D-1", "close_date": "2026-03-31", "amount": 5,
            "owner": "AE-1"}
    source = jsonl_source(tmp_path, good, line)

    error = data_error(read_deals, source)

    assert error.row == 2
    assert words in str(error)


def test_a_json_list_in_a_cell_is_an_error(tmp_path):
    source = jsonl_source(
        tmp_path,
        {"deal_id": "D-1", "close_date": "2026-03-31", "amount": 5,
         "owner": ["AE-1", "AE-2"]},
    )

    error = data_error(read_deals, source)

    assert (error.row, error.column) == (1, "owner")


# ---------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------

ROSTER_HEADER = "payee_id,name,role,manager,territories,effective_from,effective_to"


def test_roster_rows_are_typed(tmp_path):
    source = csv_source(
        tmp_path,
        f"{ROSTER_HEADER},target_incentive\n"
        "AE-1,Ada,AE,MGR-1,NA; LATAM,,2026-07-31,80000\n"
        "AE-1,Ada,AE,MGR-2,NA,2026-08-01,,96000\n",
        name="roster.csv",
    )

    before, after = read_roster(source)

    assert before.territories == ("NA", "LATAM")
    assert before.effective_from is None
    assert before.effective_to == date(2026, 7, 31)
    assert after.manager == "MGR-2"
    assert after.target_incentive == Decimal(96000)
    assert after.in_force(date(2026, 8, 1)) and not before.in_force(
        date(2026, 8, 1)
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (",2026-07-31", "2026-07-31,"),  # shares the last day
        ("2026-01-01,", "2026-06-01,2026-06-30"),  # the first never ends
        (",", "2027-01-01,"),  # one row since always and for ever
    ],
)
def test_overlapping_stretches_name_both_rows(tmp_path, first, second):
    source = csv_source(
        tmp_path,
        f"{ROSTER_HEADER}\n"
        "AE-2,Bo,AE,,NA,,\n"
        f"AE-1,Ada,AE,,NA,{first}\n"
        f"AE-1,Ada,AE,,NA,{second}\n",
        name="roster.csv",
    )

    error = data_error(read_roster, source)

    assert (error.row, error.column) == (4, "effective_from")
    assert "Rows 3 and 4" in str(error)
    assert "'AE-1'" in str(error)


def test_a_stretch_may_not_end_before_it_starts(tmp_path):
    source = csv_source(
        tmp_path,
        f"{ROSTER_HEADER}\nAE-1,Ada,AE,,NA,2026-08-01,2026-07-31\n",
        name="roster.csv",
    )

    error = data_error(read_roster, source)

    assert (error.row, error.column) == (2, "effective_to")


def test_a_roster_without_a_role_column_is_refused(tmp_path):
    source = csv_source(
        tmp_path, "payee_id,name,rol\nAE-1,Ada,AE\n", name="roster.csv"
    )

    error = data_error(read_roster, source)

    assert (error.row, error.column) == (1, "role")
    assert "Did you mean 'rol'?" in str(error)


# ---------------------------------------------------------------------------
# Quotas, splits, lists and any table
# ---------------------------------------------------------------------------


def test_quotas_read_with_their_period_labels(tmp_path):
    source = csv_source(
        tmp_path,
        "payee_id,measure,period,amount,plan\n"
        "AE-1,bookings,FY2026-Q1,200000,\n"
        "AE-1,bookings,FY2026-M01,70000.50,ae-plan\n"
        "AE-1,bookings,FY2026,800000,\n",
        name="quotas.csv",
    )

    quotas = read_quotas(source)

    assert [q.period for q in quotas] == ["FY2026-Q1", "FY2026-M01", "FY2026"]
    assert quotas[1].amount == Decimal("70000.50")
    assert quotas[1].plan == "ae-plan" and quotas[0].plan is None
    assert quotas[2].row == 4


@pytest.mark.parametrize("period", ["2026-Q1", "FY2026-Q5", "FY2026-M13", "Q1"])
def test_a_quota_period_is_a_fiscal_label(tmp_path, period):
    source = csv_source(
        tmp_path,
        f"payee_id,measure,period,amount\nAE-1,bookings,{period},1\n",
        name="quotas.csv",
    )

    error = data_error(read_quotas, source)

    assert (error.row, error.column, error.value) == (2, "period", period)


def test_a_quota_given_twice_names_both_rows(tmp_path):
    source = csv_source(
        tmp_path,
        "payee_id,measure,period,amount\n"
        "AE-1,bookings,FY2026-Q1,1\nAE-1,bookings,FY2026-Q1,2\n",
        name="quotas.csv",
    )

    error = data_error(read_quotas, source)

    assert error.row == 3
    assert "Rows 2 and 3" in str(error)


def test_splits_read_in_percent_units(tmp_path):
    source = csv_source(
        tmp_path,
        "deal_id,payee_id,percent\nD-1,AE-1,60\nD-1,AE-2,40\n",
        name="splits.csv",
    )

    splits = read_splits(source)

    assert [(s.payee_id, s.percent) for s in splits] == [
        ("AE-1", Decimal(60)),
        ("AE-2", Decimal(40)),
    ]


def test_a_split_percent_above_100_is_an_error(tmp_path):
    source = csv_source(
        tmp_path, "deal_id,payee_id,percent\nD-1,AE-1,160\n", name="splits.csv"
    )

    error = data_error(read_splits, source)

    assert (error.row, error.column) == (2, "percent")


def test_a_named_account_list_keeps_order_and_drops_repeats(tmp_path):
    source = csv_source(
        tmp_path, "account\nACME-2\nACME-1\n\nACME-2\n", name="accounts.csv"
    )

    assert read_list(source) == ("ACME-2", "ACME-1")


def test_any_table_reads_with_declared_columns(tmp_path):
    source = csv_source(
        tmp_path,
        "from,to,rate,day\nEUR,USD,1.10,2026-03-31\n",
        name="rates.csv",
    )

    (row,) = read_table(
        source,
        columns={"rate": "decimal", "day": "date"},
        required=("from", "to", "rate"),
    )

    assert row == {
        "from": "EUR",
        "to": "USD",
        "rate": Decimal("1.10"),
        "day": date(2026, 3, 31),
    }


# ---------------------------------------------------------------------------
# Connector options
# ---------------------------------------------------------------------------


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="'data/deals.csv' does not exist"):
        CsvConnector().open({"path": "data/deals.csv"}, tmp_path)


def test_an_unknown_option_suggests_the_right_one(tmp_path):
    (tmp_path / "deals.csv").write_text(f"{DEALS_HEADER}\n")

    with pytest.raises(ConfigError, match="Did you mean 'delimiter'"):
        CsvConnector().open({"path": "deals.csv", "delimeter": ";"}, tmp_path)


def test_a_source_hands_over_its_file_for_columnar_engines(tmp_path):
    source = csv_source(tmp_path, f"{DEALS_HEADER}\n")

    assert source.path == tmp_path / "deals.csv"
    assert source.format == "csv"
    assert source.columns() == ("deal_id", "close_date", "amount", "owner")
