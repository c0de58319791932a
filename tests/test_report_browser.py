"""The report in a real headless Chromium, as a manager and a seller open
it: no console errors, every chart drawn, and the figures on screen
equal to the report data.

Chromium and its driver come from Debian's packages (scripts/test
installs them). Selenium is pointed at both explicitly, so it never
tries to download a browser or a driver of its own.
"""

from __future__ import annotations

import os
import struct
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from test_report import money, pct, report_data

from engine.report import render_report, statement_filename

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER)
               if not os.access(p, os.X_OK)]
    if not missing:
        return
    message = (
        f"{' and '.join(missing)} not found: scripts/test installs "
        "Chromium and its driver from Debian's packages (chromium, "
        "chromium-driver)."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("Selenium is missing: install the test extras, "
                    "pip install -e '.[test]' (scripts/test does).")

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tmp_path_factory.mktemp("chromium-profile")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=Service(str(CHROMEDRIVER)), options=options
    )
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def data():
    return report_data()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, data):
    return _write(tmp_path_factory.mktemp("report"), render_report(data))


def _write(folder: Path, pages: dict[str, str]) -> Path:
    for name, text in pages.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def _open(browser, path: Path) -> None:
    browser.get(path.as_uri())
    browser.get_log("browser")  # what an earlier page left behind
    browser.refresh()


def _severe(browser) -> list[dict]:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _js(browser, script: str, *args):
    return browser.execute_script(script, *args)


def _cent(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _shown(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("%", "").split()[0])


_CHART_SIZES = """
return Array.from(document.querySelectorAll("svg.chart")).map(function (s) {
  var box = s.getBoundingClientRect();
  return [s.getAttribute("data-chart"), box.width, box.height,
          s.querySelectorAll("rect.bar").length,
          s.querySelectorAll("circle.point").length,
          s.querySelectorAll("g.range").length];
});
"""


# -- the dashboard ------------------------------------------------------------


def test_dashboard_loads_with_no_console_error(browser, folder, data):
    _open(browser, folder / "index.html")
    assert _severe(browser) == []
    assert browser.title == f"{data['project']}: sales performance"
    heading = browser.find_element("css selector", "h1").text
    assert heading == data["project"]


def test_every_chart_is_drawn_with_its_marks(browser, folder, data):
    _open(browser, folder / "index.html")
    charts = {name: rest for name, *rest in _js(browser, _CHART_SIZES)}
    kpis = [k for k in data["kpi_trends"][0] if k != "period"]
    assert set(charts) == {
        "attainment-distribution", "payout-by-component", "forecast",
        *(f"kpi-{k}" for k in kpis),
    }
    for name, (width, height, *_) in charts.items():
        assert width > 100 and height > 50, name
    assert charts["attainment-distribution"][2] == 6
    assert charts["payout-by-component"][2] == len(
        data["payout_by_component"])
    assert charts["forecast"][3] == charts["forecast"][4] == len(
        data["forecast"])
    for kpi in kpis:
        defined = [r for r in data["kpi_trends"] if r[kpi] is not None]
        assert charts[f"kpi-{kpi}"][3] == len(defined), kpi
    bars = _js(browser, """
      return Array.from(document.querySelectorAll(
        'svg[data-chart="payout-by-component"] rect.bar'))
        .map(function (r) { return r.getBoundingClientRect().width; });""")
    assert all(width > 0 for width in bars)


def test_headline_figures_equal_the_data(browser, folder, data):
    _open(browser, folder / "index.html")
    shown = dict(_js(browser, """
      return Array.from(document.querySelectorAll("[data-figure]"))
        .map(function (c) {
          return [c.getAttribute("data-figure"),
                  c.querySelector(".figure").innerText]; });"""))
    total = sum(Decimal(r["amount"]) for r in data["payout_by_component"])
    assert _shown(shown["total-payout"]) == _cent(total)
    team = next(r for r in data["forecast"] if r["scope"] == "team")
    assert shown["forecast-p50"] == pct(team["attainment"]["p50"])
    below = {r["id"] for r in data["forecast"] if r["below_threshold"]}
    assert shown["below-threshold"] == str(len(below))


def test_leaderboard_and_payout_labels_equal_the_data(browser, folder, data):
    _open(browser, folder / "index.html")
    cells = _js(browser, """
      return Array.from(document.querySelectorAll(
        "#leaderboard tbody tr")).map(function (tr) {
          var out = {payee: tr.getAttribute("data-payee")};
          tr.querySelectorAll("td[data-col]").forEach(function (td) {
            out[td.getAttribute("data-col")] = td.innerText.trim(); });
          return out; });""")
    assert [c["payee"] for c in cells] == [
        r["payee_id"] for r in data["leaderboard"]
    ]
    for row, cell in zip(data["leaderboard"], cells):
        for key in ("bookings", "quota", "payout"):
            assert _shown(cell[key]) == _cent(row[key]), (row, key)
        assert cell["attainment"] == pct(row["attainment"])
        assert cell["name"] == row["name"]

    labels = _js(browser, """
      return Array.from(document.querySelectorAll(
        'svg[data-chart="payout-by-component"] text.value'))
        .map(function (t) { return [t.getAttribute("data-component"),
                                    t.textContent]; });""")
    assert labels == [
        [r["component"], money(r["amount"])]
        for r in data["payout_by_component"]
    ]


def test_forecast_and_kpi_figures_equal_the_data(browser, folder, data):
    _open(browser, folder / "index.html")
    table = _js(browser, """
      return Array.from(document.querySelectorAll(
        "#forecast-table tbody tr")).map(function (tr) {
          var out = {id: tr.getAttribute("data-id")};
          tr.querySelectorAll("td[data-col]").forEach(function (td) {
            out[td.getAttribute("data-col")] = td.innerText.trim(); });
          return out; });""")
    by_id = {row["id"]: row for row in table}
    for row in data["forecast"]:
        shown = by_id[row["id"]]
        for key in ("p10", "p50", "p90"):
            assert shown[f"attainment-{key}"] == pct(row["attainment"][key])
            assert _shown(shown[f"payout-{key}"]) == _cent(row["payout"][key])
        assert _shown(shown["quota"]) == _cent(row["quota"])

    kpis = _js(browser, """
      return Array.from(document.querySelectorAll("td[data-kpi]"))
        .map(function (td) { return [td.getAttribute("data-kpi"),
          td.getAttribute("data-period"), td.innerText.trim()]; });""")
    rows = {r["period"]: r for r in data["kpi_trends"]}
    assert len(kpis) == sum(len(r) - 1 for r in data["kpi_trends"])
    for kpi, period, text in kpis:
        value = rows[period][kpi]
        if value is None:
            assert text == "–"
        elif kpi in ("win_rate", "average_discount"):
            assert text == pct(value)
        elif kpi == "deals_closed":
            assert text == str(Decimal(value).quantize(Decimal(1)))
        else:
            assert _shown(text) == Decimal(value).quantize(
                Decimal("0.1") if "days" in kpi else Decimal("0.01"),
                ROUND_HALF_UP,
            ), (kpi, period)


def test_coaching_evidence_reads_against_the_team(browser, folder, data):
    _open(browser, folder / "index.html")
    items = browser.find_elements("css selector", "li.flag")
    assert len(items) == len(data["coaching"])
    win = items[0].find_element("css selector", 'li[data-kpi="win_rate"]')
    assert win.text == "Win rate 12.0 % vs team 31.0 %"
    assert "Qualify earlier & <close>" in items[0].text


def test_clicking_a_heading_sorts_the_leaderboard(browser, folder, data):
    _open(browser, folder / "index.html")
    order = """return Array.from(document.querySelectorAll(
      "#leaderboard tbody tr")).map(function (tr) {
        return tr.getAttribute("data-payee"); });"""
    heading = browser.find_element(
        "xpath", "//table[@id='leaderboard']//th[.//button[text()='Bookings']]"
    )
    by_bookings = sorted(data["leaderboard"],
                         key=lambda r: Decimal(r["bookings"]))
    heading.find_element("css selector", "button").click()
    assert _js(browser, order) == [r["payee_id"] for r in by_bookings][::-1]
    assert heading.get_attribute("aria-sort") == "descending"
    heading.find_element("css selector", "button").click()
    assert _js(browser, order) == [r["payee_id"] for r in by_bookings]
    assert heading.get_attribute("aria-sort") == "ascending"
    assert _severe(browser) == []


def test_a_name_opens_the_statement(browser, folder):
    _open(browser, folder / "index.html")
    browser.find_element("link text", "Ana Silva").click()
    assert browser.current_url.endswith("/statements/AE-001.html")
    assert browser.find_element("css selector", "h1").text == (
        "Statement for Ana Silva"
    )
    assert _severe(browser) == []


def test_screenshot_of_the_dashboard_is_a_real_picture(browser, folder,
                                                       tmp_path):
    _open(browser, folder / "index.html")
    height = _js(browser, "return document.documentElement.scrollHeight;")
    browser.set_window_size(1280, min(int(height) + 40, 5000))
    shot = tmp_path / "dashboard.png"
    try:
        assert browser.save_screenshot(str(shot))
    finally:
        browser.set_window_size(1280, 900)
    raw = shot.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, tall = struct.unpack(">II", raw[16:24])
    assert width >= 1000 and tall > 1500
    # A blank page compresses to a few kilobytes; charts and tables don't.
    assert len(raw) > 60_000


# -- a statement --------------------------------------------------------------


def test_statement_shows_each_line_and_deal_as_in_the_data(browser, folder,
                                                           data):
    statement = next(s for s in data["statements"]
                     if s["payee_id"] == "AE-002")
    _open(browser, folder / "statements" / statement_filename("AE-002"))
    assert _severe(browser) == []
    total = browser.find_element("css selector", 'dd[data-figure="total"]')
    assert _shown(total.text) == _cent(statement["total"])

    lines = _js(browser, """
      return Array.from(document.querySelectorAll("article.line"))
        .map(function (a) {
          var box = a.getBoundingClientRect();
          return {amount: a.querySelector(".amount").innerText,
                  visible: box.width > 0 && box.height > 0,
                  shares: Array.from(a.querySelectorAll(
                    'tr.deal td[data-col="share"]')).map(
                      function (td) { return td.innerText; })}; });""")
    assert len(lines) == len(statement["lines"])
    for line, shown in zip(statement["lines"], lines):
        assert shown["visible"]
        assert _shown(shown["amount"]) == _cent(line["amount"])
        expected = [d["share"] for d in line["trace"]["deals"] if "share" in d]
        assert [_shown(s) for s in shown["shares"]] == [
            _cent(s) for s in expected
        ]


# -- the sample project, end to end -------------------------------------------


def test_sample_project_report_in_the_browser(browser, tmp_path):
    from engine.insights.report_data import build_report_data

    data = build_report_data(ROOT / "attain.yaml")
    folder = _write(tmp_path, render_report(data))

    _open(browser, folder / "index.html")
    assert _severe(browser) == []
    charts = {name: rest for name, *rest in _js(browser, _CHART_SIZES)}
    for name, (width, height, *_) in charts.items():
        assert width > 100 and height > 50, name
    assert charts["payout-by-component"][2] == len(
        data["payout_by_component"])
    payouts = _js(browser, """
      return Array.from(document.querySelectorAll(
        '#leaderboard td[data-col="payout"]')).map(
          function (td) { return td.innerText; });""")
    assert [_shown(p) for p in payouts] == [
        _cent(r["payout"]) for r in data["leaderboard"]
    ]

    first = data["statements"][0]
    _open(browser, folder / "statements" /
          statement_filename(first["payee_id"]))
    assert _severe(browser) == []
    total = browser.find_element("css selector", 'dd[data-figure="total"]')
    assert _shown(total.text) == _cent(first["total"])
