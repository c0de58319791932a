"""Every validation finding, with its code, line and column.

Each case writes a small plan file, loads it and checks that the finding
points at the right place, the way a comp admin's editor would show it.
"""

import re
import textwrap
from pathlib import Path

import pytest

from engine.loader import load_catalog

BASE = """\
kind: plan
id: ae
name: AE plan
currency: USD
period: quarter
effective:
  from: 2026-01-01
  to: 2026-12-31
participants:
  roles: [AE]
target_incentive: 80000
measures:
  bookings:
    sum: credit
    where: type == "new"
quotas:
  bookings:
    per_period: 200000
components:
  commission:
    rate_table:
      measure: bookings
      bands:
        - {from: 0%, to: 100%, rate: 10%}
        - {from: 100%, rate: 1.5x base rate}
"""


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def findings(tmp_path, *texts, **kw):
    paths = [write(tmp_path, t, f"f{i}.yaml") for i, t in enumerate(texts)]
    return load_catalog(paths, **kw).findings


def where(found, code):
    hits = [f for f in found if f.code == code]
    assert hits, f"no {code} in {[str(f) for f in found]}"
    f = hits[0]
    return f.location.line, f.location.column, f


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_the_base_plan_is_valid(tmp_path):
    assert findings(tmp_path, BASE) == []


@pytest.mark.parametrize(
    "old, new, code, line, column",
    [
        ("    sum: credit\n", "    sum: credit\n    filter: x\n",
         "E-UNKNOWN-KEY", 15, 5),
        ("name: AE plan\n", "", "E-MISSING-KEY", 1, 1),
        ("    sum: credit\n", "    sum: credit\n    count: deals\n",
         "E-ONE-OF", 15, 5),
        ("from: 2026-01-01", "from: 2026-02-30", "E-DATE", 7, 9),
        ("period: quarter", "period: quartre", "E-ENUM", 5, 9),
        ("target_incentive: 80000", "target_incentive: [1]", "E-TYPE",
         11, 19),
        ("currency: USD", "currency: usd", "E-FORMAT", 4, 11),
        ("roles: [AE]", "roles: []", "E-EMPTY", 10, 10),
        ("target_incentive: 80000", "target_incentive: -5", "E-RANGE",
         11, 19),
        ("rate: 10%}", "rate: ten}", "E-VALUE", 24, 38),
    ],
)
def test_schema_findings(tmp_path, old, new, code, line, column):
    found = findings(tmp_path, edit(old, new))
    assert where(found, code)[:2] == (line, column)


def test_unknown_key_suggests_the_right_one(tmp_path):
    found = findings(tmp_path, edit("    sum: credit\n",
                                    "    sum: credit\n    wher: x\n"))
    message = where(found, "E-UNKNOWN-KEY")[2].message
    assert "Did you mean 'where'?" in message


def test_norway_stays_a_string(tmp_path):
    text = edit('where: type == "new"', 'where: country == "NO"')
    assert findings(tmp_path, text) == []


def test_yaml_syntax_error_has_its_line(tmp_path):
    text = edit("  roles: [AE]\n", "  roles: [AE\n")
    line, column, finding = where(findings(tmp_path, text), "E-YAML")
    assert line == 11


def test_a_plan_must_be_a_mapping(tmp_path):
    assert where(findings(tmp_path, "- 1\n- 2\n"), "E-DOCUMENT")[:2] == (1, 1)


@pytest.mark.parametrize(
    "expression, code, column",
    [
        ('type == "new" and', "E-EXPR-SYNTAX", 12),
        ("type.upper == 'NEW'", "E-EXPR-FORBIDDEN", 12),
        ("type.upper() == 'NEW'", "E-EXPR-FUNCTION", 12),
        ('__import__("os").system("id")', "E-EXPR-FUNCTION", 12),
        ("amount ** 99999999", "E-EXPR-FORBIDDEN", 12),
        ('"[x for x in (1, 2)]"', "E-EXPR-FORBIDDEN", 12),
        ("amount > " + " + ".join(["1"] * 150), "E-EXPR-TOO-LONG", 12),
        ("amount > " + " + ".join(["1"] * 400), "E-TOO-LONG", 12),
    ],
)
def test_forbidden_and_broken_expressions(tmp_path, expression, code, column):
    text = edit('where: type == "new"', f"where: {expression}")
    line, col, _ = where(findings(tmp_path, text), code)
    assert line == 15
    assert col >= column


def test_expression_offset_points_inside_a_quoted_string(tmp_path):
    text = edit('where: type == "new"', "where: 'type == \"new\" or .'")
    line, col, _ = where(findings(tmp_path, text), "E-EXPR-SYNTAX")
    assert (line, col) == (15, 30)


def test_unknown_field_with_suggestion(tmp_path):
    text = edit('where: type == "new"', 'where: regoin == "EMEA"')
    line, col, finding = where(findings(tmp_path, text), "E-UNKNOWN-NAME")
    assert (line, col) == (15, 12)
    assert "Did you mean 'region'?" in finding.message


def test_declared_deal_field_is_known(tmp_path):
    text = edit('where: type == "new"', "where: tech_win") + (
        "deal_fields:\n  tech_win: boolean\n"
    )
    assert findings(tmp_path, text) == []


def test_unknown_measure_with_suggestion(tmp_path):
    text = edit("      measure: bookings", "      measure: booking")
    line, col, finding = where(findings(tmp_path, text), "E-UNKNOWN-MEASURE")
    assert (line, col) == (22, 16)
    assert "Did you mean 'bookings'?" in finding.message


@pytest.mark.parametrize(
    "bands, code, line",
    [
        ("- {from: 0%, to: 90%, rate: 10%}\n        - {from: 100%, rate: 15%}",
         "E-BAND-GAP", 25),
        ("- {from: 0%, to: 110%, rate: 10%}\n        - {from: 100%, rate: 15%}",
         "E-BAND-OVERLAP", 25),
        ("- {from: 10%, to: 100%, rate: 10%}\n        - {from: 100%, rate: 15%}",
         "E-BAND-GAP", 24),
        ("- {from: 0%, to: 100%, rate: 10%}\n        - {from: 100%, to: 200%, rate: 15%}",
         "E-BAND-GAP", 25),
        ("- {from: 0%, to: 100%, rate: 10%}\n        - {from: 100%, to: 50%, rate: 15%}",
         "E-BAND-ORDER", 25),
        ("- {from: 100%, rate: 15%}\n        - {from: 0%, to: 100%, rate: 10%}",
         "E-BAND-ORDER", 24),
    ],
)
def test_band_layout(tmp_path, bands, code, line):
    text = edit(
        "- {from: 0%, to: 100%, rate: 10%}\n"
        "        - {from: 100%, rate: 1.5x base rate}",
        bands,
    )
    assert where(findings(tmp_path, text), code)[0] == line


def test_base_rate_needs_target_incentive(tmp_path):
    text = edit("target_incentive: 80000\n", "")
    assert where(findings(tmp_path, text), "E-NO-BASE-RATE")[0] == 23


def test_attainment_needs_a_quota(tmp_path):
    text = edit("quotas:\n  bookings:\n    per_period: 200000\n", "")
    assert where(findings(tmp_path, text), "E-NO-QUOTA")[0] == 19


def test_formula_cycle(tmp_path):
    text = edit("quotas:", "  a:\n    formula: b + 1\n  b:\n    formula: a * 2\n"
                "quotas:")
    assert where(findings(tmp_path, text), "E-MEASURE-CYCLE")[0] == 17


def test_seasonality_must_fit_the_periods(tmp_path):
    text = edit("per_period: 200000",
                "annual: 800000\n    seasonality: [50%, 50%]")
    assert where(findings(tmp_path, text), "E-SEASONALITY")[0] == 19


def test_seasonality_must_add_up(tmp_path):
    text = edit("per_period: 200000",
                "annual: 800000\n    seasonality: [20%, 20%, 20%, 20%]")
    assert where(findings(tmp_path, text), "E-SEASONALITY")[0] == 19


def test_unknown_crediting_reference(tmp_path):
    text = edit("target_incentive", "crediting: new-busines\ntarget_incentive")
    found = findings(tmp_path, text, CREDITING, TERRITORIES)
    hits = [f for f in found if f.code == "E-UNKNOWN-REF"
            and f.location.file.endswith("f0.yaml")]
    assert [f.location.line for f in hits] == [11]
    assert "Did you mean 'new-business'?" in hits[0].message


CREDITING = """\
kind: crediting
id: new-business
overlays:
  - name: SE
    territories: se-teritories
"""

TERRITORIES = """\
kind: territories
id: se-territories
match: first
rules:
  - name: EMEA
    when: region == "EMEA"
    payees: [SE-EMEA]
  - name: Rest
    payees: [SE-APAC]
  - name: Never
    when: region == "NA"
    payees: [SE-AMER]
  - name: Also EMEA
    when: region == "EMEA"
    payees: [SE-X]
"""


def test_unknown_territory_reference(tmp_path):
    found = findings(tmp_path, CREDITING, TERRITORIES)
    line, col, finding = where(found, "E-UNKNOWN-REF")
    assert (line, col) == (5, 18)
    assert "Did you mean 'se-territories'?" in finding.message


def test_rules_after_a_catch_all_never_fire(tmp_path):
    found = findings(tmp_path, TERRITORIES)
    hits = [f for f in found if f.code == "W-RULE-NEVER-FIRES"]
    assert [f.location.line for f in hits] == [10, 13]
    assert all(f.severity == "warning" for f in hits)


def test_duplicate_condition_never_fires(tmp_path):
    text = TERRITORIES.replace("  - name: Rest\n    payees: [SE-APAC]\n", "")
    hits = [f for f in findings(tmp_path, text)
            if f.code == "W-RULE-NEVER-FIRES"]
    assert [f.location.line for f in hits] == [11]
    assert "same condition" in hits[0].message


def test_unknown_payee_with_a_roster(tmp_path):
    found = findings(tmp_path, TERRITORIES,
                     payees={"SE-EMEA", "SE-APAC", "SE-AMER"})
    line, col, finding = where(found, "E-UNKNOWN-PAYEE")
    assert (line, col) == (15, 14)


def test_duplicate_ids(tmp_path):
    found = findings(tmp_path, TERRITORIES, TERRITORIES)
    assert where(found, "E-DUPLICATE-ID")[0] == 2


def test_same_plan_version_twice(tmp_path):
    found = findings(tmp_path, BASE, BASE)
    assert where(found, "E-DUPLICATE-ID")[2].severity == "error"


def test_plan_versions_must_not_overlap(tmp_path):
    later = edit("from: 2026-01-01\n  to: 2026-12-31",
                 "from: 2026-07-01", BASE) + "version: 2\n"
    found = findings(tmp_path, BASE, later)
    line, col, _ = where(found, "E-VERSION-OVERLAP")
    assert (line, col) == (7, 9)


def test_plan_versions_that_follow_each_other(tmp_path):
    first = edit("to: 2026-12-31", "to: 2026-06-30")
    second = edit("from: 2026-01-01\n  to: 2026-12-31",
                  "from: 2026-07-01") + "version: 2\n"
    assert findings(tmp_path, first, second) == []


def test_plan_that_ends_before_it_starts(tmp_path):
    text = edit("to: 2026-12-31", "to: 2025-12-31")
    assert where(findings(tmp_path, text), "E-DATES")[0] == 8


def test_unused_measure_warning(tmp_path):
    text = edit("quotas:", "  deals:\n    count: deals\nquotas:")
    line, _, finding = where(findings(tmp_path, text), "W-UNUSED-MEASURE")
    assert line == 17 and finding.severity == "warning"


CURVE = edit(
    """    rate_table:
      measure: bookings
      bands:
        - {from: 0%, to: 100%, rate: 10%}
        - {from: 100%, rate: 1.5x base rate}
""",
    """    payout_curve:
      measure: bookings
      points:
        - {attainment: 50%, payout: 50%}
        - {attainment: 100%, payout: 100%}
""",
)


def test_curve_without_a_top(tmp_path):
    line, _, f = where(findings(tmp_path, CURVE), "W-CURVE-NO-TOP")
    assert line == 24 and f.severity == "warning"


def test_curve_points_must_rise(tmp_path):
    text = edit("attainment: 100%", "attainment: 40%", CURVE)
    assert where(findings(tmp_path, text), "E-CURVE-ORDER")[0] == 24


def test_curve_without_target_incentive_warns(tmp_path):
    text = edit("target_incentive: 80000\n", "", CURVE)
    found = findings(tmp_path, text)
    assert where(found, "W-NO-TARGET-INCENTIVE")[2].severity == "warning"


def test_split_total_must_be_positive(tmp_path):
    text = "kind: crediting\nid: c\nsplits:\n  table: splits\n  total: 0%\n"
    assert where(findings(tmp_path, text), "E-SPLIT-TOTAL")[:2] == (5, 10)


def test_field_declared_with_two_types(tmp_path):
    one = BASE + "deal_fields:\n  seats: integer\n"
    two = edit("id: ae", "id: other", BASE) + "deal_fields:\n  seats: decimal\n"
    assert where(findings(tmp_path, one, two), "E-FIELD-TYPE")[0] == 27


def test_all_findings_at_once(tmp_path):
    text = edit("period: quarter", "period: weekly")
    text = edit("      measure: bookings", "      measure: booking", text)
    text = edit('where: type == "new"', "where: type.x", text)
    codes = {f.code for f in findings(tmp_path, text)}
    assert {"E-ENUM"} <= codes


def test_every_code_is_documented():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    source = "".join(
        p.read_text(encoding="utf-8") for p in (root / "engine").glob("*.py")
    )
    codes = set(re.findall(r'"([EW]-[A-Z-]+)"', source))
    assert codes, "no codes found"
    missing = sorted(c for c in codes if f"`{c}`" not in readme)
    assert not missing, f"README lacks: {missing}"


def test_unknown_metric_with_suggestion(tmp_path):
    text = edit("quotas:", "  logos:\n    metric: new_logo_cuont\nquotas:")
    found = findings(tmp_path, text, metrics={"new_logo_count"})
    line, col, finding = where(found, "E-UNKNOWN-METRIC")
    assert (line, col) == (17, 13)
    assert "Did you mean 'new_logo_count'?" in finding.message


def test_impossible_date_literal_in_an_expression(tmp_path):
    text = edit('where: type == "new"',
                "where: close_date >= date('2026-02-30')")
    line, _, finding = where(findings(tmp_path, text), "E-EXPR-TYPE")
    assert line == 15


def test_other_schema_rules(tmp_path):
    text = edit("    sum: credit\n",
                "    sum: credit\n    credit_types: [direct, direct]\n")
    assert where(findings(tmp_path, text), "E-SCHEMA")[:2] == (15, 19)


def test_reserved_component_id(tmp_path):
    text = edit("  commission:\n", "  draw:\n")
    assert where(findings(tmp_path, text), "E-RESERVED-ID")[:2] == (21, 5)


def test_attainment_written_as_a_number_of_percent(tmp_path):
    text = edit("{from: 100%, rate: 1.5x base rate}",
                "{from: 100, rate: 1.5x base rate}")
    text = edit("{from: 0%, to: 100%, rate: 10%}",
                "{from: 0%, to: 100, rate: 10%}", text)
    found = findings(tmp_path, text)
    hits = [f for f in found if f.code == "W-ATTAINMENT-SCALE"]
    assert [(f.location.line, f.location.column) for f in hits] == [
        (24, 26), (25, 18)]
    assert "Write attainment as a percentage (100%) or a fraction (1)" in (
        hits[0].message)
