"""The frame every report page shares: head, style and an optional script.

A page is one file that opens with no network: its style and script are
inline, and its content security policy forbids loading anything else,
so a stray external reference fails loudly instead of leaking a request.
"""

from __future__ import annotations

from html import escape

_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src {script}; img-src data:; base-uri 'none'; form-action 'none'"
)

STYLE = """
:root {
  --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --soft: #f5f7fa;
  --accent: #1d4ed8; --bar: #3b82f6; --done: #bfdbfe; --bad: #b91c1c;
  --good: #047857; --warn: #b45309;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
    "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header.page { border-bottom: 2px solid var(--ink); margin-bottom: 20px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 10px; }
h3 { font-size: 1rem; margin: 18px 0 6px; }
p.meta, p.note, .muted { color: var(--muted); }
p.meta { margin: 0 0 12px; }
.cards {
  display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fit, minmax(200px, 1fr));
}
.card {
  border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  background: var(--soft); break-inside: avoid;
}
.card .label { color: var(--muted); font-size: .85rem; }
.card .figure { font-size: 1.5rem; font-weight: 650; }
.card .detail { color: var(--muted); font-size: .85rem; }
svg.chart { width: 100%; height: auto; max-width: 100%; display: block; }
svg.chart text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto,
  Arial, sans-serif; fill: var(--ink); }
svg.chart text.tick, svg.chart text.label { fill: var(--muted); }
svg.chart rect.bar { fill: var(--bar); }
svg.chart rect.bar.negative { fill: var(--bad); }
svg.chart rect.done { fill: var(--done); }
svg.chart line.axis { stroke: var(--ink); stroke-width: 1; }
svg.chart line.grid { stroke: var(--line); stroke-width: 1; }
svg.chart line.reference { stroke: var(--ink); stroke-dasharray: 4 3; }
svg.chart line.span { stroke: var(--accent); stroke-width: 3;
  stroke-linecap: round; opacity: .55; }
svg.chart circle.point { fill: var(--accent); }
svg.chart g.emphasis text.label { fill: var(--ink); font-weight: 650; }
svg.chart polyline.trend { fill: none; stroke: var(--accent);
  stroke-width: 2; }
.kpis { display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); }
.kpis figure { margin: 0; border: 1px solid var(--line);
  border-radius: 8px; padding: 8px 10px; break-inside: avoid; }
.kpis figcaption { font-weight: 600; }
.scroll { overflow-x: auto; }
.wide svg.chart { min-width: 700px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line);
  text-align: left; vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
tr.total td { font-weight: 650; border-top: 2px solid var(--ink); }
tr.reached td { background: #eff6ff; font-weight: 600; }
tr.at-risk td:first-child { border-left: 3px solid var(--bad); }
th[data-sort] button { all: inherit; cursor: pointer; padding: 0; }
th[aria-sort="descending"] button::after { content: " ▼"; }
th[aria-sort="ascending"] button::after { content: " ▲"; }
.meter { display: inline-block; width: 70px; height: 8px;
  background: var(--line); border-radius: 4px; margin-left: 6px;
  vertical-align: middle; overflow: hidden; }
.meter span { display: block; height: 100%; background: var(--bar); }
.meter span.over { background: var(--good); }
.badge { display: inline-block; font-size: .75rem; padding: 0 6px;
  border-radius: 9px; background: #fee2e2; color: var(--bad);
  margin-left: 6px; white-space: nowrap; }
ul.flags { list-style: none; padding: 0; display: grid; gap: 10px;
  grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); }
li.flag { border: 1px solid var(--line); border-left: 4px solid var(--warn);
  border-radius: 6px; padding: 10px 12px; break-inside: avoid; }
li.flag .who { font-weight: 650; }
li.flag ul { margin: 4px 0; padding-left: 18px; }
li.flag .focus { margin: 4px 0 0; }
article.line { border: 1px solid var(--line); border-radius: 8px;
  padding: 4px 16px 8px; margin: 12px 0; break-inside: avoid-page; }
article.line h3 { display: flex; justify-content: space-between; gap: 12px; }
dl.facts { display: grid; gap: 2px 16px; margin: 8px 0;
  grid-template-columns: max-content minmax(0, 1fr) max-content minmax(0, 1fr);
}
header.page dl.facts { grid-template-columns: max-content minmax(0, 1fr); }
table.mini { margin: 2px 0 0; font-size: .85rem; }
table.mini th, table.mini td { padding: 1px 4px; border: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table.team { width: auto; min-width: 260px; }
a { color: var(--accent); }
span.id { white-space: nowrap; }
ul.overdue { font-size: .85rem; padding-left: 18px; }
#forecast-table { font-size: .85rem; }
#forecast-table th, #forecast-table td { padding: 4px 6px; }
details.overdue summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 40px; color: var(--muted); font-size: .8rem; }
@media (max-width: 640px) {
  body { font-size: 14px; }
  dl.facts { grid-template-columns: max-content minmax(0, 1fr); }
}
@media print {
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  th[data-sort] button::after { content: ""; }
  section { break-inside: avoid-page; }
}
"""


def page(title: str, body: list[str], script: str | None = None) -> str:
    """A whole HTML document around ``body``; ``title`` is plain text."""
    policy = _POLICY.format(
        script="'unsafe-inline'" if script else "'none'"
    )
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        '<meta name="viewport" content="width=device-width, '
        'initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    tail = ["</main>"]
    if script:
        tail.append(f"<script>{script}</script>")
    tail += ["</body>", "</html>", ""]
    return "\n".join(head + body + tail)


# Sorts a table by the column whose heading is clicked, by each cell's
# data-value when it is a number, else by its text. Rows without a
# body, or headings without data-sort, are left alone.
SORT_SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var raw = cell ? cell.getAttribute("data-value") : null;
    var n = raw === null || raw === "" ? NaN : Number(raw);
    if (!isNaN(n)) { return n; }
    return cell ? cell.textContent.trim().toLowerCase() : "";
  }
  function compare(x, y) {
    if (typeof x === typeof y) { return x < y ? -1 : (x > y ? 1 : 0); }
    return typeof x === "number" ? -1 : 1;
  }
  var headings = document.querySelectorAll("table.sortable th[data-sort]");
  Array.prototype.forEach.call(headings, function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table");
      var body = table && table.tBodies[0];
      if (!body) { return; }
      var index = th.cellIndex;
      var down = th.getAttribute("aria-sort") !== "descending";
      Array.prototype.forEach.call(
        table.querySelectorAll("th[aria-sort]"),
        function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", down ? "descending" : "ascending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var order = compare(key(a.cells[index]), key(b.cells[index]));
        return down ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""
