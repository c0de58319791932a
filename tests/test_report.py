"""The HTML dashboard and statements, checked against the report data
they are drawn from: structure, escaping, every figure, the charts and
the absence of anything that would need a network."""

from __future__ import annotations

import doctest
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.report import render_report, render_statement, statement_filename
from engine.report import figures
from engine.report import html as report_html

ROOT = Path(__file__).resolve().parent.parent
TRICKY = 'O\'Brien <Ann> & "Co"'


# -- a report data fixture, shaped as the insights engine returns it ----------


def _deal(deal_id, day, credit, share, **extra):
    return {"deal_id": deal_id, "close_date": day, "credit": credit,
            "counted": credit, "credit_type": "direct", "rule": "owner",
            "share": share, **extra}


def _bands(amounts, pays):
    edges = [("0%", "50%", "0.050", "0.5x base rate"),
             ("50%", "100%", "0.150", "1.5x base rate"),
             ("100%", "150%", "0.20", "2x base rate"),
             ("150%", None, "0.250", "2.5x base rate")]
    return [
        {"from": lo, "to": hi, "rate": rate, "rule": rule, "amount": a,
         "pay": p}
        for (lo, hi, rate, rule), a, p in zip(edges, amounts, pays)
    ]


def _commission(value, attainment, band, rate, amount, deals, **extra):
    trace = {
        "kind": "rate_table", "measure": "bookings", "value": value,
        "method": "marginal", "basis": "attainment", "quota": "200000",
        "quota_source": "per period", "attainment": attainment,
        "band": band, "rate": rate,
        "cap": {"per_period": "60000.00", "rule": "3x target incentive"},
        "cap_applied": False, "uncapped": amount, "unrounded": amount,
        "amount": amount, "role": "AE", "active_days": 89,
        "period_days": 89, "deals": deals,
    }
    trace.update(extra)
    return trace


def _line(period, plan, component, name, amount, trace):
    return {"period": period, "plan_id": plan, "component": component,
            "component_name": name, "amount": amount, "trace": trace}


def _statements():
    ana = [
        _line("FY2026-Q1", "ae-fy2026", "commission", "Commission",
              "50929.18", _commission(
                  "343716.7244", "1.718583622", 4, "0.250", "50929.18",
                  [_deal("D-000314", "2026-02-03", "34121.63", "1706.08"),
                   _deal("D-000348", "2026-02-03", "18545.54", "927.28"),
                   _deal("D-000901", "2026-03-30", "291049.55", "48295.82")],
                  bands=_bands(["100000.0", "100000.0", "100000.0",
                                "43716.7244"],
                               ["5000.0000", "15000.0000", "20000.000",
                                "10929.1811000"]))),
        _line("FY2026-Q1", "ae-fy2026", "platform_spif", "Platform SPIF",
              "500.00", {
                  "kind": "spif", "deals_qualifying": "1", "per_deal": "500",
                  "where": 'type == "new" and product == "platform"',
                  "from": "2026-03-01", "to": "2026-04-30", "amount": "500.00",
                  "role": "AE", "active_days": 89, "period_days": 89,
                  "deals": [_deal("D-001461", "2026-03-28", "18827.39",
                                  "500.00", counted="1")]}),
        _line("FY2026-Q2", "ae-fy2026", "commission", "Commission",
              "18294.27", _commission(
                  "188628.451", "0.943142255", 2, "0.150", "18294.27",
                  [_deal("D-000794", "2026-05-07", "12026.51", "601.33"),
                   _deal("D-001640", "2026-05-13", "176601.941",
                         "17692.94")],
                  bands=_bands(["100000.0", "88628.451", "0", "0"],
                               ["5000.0000", "13294.267650", "0.00",
                                "0.000"]),
                  active_days=92, period_days=92)),
    ]
    ann = [
        _line("FY2026-Q1", "ae-fy2026", "commission", "Commission",
              "4200.00", _commission(
                  "84000", "0.42", 1, "0.050", "4200.00",
                  [_deal("D-000777", "2026-03-02", "11000.00", "550.00",
                         deal_amount="10000.00 EUR"),
                   _deal("D-000778", "2026-03-09", "73000", "3650.00")],
                  bands=_bands(["84000", "0", "0", "0"],
                               ["4200.00", "0", "0", "0"]),
                  ramp="25%", full_quota="800000", proration="0.5",
                  active_days=45, period_days=89, future_fact="kept <b>")),
        _line("FY2026-Q2", "ae-fy2026", "commission", "Commission",
              "25000.00", _commission(
                  "220000", "1.1", 3, "0.20", "25000.00",
                  [_deal("D-001901", "2026-06-30", "220000", "25000.00")],
                  bands=_bands(["100000", "100000", "20000", "0"],
                               ["5000", "15000", "4000", "0"]),
                  cap={"per_period": "60000.00", "rule": "3x target incentive",
                       "per_year": "200000.00", "left_this_year": "170800.00"},
                  active_days=92, period_days=92)),
        _line("FY2026-Q2", "ae-fy2026", "clawback", "Clawback", "-399.67", {
            "kind": "clawback", "window_days": 90, "role": "AE",
            "active_days": 92, "period_days": 92,
            "deals": [{"deal_id": "D-000778", "cancelled_by": "D-001363",
                       "cancelled_on": "2026-05-24", "component": "commission",
                       "share_paid": "399.67", "reversed": "-399.67"}]}),
    ]
    mia = [
        _line("FY2026-Q1", "manager-fy2026", "team_incentive",
              "Team incentive", "21279.08", {
                  "kind": "payout_curve", "measure": "team_bookings",
                  "value": "1927649.096", "quota": "2000000",
                  "quota_source": "sum of the team's quotas",
                  "attainment": "0.963824548", "interpolation": "linear",
                  "payout_percent": "0.945736822",
                  "target_incentive": "22500.00",
                  "team": [{"payee_id": "AE-001", "quota": "200000"},
                           {"payee_id": "AE-002", "quota": "50000"}],
                  "cap": {"per_period": "56250.000",
                          "rule": "2.5x target incentive"},
                  "cap_applied": False, "amount": "21279.08",
                  "uncapped": "21279.07849500000",
                  "unrounded": "21279.07849500000", "role": "Manager",
                  "active_days": 89, "period_days": 89,
                  "deals": [{**_deal("D-000314", "2026-02-03", "34121.63",
                                     "376.66"), "credit_type": "rollup",
                             "rule": "roll-up from AE-001"}]}),
    ]
    sam = [
        _line("FY2026-Q1", "se-fy2026", "technical_win_bonus",
              "Technical win bonus", "1000.00", {
                  "kind": "bonus", "measures": {"technical_wins": "6"},
                  "met": True, "not_from_deals": "1000.00",
                  "when": "technical_wins >= 5", "amount": "1000.00",
                  "role": "SE", "active_days": 89, "period_days": 89,
                  "deals": []}),
    ]
    people = [("AE-001", "Ana Silva", "AE", ana), ("AE-002", TRICKY, "AE", ann),
              ("MGR-1", "Mia Chen", "Manager", mia),
              ("SE/AMER", "Sam Lee", "SE", sam)]
    return [
        {"payee_id": pid, "name": name, "role": role, "currency": "USD",
         "total": str(sum(Decimal(x["amount"]) for x in lines)),
         "lines": lines}
        for pid, name, role, lines in people
    ]


def report_data() -> dict:
    """A report as the insights engine gives it: names with markup in
    them, a negative component, a KPI left undefined, teams and payees
    in the forecast."""
    statements = _statements()
    by_component: dict[tuple, Decimal] = {}
    names = {}
    for statement in statements:
        for line in statement["lines"]:
            key = (line["plan_id"], line["component"])
            by_component[key] = by_component.get(key, 0) + Decimal(line["amount"])
            names[key] = line["component_name"]
    payout = {s["payee_id"]: s["total"] for s in statements}
    attainment = [
        ("AE-001", "Ana Silva", "FY2026-Q1", "343716.7244", "200000",
         "1.718583622"),
        ("AE-001", "Ana Silva", "FY2026-Q2", "188628.451", "200000",
         "0.943142255"),
        ("AE-002", TRICKY, "FY2026-Q1", "84000", "200000", "0.42"),
        ("AE-002", TRICKY, "FY2026-Q2", "220000", "200000", "1.1"),
        ("AE-003", "Ben Okafor", "FY2026-Q1", "150000", "200000", "0.75"),
        ("AE-003", "Ben Okafor", "FY2026-Q2", "300000", "200000", "1.5"),
        ("MGR-1", "Mia Chen", "FY2026-Q1", "1927649.096", "2000000",
         "0.963824548"),
        ("MGR-1", "Mia Chen", "FY2026-Q2", "1600000", "2000000", "0.8"),
    ]
    return {
        "project": 'Acme <Sales> & "Co"',
        "generated_for": {"periods": ["FY2026-Q1", "FY2026-Q2"],
                          "as_of": "2026-07-15"},
        "currency": "USD",
        "periods": ["FY2026-Q1", "FY2026-Q2"],
        "payees": [
            {"payee_id": "AE-001", "name": "Ana Silva", "role": "AE",
             "manager": "MGR-1"},
            {"payee_id": "AE-002", "name": TRICKY, "role": "AE",
             "manager": "MGR-1"},
            {"payee_id": "AE-003", "name": "Ben Okafor", "role": "AE",
             "manager": "MGR-1"},
            {"payee_id": "MGR-1", "name": "Mia Chen", "role": "Manager",
             "manager": None},
            {"payee_id": "SE/AMER", "name": "Sam Lee", "role": "SE",
             "manager": None},
        ],
        "attainment": [
            {"payee_id": p, "name": n, "role": "Manager" if p == "MGR-1"
             else "AE", "period": period, "measure": "bookings",
             "value": v, "quota": q, "attainment": a}
            for p, n, period, v, q, a in attainment
        ],
        "payout_by_component": [
            {"plan_id": plan, "component": component,
             "component_name": names[(plan, component)],
             "amount": str(amount)}
            for (plan, component), amount in by_component.items()
        ],
        "leaderboard": [
            {"rank": 1, "payee_id": "AE-003", "name": "Ben Okafor",
             "role": "AE", "bookings": "450000", "quota": "400000",
             "attainment": "1.125", "payout": "0.00"},
            {"rank": 2, "payee_id": "AE-001", "name": "Ana Silva",
             "role": "AE", "bookings": "532345.1754", "quota": "400000",
             "attainment": "1.3308629385", "payout": payout["AE-001"]},
            {"rank": 3, "payee_id": "AE-002", "name": TRICKY, "role": "AE",
             "bookings": "304000", "quota": "400000", "attainment": "0.76",
             "payout": payout["AE-002"]},
            {"rank": 4, "payee_id": "MGR-1", "name": "Mia Chen",
             "role": "Manager", "bookings": "3527649.096",
             "quota": "4000000", "attainment": "0.881912274",
             "payout": payout["MGR-1"]},
        ],
        "kpi_trends": [
            {"period": "FY2026-Q1", "open_pipeline": "2450000.50",
             "weighted_pipeline": "980000.125", "win_rate": "0.31",
             "average_deal_size": "41234.5678", "cycle_length_days": "47.25",
             "sales_velocity_per_day": None, "average_discount": "0.1125",
             "deals_closed": "57", "productivity": "58823.529411"},
            {"period": "FY2026-Q2", "open_pipeline": "1999999.995",
             "weighted_pipeline": "1100000", "win_rate": "0.285",
             "average_deal_size": "39000", "cycle_length_days": "51",
             "sales_velocity_per_day": "9876.54321",
             "average_discount": "0.1", "deals_closed": "61",
             "productivity": "61000"},
        ],
        "forecast": [
            {"scope": "team", "id": "MGR-1", "name": "Mia Chen",
             "period": "FY2026-Q2", "quota": "2000000", "closed": "1600000",
             "attainment": {"p10": "0.86", "p50": "0.93", "p90": "1.02"},
             "payout": {"p10": "19000.00", "p50": "20500.50",
                        "p90": "22600.00"},
             "below_threshold": False, "overdue_deals": []},
            {"scope": "payee", "id": "AE-001", "name": "Ana Silva",
             "period": "FY2026-Q2", "quota": "200000", "closed": "188628.451",
             "attainment": {"p10": "0.95", "p50": "1.0525", "p90": "1.2"},
             "payout": {"p10": "18700.00", "p50": "21412.345",
                        "p90": "24000.00"},
             "below_threshold": False, "overdue_deals": ["D-002001"]},
            {"scope": "payee", "id": "AE-002", "name": TRICKY,
             "period": "FY2026-Q2", "quota": "200000", "closed": "60000",
             "attainment": {"p10": "0.3", "p50": "0.41", "p90": "0.62"},
             "payout": {"p10": "3000.00", "p50": "4100.00",
                        "p90": "8600.00"},
             "below_threshold": True,
             "overdue_deals": ["D-002002", "D-002003"]},
            {"scope": "payee", "id": "AE-003", "name": "Ben Okafor",
             "period": "FY2026-Q2", "quota": "200000", "closed": "0",
             "attainment": {"p10": "0", "p50": "0.45", "p90": "1.75"},
             "payout": {"p10": "0.00", "p50": "4500.00", "p90": "36250.00"},
             "below_threshold": True, "overdue_deals": []},
        ],
        "coaching": [
            {"payee_id": "AE-002", "name": TRICKY,
             "rule": "pipeline_low_win_rate",
             "title": "Plenty of pipeline, few wins",
             "focus": "Qualify earlier & <close> the strongest deals.",
             "evidence": {"win_rate": {"payee": "0.12", "team": "0.31"},
                          "open_pipeline": {"payee": "820000",
                                            "team": "400000.005"}}},
            {"payee_id": "AE-003", "name": "Ben Okafor",
             "rule": "discount_high", "title": "Discounts far above the team",
             "focus": "Sell on value before price.",
             "evidence": {"average_discount": {"payee": "0.284",
                                               "team": "0.1125"},
                          "cycle_length_days": {"payee": "88",
                                                "team": "47.25"}}},
        ],
        "statements": statements,
    }


# -- reading pages back -------------------------------------------------------

VOID = {"meta", "link", "br", "img", "input", "hr", "wbr"}


class Element:
    def __init__(self, tag, attrs):
        self.tag = tag
        self.attrs = attrs
        self.parts: list[str] = []
        self.children: list[Element] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def find(self, tag=None, cls=None, **attrs) -> list[Element]:
        found = []
        for child in self.children:
            if _matches(child, tag, cls, attrs):
                found.append(child)
            found += child.find(tag, cls, **attrs)
        return found

    def one(self, tag=None, cls=None, **attrs) -> Element:
        found = self.find(tag, cls, **attrs)
        assert len(found) == 1, (tag, cls, attrs, len(found))
        return found[0]


def _matches(element, tag, cls, attrs) -> bool:
    if tag is not None and element.tag != tag:
        return False
    if cls is not None and cls not in element.classes:
        return False
    for name, wanted in attrs.items():
        name = name.replace("_", "-")
        if wanted is True:
            if name not in element.attrs:
                return False
        elif element.attrs.get(name) != wanted:
            return False
    return True


class Tree(HTMLParser):
    """The elements of a page; fails on a tag closed out of order."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]
        self.feed(text)
        self.close()
        assert self.stack == [self.root], [e.tag for e in self.stack]

    def find(self, *args, **kwargs) -> list[Element]:
        return self.root.find(*args, **kwargs)

    def one(self, *args, **kwargs) -> Element:
        return self.root.one(*args, **kwargs)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        assert self.stack[-1].tag == tag, (tag, self.stack[-1].tag)
        self.stack.pop()

    def handle_data(self, data):
        for element in self.stack[1:]:
            element.parts.append(data)


def money(value) -> str:
    """Independent of the code under test: the cent, half away from zero."""
    cents = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    sign = "-" if cents < 0 else ""
    whole, _, fraction = str(abs(cents)).partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{','.join(groups)}.{fraction}"


def pct(value) -> str:
    shown = (Decimal(value) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{shown} %"


def parsed(text: str) -> Decimal:
    """A figure as a page shows it, back to a Decimal."""
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


@pytest.fixture(scope="module")
def data():
    return report_data()


@pytest.fixture(scope="module")
def pages(data):
    return render_report(data)


@pytest.fixture(scope="module")
def dashboard(pages):
    return Tree(pages["index.html"])


# -- the pages ----------------------------------------------------------------


def test_one_dashboard_and_one_statement_per_payee(pages, data):
    expected = {"index.html"} | {
        f"statements/{statement_filename(s['payee_id'])}"
        for s in data["statements"]
    }
    assert set(pages) == expected
    assert "statements/AE-001.html" in pages
    assert not any("/" in name[len("statements/"):] for name in pages
                   if name != "index.html")
    for text in pages.values():
        Tree(text)


def test_statement_file_names_are_safe_and_distinct():
    names = {statement_filename(x) for x in ("a/b", "a_b", "a b", "..", "")}
    assert len(names) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.html", n) for n in names)
    assert not any(n.startswith(".") for n in names)


def test_names_with_markup_are_escaped_everywhere(pages, data):
    for text in pages.values():
        assert "<Ann>" not in text and "<Sales>" not in text
        assert "<close>" not in text and "<b>" not in text
    index = pages["index.html"]
    assert "O&#x27;Brien &lt;Ann&gt; &amp; &quot;Co&quot;" in index
    tree = Tree(index)
    assert tree.one("h1").text == data["project"]
    row = tree.one("tr", data_payee="AE-002")
    assert row.one("td", data_col="name").text == TRICKY
    assert row.one("td", data_col="name").attrs["data-value"] == TRICKY


def test_pages_reference_nothing_outside_themselves(pages):
    external = re.compile(
        r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", re.IGNORECASE
    )
    for name, text in pages.items():
        assert not external.search(text), name
        assert "http://" not in text and "https://" not in text, name
        assert "@import" not in text and "url(" not in text, name
        for element in Tree(text).find():
            for attr in ("src", "href"):
                value = element.attrs.get(attr)
                if value is not None:
                    assert "//" not in value, (name, value)
                    assert value.startswith(("statements/", "data:")), value


def test_statement_links_point_at_written_statements(pages, dashboard):
    links = [a.attrs["href"] for a in dashboard.find("a")]
    assert links
    assert set(links) <= set(pages)
    assert "statements/SE_AMER-" in " ".join(pages)


# -- headline figures ---------------------------------------------------------


def test_headlines_are_derived_from_the_data(dashboard, data):
    total = sum(Decimal(r["amount"]) for r in data["payout_by_component"])
    card = dashboard.one("div", data_figure="total-payout").one(cls="figure")
    assert Decimal(card.attrs["data-value"]) == total
    assert card.text == money(total)

    ratios = sorted(Decimal(r["attainment"]) for r in data["leaderboard"])
    middle = (ratios[1] + ratios[2]) / 2
    card = dashboard.one("div", data_figure="median-attainment")
    assert Decimal(card.one(cls="figure").attrs["data-value"]) == middle
    assert card.one(cls="figure").text == pct(middle)

    below = {r["id"] for r in data["forecast"]
             if r["scope"] == "payee" and r["below_threshold"]}
    card = dashboard.one("div", data_figure="below-threshold")
    assert card.one(cls="figure").text == str(len(below))

    team = next(r for r in data["forecast"] if r["scope"] == "team")
    card = dashboard.one("div", data_figure="forecast-p50")
    assert card.one(cls="figure").text == pct(team["attainment"]["p50"])
    assert money(team["payout"]["p50"]) in card.text


def test_header_names_the_periods_and_the_date(dashboard, data):
    assert dashboard.one("span", data_field="as-of").text == "2026-07-15"
    shown = dashboard.one("span", data_field="periods").text
    assert shown.split(", ") == data["periods"]


# -- charts -------------------------------------------------------------------


def test_attainment_distribution_counts_each_band(dashboard, data):
    chart = dashboard.one("svg", data_chart="attainment-distribution")
    bars = chart.find("rect", cls="bar")
    assert len(bars) == 6
    edges = [Decimal(x) for x in ("0.5", "0.75", "1", "1.25", "1.5")]
    expected = [0] * 6
    for row in data["attainment"]:
        value = Decimal(row["attainment"])
        expected[sum(value >= e for e in edges)] += 1
    assert [int(b.attrs["data-count"]) for b in bars] == expected
    assert sum(expected) == len(data["attainment"])
    heights = [float(b.attrs["height"]) for b in bars]
    tallest = max(range(6), key=lambda i: expected[i])
    assert heights[tallest] == max(heights) > 0
    assert heights[expected.index(0)] == 0


def test_payout_by_component_has_a_bar_per_component(dashboard, data):
    chart = dashboard.one("svg", data_chart="payout-by-component")
    rows = data["payout_by_component"]
    bars = chart.find("rect", cls="bar")
    assert len(bars) == len(rows)
    for row, bar in zip(rows, bars):
        assert bar.attrs["data-component"] == row["component"]
        assert bar.attrs["data-value"] == row["amount"]
        label = chart.one("text", cls="value", data_component=row["component"],
                          data_plan=row["plan_id"])
        assert label.text == money(row["amount"])
        negative = Decimal(row["amount"]) < 0
        assert ("negative" in bar.classes) is negative
    widths = {b.attrs["data-component"]: float(b.attrs["width"]) for b in bars}
    assert widths["commission"] == max(widths.values())


def test_forecast_shows_every_range_against_quota(dashboard, data):
    chart = dashboard.one("svg", data_chart="forecast")
    groups = chart.find("g", cls="range")
    assert len(groups) == len(data["forecast"])
    by_id = {g.attrs["data-id"]: g for g in groups}
    for row in data["forecast"]:
        group = by_id[row["id"]]
        for key in ("p10", "p50", "p90"):
            assert group.attrs[f"data-{key}"] == row["attainment"][key]
        assert len(group.find("circle", cls="point")) == 1
        assert pct(row["attainment"]["p50"]) in group.text
    assert groups[0].attrs["data-scope"] == "team"
    payees = [g.attrs["data-p50"] for g in groups[1:]]
    assert payees == sorted(payees, key=Decimal)
    assert len(chart.find("line", cls="reference")) == 1

    table = dashboard.one("table", id="forecast-table")
    for row in data["forecast"]:
        tr = table.one("tr", data_id=row["id"])
        cell = tr.one("td", data_col="payout-p90")
        assert cell.text == money(row["payout"]["p90"])
        assert ("at-risk" in tr.classes) is row["below_threshold"]
        overdue = tr.one("td", data_col="overdue")
        assert overdue.text == str(len(row["overdue_deals"]))
    summary = dashboard.one("details", cls="overdue").one("summary")
    assert summary.text.endswith(": 3 deals of 2 payees")
    listed = dashboard.one("ul", cls="overdue").find("li")
    assert [li.attrs["data-id"] for li in listed] == ["AE-002", "AE-001"]
    assert [s.text for s in listed[0].find("span", cls="id")] == [
        "D-002002", "D-002003"]


def test_a_forecast_without_quota_is_listed_but_not_drawn(data):
    changed = json.loads(json.dumps(data))
    changed["forecast"].append({
        "scope": "payee", "id": "SE/AMER", "name": "Sam Lee",
        "period": "FY2026-Q2", "quota": None, "closed": None,
        "attainment": None,
        "payout": {"p10": "0.00", "p50": "1000.00", "p90": "2000.00"},
        "below_threshold": False, "overdue_deals": []})
    tree = Tree(render_report(changed)["index.html"])
    chart = tree.one("svg", data_chart="forecast")
    assert len(chart.find("g", cls="range")) == len(data["forecast"])
    rows = tree.one("table", id="forecast-table").find("tr", data_id=True)
    assert rows[-1].attrs["data-id"] == "SE/AMER"
    row = rows[-1]
    assert row.one("td", data_col="attainment-p50").text == "–"
    assert row.one("td", data_col="payout-p50").text == "1,000.00"


def test_kpi_trends_have_a_point_per_defined_value(dashboard, data):
    names = [k for k in data["kpi_trends"][0] if k != "period"]
    charts = dashboard.find("svg", cls="chart")
    kpi_charts = [c for c in charts if c.attrs["data-chart"].startswith("kpi-")]
    assert len(kpi_charts) == len(names)
    for name in names:
        chart = dashboard.one("svg", data_chart=f"kpi-{name}")
        defined = [r for r in data["kpi_trends"] if r[name] is not None]
        points = chart.find("circle", cls="point")
        assert [p.attrs["data-period"] for p in points] == [
            r["period"] for r in defined
        ]
        for row in data["kpi_trends"]:
            cell = dashboard.one("td", data_kpi=name, data_period=row["period"])
            assert cell.attrs["data-value"] == (row[name] or "")
    shown = {
        (name, period): dashboard.one("td", data_kpi=name,
                                      data_period=period).text
        for name in ("sales_velocity_per_day", "win_rate", "deals_closed",
                     "cycle_length_days", "open_pipeline")
        for period in data["periods"]
    }
    assert shown[("sales_velocity_per_day", "FY2026-Q1")] == "–"
    assert shown[("sales_velocity_per_day", "FY2026-Q2")] == "9,876.54 a day"
    assert shown[("win_rate", "FY2026-Q1")] == "31.0 %"
    assert shown[("win_rate", "FY2026-Q2")] == "28.5 %"
    assert shown[("deals_closed", "FY2026-Q1")] == "57"
    assert shown[("cycle_length_days", "FY2026-Q1")] == "47.3 days"
    assert shown[("open_pipeline", "FY2026-Q2")] == money("1999999.995")
    velocity = dashboard.one("svg", data_chart="kpi-sales_velocity_per_day")
    assert "–" in velocity.text
    assert not velocity.find("polyline")


# -- leaderboard and coaching -------------------------------------------------


def test_leaderboard_shows_every_figure(dashboard, data):
    table = dashboard.one("table", id="leaderboard")
    rows = table.find("tr", data_payee=True)
    assert [r.attrs["data-payee"] for r in rows] == [
        r["payee_id"] for r in data["leaderboard"]
    ]
    for row, tr in zip(data["leaderboard"], rows):
        for key in ("bookings", "quota", "payout"):
            cell = tr.one("td", data_col=key)
            assert cell.attrs["data-value"] == row[key]
            assert parsed(cell.text) == Decimal(row[key]).quantize(
                Decimal("0.01"), ROUND_HALF_UP)
        cell = tr.one("td", data_col="attainment")
        assert cell.text == pct(row["attainment"])
        assert tr.one("td", data_col="rank").text == str(row["rank"])
    assert "sortable" in table.classes
    assert len(table.find("th", data_sort=True)) == 7


def test_coaching_flags_show_evidence_against_the_team(dashboard, data):
    flags = dashboard.find("li", cls="flag")
    assert len(flags) == len(data["coaching"])
    first = flags[0]
    assert first.attrs["data-rule"] == "pipeline_low_win_rate"
    win = first.one("li", data_kpi="win_rate")
    assert " ".join(win.text.split()) == "Win rate 12.0 % vs team 31.0 %"
    pipeline = first.one("li", data_kpi="open_pipeline")
    assert "820,000.00" in pipeline.text and "400,000.01" in pipeline.text
    assert "Qualify earlier & <close> the strongest deals." in first.text
    second = flags[1].one("li", data_kpi="cycle_length_days")
    assert " ".join(second.text.split()) == (
        "Cycle length 88.0 days vs team 47.3 days"
    )


# -- statements ---------------------------------------------------------------


def _statement(pages, data, payee):
    statement = next(s for s in data["statements"] if s["payee_id"] == payee)
    return statement, Tree(pages[f"statements/{statement_filename(payee)}"])


def test_statement_explains_every_line_with_its_deals(pages, data):
    statement, tree = _statement(pages, data, "AE-001")
    assert tree.one("h1").text == "Statement for Ana Silva"
    total = tree.one("dd", data_figure="total")
    assert total.text == f"{money(statement['total'])} USD"
    articles = tree.find("article", cls="line")
    assert len(articles) == len(statement["lines"])
    for line, article in zip(statement["lines"], articles):
        assert article.attrs["data-amount"] == line["amount"]
        amount = article.one("span", cls="amount")
        assert amount.text == f"{money(line['amount'])} USD"
        deals = article.find("tr", cls="deal")
        assert [d.attrs["data-deal"] for d in deals] == [
            d["deal_id"] for d in line["trace"]["deals"]
        ]
        for deal, tr in zip(line["trace"]["deals"], deals):
            assert tr.one("td", data_col="share").text == money(deal["share"])
            assert tr.one("td", data_col="credit").text == money(deal["credit"])
            assert tr.one("td", data_col="rule").text == deal["rule"]


def test_statement_shows_measure_quota_attainment_band_rate_and_cap(
    pages, data
):
    statement, tree = _statement(pages, data, "AE-001")
    article = tree.find("article", cls="line")[0]
    trace = statement["lines"][0]["trace"]
    fact = {dd.attrs["data-fact"]: dd.text for dd in article.find("dd")}
    assert fact["measure"] == "bookings"
    assert fact["value"] == "343,716.72"
    assert fact["quota"] == "200,000"
    assert fact["attainment"] == pct(trace["attainment"])
    assert fact["rate"] == "25.0 %"
    assert fact["cap"] == "60,000.00 a period, 3x target incentive"
    assert fact["cap_applied"] == "no"
    assert fact["unrounded"] == "50,929.18"
    explained = article.one("p", cls="explain").text
    assert "an attainment of 171.9 %" in explained
    assert "reached band 4 of 4, at a rate of 25.0 %" in explained
    assert "3 deals below" in explained
    bands = article.one("table", cls="bands").find("tr")[1:]
    assert len(bands) == len(trace["bands"])
    assert ["reached" in b.classes for b in bands] == [False] * 3 + [True]
    assert "10,929.18" in bands[3].text


def test_statement_of_a_ramped_payee_with_a_converted_deal(pages, data):
    statement, tree = _statement(pages, data, "AE-002")
    assert tree.one("h1").text == f"Statement for {TRICKY}"
    first = tree.find("article", cls="line")[0]
    text = first.one("p", cls="explain").text
    assert "Active 45 of the period's 89 days" in text
    assert "50.0 % of the full amounts" in text
    assert "Ramp for a new hire: 25%" in text
    deal = first.one("tr", data_deal="D-000777")
    assert deal.one("td", data_col="deal_amount").text == "10000.00 EUR"
    assert first.one("dd", data_fact="future_fact").text == "kept <b>"

    claw = tree.one("article", data_component="clawback")
    assert claw.one("span", cls="amount").text == "-399.67 USD"
    row = claw.one("tr", data_deal="D-000778")
    assert row.one("td", data_col="cancelled_by").text == "D-001363"
    assert row.one("td", data_col="reversed").text == "-399.67"
    capped = tree.find("article", data_component="commission")[1]
    assert "200,000.00 a year, 170,800.00 left" in capped.one(
        "dd", data_fact="cap").text


def test_statement_year_so_far_adds_up(pages, data):
    statement, tree = _statement(pages, data, "AE-002")
    table = tree.one("table", id="year-so-far")
    for period in data["periods"]:
        row = table.one("tr", data_period=period)
        paid = sum(Decimal(x["amount"]) for x in statement["lines"]
                   if x["period"] == period)
        assert row.one("td", data_col="paid").text == money(paid)
    total = table.one("tr", cls="total").one("td", data_col="paid")
    assert Decimal(total.attrs["data-value"]) == Decimal(statement["total"])
    assert total.text == money(statement["total"])
    sections = [s.attrs["data-period"] for s in tree.find("section")]
    assert sections == data["periods"]


def test_year_so_far_shows_earnings_before_clawbacks(data):
    statement = dict(data["statements"][1])
    statement["lines"] = sorted(statement["lines"],
                                key=lambda x: x["component"])
    assert statement["lines"][0]["component"] == "clawback"
    tree = Tree(render_statement(data, statement))
    heads = [th.text for th in tree.one("table", id="year-so-far").find("th")]
    assert heads == ["Period", "Commission", "Clawback", "Paid (USD)"]


def test_manager_and_bonus_statements(pages, data):
    _, tree = _statement(pages, data, "MGR-1")
    article = tree.one("article", cls="line")
    assert "pays 94.6 % of this period's target incentive of 22,500.00" in (
        article.one("p", cls="explain").text
    )
    team = article.one("table", cls="team")
    assert len(team.find("tr")) == 3
    _, tree = _statement(pages, data, "SE/AMER")
    article = tree.one("article", cls="line")
    assert "The condition technical_wins >= 5 was met." in article.text
    assert article.one("dd", data_fact="measures").text == "technical_wins: 6"


def test_statement_pages_run_no_script(pages):
    for name, text in pages.items():
        if name.startswith("statements/"):
            assert "<script" not in text
            assert "script-src 'none'" in text


def test_a_report_with_nothing_in_it_still_renders():
    empty = {"project": "Empty", "generated_for": {"periods": [],
             "as_of": "2026-01-01"}, "currency": "USD", "periods": [],
             "payees": [], "attainment": [], "payout_by_component": [],
             "leaderboard": [], "kpi_trends": [], "forecast": [],
             "coaching": [], "statements": []}
    pages = render_report(empty)
    assert list(pages) == ["index.html"]
    tree = Tree(pages["index.html"])
    assert len(tree.find("p", cls="empty")) == 5
    bars = tree.one("svg", data_chart="attainment-distribution").find(
        "rect", cls="bar")
    assert [b.attrs["data-count"] for b in bars] == ["0"] * 6


def test_a_statement_without_periods_in_the_report_keeps_its_own(data):
    statement = data["statements"][0]
    text = render_statement({"currency": "USD"}, statement)
    tree = Tree(text)
    periods = [s.attrs["data-period"] for s in tree.find("section")]
    assert periods == ["FY2026-Q1", "FY2026-Q2"]


# -- figures ------------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [
    ("1234567.125", "1,234,567.13"), ("-0.005", "-0.01"), ("0", "0.00"),
    ("1E+3", "1,000.00"), ("12", "12.00"), (None, "–"), ("n/a", "–"),
])
def test_money_rounds_half_away_from_zero(value, shown):
    assert figures.money(value) == shown


@pytest.mark.parametrize("value, shown", [
    ("0.12345", "12.3 %"), ("0.00049", "0.0 %"), ("1.9995", "200.0 %"),
    ("-0.0125", "-1.3 %"), ("2", "200.0 %"),
])
def test_percent_has_one_decimal(value, shown):
    assert figures.percent(value) == shown


@pytest.mark.parametrize("module", [figures, report_html])
def test_examples_in_docstrings_hold(module):
    outcome = doctest.testmod(module)
    assert outcome.attempted > 0 and outcome.failed == 0


def test_a_float_is_never_taken_as_a_figure():
    assert figures.decimal(0.1) is None
    assert figures.money(0.1) == "–"


# -- the command --------------------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "attain.yaml").write_text(
        "kind: project\nname: Report test\nplans: [plans]\n"
        "data:\n  deals: {connector: csv, path: deals.csv}\n"
        "  roster: {connector: csv, path: roster.csv}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    asked = {}

    def fake(project_path, periods, as_of):
        asked.update(path=project_path, periods=periods, as_of=as_of)
        return report_data()

    monkeypatch.setattr("engine.cli_report._report_data", fake)
    return tmp_path, asked


def test_report_command_writes_every_page_and_prints_the_paths(project):
    folder, asked = project
    result = CliRunner().invoke(
        cli, ["report", "--period", "FY2026-Q1", "--as-of", "2026-05-01"]
    )
    assert result.exit_code == 0, result.output
    assert asked["periods"] == ["FY2026-Q1"]
    assert str(asked["as_of"]) == "2026-05-01"
    assert asked["path"].resolve() == (folder / "attain.yaml").resolve()
    printed = result.stdout.split()
    data = report_data()
    assert len(printed) == 1 + len(data["statements"])
    assert Path(printed[0]) == folder / "report" / "index.html"
    for path in printed:
        assert Path(path).is_file()
    written = {p.relative_to(folder / "report").as_posix()
               for p in (folder / "report").rglob("*") if p.is_file()}
    assert written == set(render_report(data))
    page = (folder / "report" / "statements" / "AE-001.html").read_text(
        encoding="utf-8")
    assert page == render_report(data)["statements/AE-001.html"]


def test_report_command_json_prints_the_data(project):
    folder, _ = project
    result = CliRunner().invoke(cli, ["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == report_data()
    assert not (folder / "report").exists()


def test_report_command_writes_nothing_when_a_page_fails(project,
                                                         monkeypatch):
    folder, _ = project
    out = folder / "elsewhere"
    calls = []

    def failing_stage(path, text):
        if calls:
            raise OSError(28, "No space left on device")
        calls.append(path)
        return real_stage(path, text)

    from engine import cli_report

    real_stage = cli_report._stage
    monkeypatch.setattr(cli_report, "_stage", failing_stage)
    result = CliRunner().invoke(cli, ["report", "--out", str(out)])
    assert result.exit_code == 1
    assert "No space left on device" in result.output
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_report_on_the_sample_project(tmp_path):
    project = str(ROOT / "attain.yaml")
    asked = ["--project", project, "report", "--as-of", "2026-09-15"]
    result = CliRunner().invoke(cli, [*asked, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["generated_for"]["as_of"] == "2026-09-15"
    assert data["statements"] and data["leaderboard"] and data["forecast"]

    result = CliRunner().invoke(cli, [*asked, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    expected = render_report(data)
    written = {
        p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8")
        for p in tmp_path.rglob("*.html")
    }
    assert written == expected
    assert len(result.stdout.split()) == 1 + len(data["statements"])

    tree = Tree(written["index.html"])
    total = sum(Decimal(r["amount"]) for r in data["payout_by_component"])
    card = tree.one("div", data_figure="total-payout").one(cls="figure")
    assert card.text == money(total)
    chart = tree.one("svg", data_chart="payout-by-component")
    assert len(chart.find("rect", cls="bar")) == len(
        data["payout_by_component"])
    for row in data["leaderboard"]:
        tr = tree.one("tr", data_payee=row["payee_id"])
        assert tr.one("td", data_col="payout").text == money(row["payout"])
        assert tr.one("td", data_col="attainment").text == pct(
            row["attainment"])
