"""The seeded sample data set: deterministic and true to the input contract."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.sample import generate, main

FY_START = date(2026, 2, 1)
FY_END = date(2027, 1, 31)
NAMES = ("deals", "roster", "quotas", "splits", "strategic_accounts",
         "snapshots")
BUNDLED = Path(__file__).resolve().parents[1] / "plan_specs/fy2026/data"
OPEN_STAGES = ("discovery", "proposal", "negotiation")
MONEY = re.compile(r"-?\d+\.\d{2}")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _day(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def data(paths: dict[str, Path]) -> dict[str, list[dict[str, str]]]:
    return {name: _read(path) for name, path in paths.items()}


@pytest.fixture(scope="module")
def deals(data) -> list[dict[str, str]]:
    return data["deals"]


@pytest.fixture(scope="module")
def roster(data) -> dict[str, list[dict[str, str]]]:
    stretches = defaultdict(list)
    for row in data["roster"]:
        stretches[row["payee_id"]].append(row)
    return stretches


def _originals(deals):
    return [row for row in deals if not row["cancels"]]


def _cancellations(deals):
    return [row for row in deals if row["cancels"]]


def test_same_seed_gives_identical_bytes(paths, tmp_path):
    again = generate(tmp_path / "again")
    for name in NAMES:
        assert again[name].read_bytes() == paths[name].read_bytes(), name


def test_other_seed_gives_other_deals(paths, tmp_path):
    other = generate(tmp_path / "other", seed=7)
    assert other["deals"].read_bytes() != paths["deals"].read_bytes()


def test_writes_every_file_into_a_new_directory(paths, tmp_path):
    dest = tmp_path / "nested" / "dir"
    written = generate(dest, deals=300)
    assert sorted(written) == sorted(NAMES)
    assert {path.name for path in dest.iterdir()} == {
        f"{name}.csv" for name in NAMES}


def test_row_counts(data, deals, roster):
    assert len(_originals(deals)) == 5000
    assert 4 <= len(_cancellations(deals)) <= 20
    assert len(roster) == 48
    assert len(data["quotas"]) == 38 * 4
    assert len(data["strategic_accounts"]) == 25


def test_deal_ids_are_unique_and_sorted(deals):
    ids = [row["deal_id"] for row in deals]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(re.fullmatch(r"D-\d{6}", deal_id) for deal_id in ids)


def test_roles_and_fixed_payee_ids(roster):
    roles = defaultdict(set)
    for payee_id, stretches in roster.items():
        roles[stretches[0]["role"]].add(payee_id)
    assert roles["VP"] == {"VP-1"}
    assert roles["Manager"] == {"MGR-1", "MGR-2", "MGR-3", "MGR-4"}
    assert roles["SE"] == {
        "SE-STRAT", "SE-EMEA-ENT", "SE-EMEA", "SE-AMER", "SE-APAC"}
    assert len(roles["AE"]) == 38
    names = [rows[0]["name"] for rows in roster.values()]
    assert len(set(names)) == len(names)


def test_every_manager_is_in_the_roster(data, roster):
    for row in data["roster"]:
        assert row["manager"] == "" or row["manager"] in roster
        assert row["currency"] == "USD"


def test_owners_are_sellers_active_at_the_close(deals, roster):
    for row in deals:
        stretches = roster[row["owner"]]
        assert stretches[0]["role"] == "AE"
        hired = stretches[0]["hire_date"]
        left = stretches[0]["termination_date"]
        close = _day(row["close_date"])
        assert _day(hired) <= close, row["deal_id"]
        assert not left or close <= _day(left), row["deal_id"]


def test_hires_and_leaver_during_the_year(roster):
    hires = [rows[0] for rows in roster.values()
             if FY_START <= _day(rows[0]["hire_date"]) <= FY_END]
    leavers = [rows[0] for rows in roster.values()
               if rows[0]["termination_date"]]
    assert len(hires) == 2
    assert all(row["role"] == "AE" for row in hires)
    assert len(leavers) == 1
    assert FY_START < _day(leavers[0]["termination_date"]) < FY_END


def test_close_and_created_dates_lie_where_they_should(deals):
    for row in deals:
        close = _day(row["close_date"])
        assert FY_START <= close <= FY_END, row["deal_id"]
        if row["created_date"]:
            age = close - _day(row["created_date"])
            assert timedelta(days=10) <= age <= timedelta(days=180)


def test_roster_dates_parse(data):
    columns = ("hire_date", "termination_date",
               "effective_from", "effective_to")
    for row in data["roster"]:
        for column in columns:
            if row[column]:
                _day(row[column])


def test_money_is_written_with_two_decimals(data, deals):
    for row in deals:
        assert MONEY.fullmatch(row["amount"]), row["deal_id"]
        if row["list_price"]:
            assert MONEY.fullmatch(row["list_price"]), row["deal_id"]
    for row in data["quotas"]:
        assert MONEY.fullmatch(row["amount"])
    for row in data["roster"]:
        ti = row["target_incentive"]
        assert ti == "" and row["role"] == "VP" or MONEY.fullmatch(ti)


def test_list_price_covers_amount_within_the_discount_range(deals):
    for row in _originals(deals):
        amount, listed = Decimal(row["amount"]), Decimal(row["list_price"])
        assert amount <= listed <= amount / Decimal("0.65") + Decimal("0.01")


def test_amounts_mostly_ordinary_with_a_few_windfalls(deals):
    amounts = [Decimal(row["amount"]) for row in _originals(deals)]
    ordinary = [a for a in amounts if 5000 <= a <= 120000]
    assert len(ordinary) >= 0.99 * len(amounts)
    windfalls = [row for row in _originals(deals)
                 if row["stage"] == "won" and Decimal(row["amount"]) > 500000]
    assert windfalls


def test_stage_type_and_probability_mix(deals):
    rows = _originals(deals)
    won = sum(row["stage"] == "won" for row in rows) / len(rows)
    lost = sum(row["stage"] == "lost" for row in rows) / len(rows)
    new = sum(row["type"] == "new" for row in rows) / len(rows)
    assert 0.40 < won < 0.52 and 0.25 < lost < 0.35 and 0.30 < new < 0.40
    expected = {"won": "1", "lost": "0", "discovery": "0.1",
                "proposal": "0.4", "negotiation": "0.7"}
    for row in rows:
        assert row["probability"] == expected[row["stage"]]


def test_open_deals_lean_to_the_later_half(deals):
    open_closes = [_day(row["close_date"]) for row in deals
                   if row["stage"] not in ("won", "lost")]
    late = [day for day in open_closes if day >= date(2026, 8, 1)]
    assert len(late) > 0.65 * len(open_closes)


def test_tech_win_only_on_new_and_upsell(deals):
    marked = [row for row in deals if row["tech_win"]]
    assert all(row["type"] in ("new", "upsell") for row in marked)
    assert {row["tech_win"] for row in marked} == {"true", "false"}


def test_region_follows_the_owner_territory_mostly(deals, roster):
    def territory(owner: str, day: date) -> str:
        for row in roster[owner]:
            starts = row["effective_from"] or "0001-01-01"
            ends = row["effective_to"] or "9999-12-31"
            if starts <= day.isoformat() <= ends:
                return row["territories"]
        raise AssertionError(f"No stretch of {owner} on {day}.")

    matching = [row for row in deals if row["region"] == territory(
        row["owner"], _day(row["close_date"]))]
    assert len(matching) > 0.85 * len(deals)


def test_norway_is_written_as_no(deals):
    norway = [row for row in deals if row["country"] == "NO"]
    assert norway
    assert all(row["region"] == "EMEA" for row in norway)


def test_euro_deals_are_rare_and_in_emea(deals):
    emea = [row for row in deals if row["region"] == "EMEA"]
    euro = [row for row in deals if row["currency"] == "EUR"]
    assert all(row["region"] == "EMEA" for row in euro)
    assert 0.01 < len(euro) / len(emea) < 0.06


def test_accounts_repeat_for_upsells_and_renewals(deals):
    accounts = {row["account"] for row in deals}
    assert all(re.fullmatch(r"ACME-\d{4}", name) for name in accounts)
    assert 800 <= len(accounts) <= 1200
    repeat = [row for row in deals if row["type"] != "new"]
    assert len({row["account"] for row in repeat}) < len(repeat) / 4


def test_roster_stretches_do_not_overlap(roster):
    for payee_id, rows in roster.items():
        spans = sorted(
            (_day(row["effective_from"]) if row["effective_from"]
             else date.min,
             _day(row["effective_to"]) if row["effective_to"] else date.max)
            for row in rows)
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end < start, payee_id


def test_team_moves_to_another_manager_mid_year(roster):
    moves = [rows for rows in roster.values() if len(rows) == 2
             and rows[0]["manager"] != rows[1]["manager"]]
    assert len(moves) >= 2
    for before, after in moves:
        assert (before["manager"], after["manager"]) == ("MGR-2", "MGR-3")
        assert before["effective_to"] == "2026-07-31"
        assert after["effective_from"] == "2026-08-01"
        assert after["territories"] == "EMEA"


def test_promotion_raises_incentive_and_quota(data, roster):
    promoted = [rows for rows in roster.values() if len(rows) == 2
                and rows[0]["manager"] == rows[1]["manager"]]
    assert len(promoted) == 1
    before, after = promoted[0]
    assert Decimal(after["target_incentive"]) > Decimal(
        before["target_incentive"])
    quotas = {row["period"]: Decimal(row["amount"]) for row in data["quotas"]
              if row["payee_id"] == before["payee_id"]}
    assert quotas["FY2026-Q1"] == Decimal("200000.00")
    assert quotas["FY2026-Q4"] == Decimal("240000.00")


def test_quotas_match_each_seller_target_incentive(data, roster):
    by_payee = defaultdict(dict)
    for row in data["quotas"]:
        assert row["measure"] == "bookings"
        by_payee[row["payee_id"]][row["period"]] = Decimal(row["amount"])
    for payee_id, quotas in by_payee.items():
        assert sorted(quotas) == [f"FY2026-Q{q}" for q in range(1, 5)]
        ti = Decimal(roster[payee_id][0]["target_incentive"])
        # The base commission rate is 10 % for every seller.
        assert quotas["FY2026-Q1"] * 4 * Decimal("0.1") == ti


def test_quarterly_attainment_spreads_around_quota(deals, data):
    booked = defaultdict(Decimal)
    for row in _originals(deals):
        if row["stage"] == "won" and row["type"] in ("new", "upsell"):
            close = _day(row["close_date"])
            quarter = ((close.year - 2026) * 12 + close.month - 2) // 3 + 1
            booked[(row["owner"], f"FY2026-Q{quarter}")] += Decimal(
                row["amount"])
    ratios = sorted(booked[(row["payee_id"], row["period"])]
                    / Decimal(row["amount"]) for row in data["quotas"])
    median = ratios[len(ratios) // 2]
    assert Decimal("0.7") < median < Decimal("1.3")
    assert ratios[len(ratios) // 10] < Decimal("0.6")
    assert ratios[len(ratios) * 9 // 10] > Decimal("1.4")


def test_cancellations_reverse_existing_won_deals(deals):
    by_id = {row["deal_id"]: row for row in deals}
    gaps = []
    for row in _cancellations(deals):
        original = by_id[row["cancels"]]
        assert original["stage"] == "won" and not original["cancels"]
        assert row["stage"] == "won"
        assert Decimal(row["amount"]) == -Decimal(original["amount"])
        assert row["owner"] == original["owner"]
        assert row["deal_id"] > original["deal_id"]
        gaps.append((_day(row["close_date"])
                     - _day(original["close_date"])).days)
    assert len(set(row["cancels"] for row in _cancellations(deals))) == len(
        gaps)
    assert 90 in gaps and 91 in gaps
    assert any(gap < 90 for gap in gaps) and any(gap > 91 for gap in gaps)


def test_column_splits(deals, roster):
    split = [row for row in deals if row["split_partner"]]
    won = [row for row in _originals(deals) if row["stage"] == "won"]
    assert 0.03 < len(split) / len(won) < 0.07
    for row in split:
        assert row["stage"] == "won"
        assert row["split_partner"] != row["owner"]
        assert roster[row["split_partner"]][0]["role"] == "AE"
        assert row["split_percent"] in ("30", "40", "50")


def test_split_table_sums_to_100_per_deal(data, deals, roster):
    by_id = {row["deal_id"]: row for row in deals}
    shares = defaultdict(list)
    for row in data["splits"]:
        shares[row["deal_id"]].append((row["payee_id"], row["percent"]))
    assert shares
    for deal_id, payees in shares.items():
        deal = by_id[deal_id]
        assert deal["stage"] == "won" and not deal["split_partner"]
        assert payees[0][0] == deal["owner"]
        assert 2 <= len(payees) <= 3
        assert len({payee for payee, _ in payees}) == len(payees)
        assert all(payee in roster for payee, _ in payees)
        assert sum(Decimal(percent) for _, percent in payees) == 100


def test_strategic_accounts_exist_in_deals(data, deals):
    known = {row["account"] for row in deals}
    names = [row["account"] for row in data["strategic_accounts"]]
    assert len(set(names)) == len(names)
    assert set(names) <= known


def _history(data) -> dict[str, list[dict[str, str]]]:
    rows = defaultdict(list)
    for row in data["snapshots"]:
        rows[row["deal_id"]].append(row)
    return rows


def test_bundled_data_is_what_the_generator_writes(paths):
    for name in NAMES:
        bundled = BUNDLED / f"{name}.csv"
        assert bundled.read_bytes() == paths[name].read_bytes(), name


def test_snapshots_are_sorted_and_one_per_deal_and_day(data):
    keys = [(row["snapshot_date"], row["deal_id"])
            for row in data["snapshots"]]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_every_deal_has_a_history_and_cancellations_none(data, deals):
    history = _history(data)
    assert set(history) == {row["deal_id"] for row in _originals(deals)}
    assert 3 * len(deals) < len(data["snapshots"]) < 8 * len(deals)


def test_history_starts_at_creation_and_ends_as_the_ledger(data, deals):
    history = _history(data)
    for deal in _originals(deals):
        rows = history[deal["deal_id"]]
        assert rows[0]["snapshot_date"] == deal["created_date"]
        # A deal opened in the last days of the year has one row only.
        assert rows[0]["stage"] == "discovery" or len(rows) == 1
        last = rows[-1]
        for column in ("stage", "probability", "amount", "close_date"):
            assert last[column] == deal[column], (deal["deal_id"], column)
        if deal["stage"] in ("won", "lost"):
            assert last["snapshot_date"] == deal["close_date"]
            assert all(row["stage"] in OPEN_STAGES for row in rows[:-1])
        else:
            assert last["snapshot_date"] <= "2027-01-31"


def test_stages_only_move_forward_with_their_probability(data):
    expected = {"discovery": "0.1", "proposal": "0.4",
                "negotiation": "0.7", "won": "1", "lost": "0"}
    for rows in _history(data).values():
        stages = [row["stage"] for row in rows if row["stage"] in OPEN_STAGES]
        steps = [OPEN_STAGES.index(stage) for stage in stages]
        assert steps == sorted(steps)
        for row in rows:
            assert row["probability"] == expected[row["stage"]]
            assert MONEY.fullmatch(row["amount"])


def test_won_deals_reach_negotiation_and_lost_ones_stop_early(data, deals):
    history = _history(data)
    reached = defaultdict(list)
    for deal in _originals(deals):
        if deal["stage"] in ("won", "lost"):
            stages = {row["stage"] for row in history[deal["deal_id"]]}
            reached[deal["stage"]].append("negotiation" in stages)
    won, lost = reached["won"], reached["lost"]
    # Short-lived deals are seen only at creation and at the close.
    assert sum(won) / len(won) > 0.6
    assert sum(lost) / len(lost) < 0.2


def test_expected_close_dates_are_pushed_out_and_sometimes_overdue(data):
    moved = overdue = 0
    for rows in _history(data).values():
        closes = [row["close_date"] for row in rows]
        moved += closes[0] != closes[-1]
        overdue += any(row["stage"] in OPEN_STAGES
                       and row["close_date"] < row["snapshot_date"]
                       for row in rows[:-1])
    assert moved > 1000 and overdue > 50


def test_fiscal_year_may_start_in_january(tmp_path):
    paths = generate(tmp_path, deals=300, fiscal_year=2025, fy_start_month=1)
    closes = [_day(row["close_date"]) for row in _read(paths["deals"])]
    assert min(closes) >= date(2025, 1, 1)
    assert max(closes) <= date(2025, 12, 31)
    periods = {row["period"] for row in _read(paths["quotas"])}
    assert periods == {f"FY2025-Q{q}" for q in range(1, 5)}


@pytest.mark.parametrize("arguments", [
    {"deals": 10}, {"fy_start_month": 13}, {"fy_start_month": 0}])
def test_rejects_arguments_it_cannot_use(tmp_path, arguments):
    with pytest.raises(ConfigError):
        generate(tmp_path, **arguments)


def test_command_line_writes_and_lists_the_files(tmp_path, capsys):
    assert main([str(tmp_path), "--seed", "3", "--deals", "250"]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(line).name for line in printed) == sorted(
        f"{name}.csv" for name in NAMES)
    assert len(_read(tmp_path / "deals.csv")) >= 250


def test_command_line_reports_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--deals", "5"])
    assert exit_info.value.code == 2
    assert "at least" in capsys.readouterr().err
