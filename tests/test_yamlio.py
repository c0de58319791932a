"""Reading plan YAML: core-schema scalars, safety and exact positions."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest
import yaml

from engine import yamlio
from engine.errors import Location, YamlSyntaxError
from engine.yamlio import load_yaml, load_yaml_documents, load_yaml_text

LOADERS = [yamlio._PythonLoader]
if yamlio.CParser is not None:
    LOADERS.append(yamlio._LibyamlLoader)


@pytest.fixture(params=LOADERS, ids=lambda cls: cls.__name__)
def each_loader(request, monkeypatch):
    """Runs a test once with libyaml's parser and once with PyYAML's own."""
    monkeypatch.setattr(yamlio, "_LOADER", request.param)
    return request.param


def load(text: str, name: str = "plan.yaml"):
    return load_yaml_text(textwrap.dedent(text), name)


def refused(text: str, name: str = "plan.yaml") -> YamlSyntaxError:
    with pytest.raises(YamlSyntaxError) as caught:
        load(text, name)
    return caught.value


# Scalars follow the YAML 1.2 core schema -------------------------------


def test_country_no_is_norway(each_loader):
    doc = load("""
        territories:
          - name: Nordics
            country: NO
          - name: Sweden
            country: SE
    """)
    countries = [t["country"] for t in doc.data["territories"]]
    assert countries == ["NO", "SE"]


@pytest.mark.parametrize(
    "word", ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF"]
)
def test_yaml_1_1_boolean_words_stay_strings(word, each_loader):
    assert load(f"flag: {word}\n").data == {"flag": word}


@pytest.mark.parametrize(
    "word, value",
    [("true", True), ("True", True), ("TRUE", True),
     ("false", False), ("False", False), ("FALSE", False)],
)
def test_only_true_and_false_are_booleans(word, value, each_loader):
    data = load(f"flag: {word}\n").data
    assert data["flag"] is value


def test_null_forms(each_loader):
    doc = load("""
        a: null
        b: Null
        c: NULL
        d: ~
        e:
        f: nil
        g: None
    """)
    assert doc.data == {
        "a": None, "b": None, "c": None, "d": None, "e": None,
        "f": "nil", "g": "None",
    }


def test_dates_stay_strings(each_loader):
    doc = load("""
        start: 2026-02-01
        stamp: 2026-02-01T10:00:00Z
    """)
    assert doc.data == {"start": "2026-02-01", "stamp": "2026-02-01T10:00:00Z"}


def test_impossible_date_stays_a_string_for_the_schema_to_report(each_loader):
    doc = load("end: 2026-02-30\n")
    assert doc.data == {"end": "2026-02-30"}
    assert doc.locate(("end",)) == Location("plan.yaml", 1, 6, ("end",))


def test_numbers_are_exact_decimals(each_loader):
    doc = load("rates: [0.1, 0.2, 1e3, .5, 1.10, -2.5E-2]\n")
    rates = doc.data["rates"]
    assert all(type(rate) is Decimal for rate in rates)
    assert rates[0] + rates[1] == Decimal("0.3")
    assert str(rates[2]) == "1E+3"
    assert rates[3] == Decimal("0.5")
    # The text is kept as written, trailing zero included.
    assert str(rates[4]) == "1.10"
    assert rates[5] == Decimal("-0.025")


def test_integers_in_core_schema_forms(each_loader):
    doc = load("values: [12, -3, +4, 0o17, 0x1F, 1_000, 1:30, 0b11]\n")
    assert doc.data["values"] == [12, -3, 4, 15, 31, "1_000", "1:30", "0b11"]
    assert type(doc.data["values"][0]) is int


def test_quoted_scalars_are_strings(each_loader):
    doc = load("""
        a: "12"
        b: 'true'
        c: "null"
        d: '0.1'
        e: "2026-02-01"
    """)
    assert doc.data == {
        "a": "12", "b": "true", "c": "null", "d": "0.1", "e": "2026-02-01",
    }


def test_keys_are_the_text_written(each_loader):
    doc = load("""
        2026: fiscal
        true: yes
        ~: tilde
        1.50: rate
    """)
    assert list(doc.data) == ["2026", "true", "~", "1.50"]


def test_standard_tags_are_honoured():
    doc = load("""
        as_text: !!str 12
        as_int: !!int "0x10"
        as_number: !!float 1
        as_bool: !!bool "false"
        as_null: !!null ""
    """)
    assert doc.data == {
        "as_text": "12", "as_int": 16, "as_number": Decimal("1"),
        "as_bool": False, "as_null": None,
    }


def test_standard_tag_with_text_that_does_not_fit_is_refused():
    error = refused("threshold: !!int 0.5\n")
    assert "'0.5' is not an integer" in str(error)
    assert (error.location.line, error.location.column) == (1, 12)

    error = refused("active: !!bool yes\n")
    assert "true or false" in error.reason


def test_pyyaml_global_resolvers_are_left_alone():
    load("flag: yes\n")
    assert yaml.safe_load("flag: yes\n") == {"flag": True}


# Values money cannot take ----------------------------------------------


@pytest.mark.parametrize("text", [".inf", "-.Inf", "+.INF", ".nan", ".NaN"])
def test_infinite_and_not_a_number_are_refused(text, each_loader):
    error = refused(f"plan:\n  cap: {text}\n")
    assert f"'{text}'" in error.reason
    assert "finite" in error.reason
    assert error.location == Location(
        "plan.yaml", 2, 8, ("plan", "cap")
    )


def test_quoted_inf_is_just_text():
    assert load("label: '.inf'\n").data == {"label": ".inf"}


# Duplicate keys and tags -------------------------------------------------


def test_duplicate_key_names_the_key_and_both_lines(each_loader):
    error = refused("""
        plan:
          id: q1-ae
          rate: 0.10
          currency: USD
          rate: 0.12
    """)
    assert "'rate'" in error.reason
    assert "line 4" in error.reason and "line 6" in error.reason
    assert (error.location.line, error.location.column) == (6, 3)
    assert error.location.path == ("plan",)


def test_keys_that_only_differ_by_quoting_are_duplicates():
    error = refused("2026: a\n'2026': b\n")
    assert "'2026'" in error.reason


@pytest.mark.parametrize(
    "text, tag",
    [
        ("quota: !Ref quotas.q1\n", "!Ref"),
        ("raw: !!binary aGVsbG8=\n", "!!binary"),
        ("day: !!timestamp 2026-01-01\n", "!!timestamp"),
        ("names: !!set {a, b}\n", "!!set"),
        ("pairs: !!omap [{a: 1}]\n", "!!omap"),
    ],
)
def test_unknown_tags_are_refused_by_name(text, tag):
    error = refused(text)
    assert f"'{tag}'" in error.reason
    assert error.location.line == 1


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/object/apply:os.system ['echo hacked']\n",
        "x: !!python/name:os.system\n",
        "x: !!python/object:collections.OrderedDict {}\n",
        "!!python/name:os.system : 1\n",
    ],
)
def test_python_object_tags_are_refused(text, each_loader):
    error = refused(text)
    assert "!!python/" in error.reason
    assert "not allowed" in error.reason


def test_core_tag_on_the_wrong_kind_of_node():
    error = refused("bands: !!str {from: 0}\n")
    assert "'!!str' cannot mark a mapping" in error.reason


def test_collection_keys_are_refused():
    error = refused("? [a, b]\n: 1\n")
    assert "mapping key" in error.reason
    assert error.location.line == 1


# Syntax errors point at the line and column --------------------------


def test_bad_indentation_points_at_line_and_column(each_loader):
    error = refused("""\
        plan:
          id: q1-ae
          name: Account executives
            currency: USD
    """)
    assert error.location.file == "plan.yaml"
    assert (error.location.line, error.location.column) == (4, 13)
    assert error.reason[0].isupper()
    # The message quotes the line with a caret under the column.
    lines = error.reason.splitlines()
    assert lines[0].endswith(".")
    assert lines[1].strip() == "currency: USD"
    assert lines[2].index("^") == lines[1].index("currency") + 8


def test_unclosed_flow_list_points_at_where_it_failed(each_loader):
    error = refused("""\
        bands: [0.1, 0.2
        rate: 5
    """)
    assert error.location.line == 2
    assert "line 1" in error.reason


def test_tab_indentation_suggests_spaces(each_loader):
    error = refused("plan:\n\tid: x\n")
    assert (error.location.line, error.location.column) == (2, 1)
    assert "spaces" in error.reason


def test_undefined_alias(each_loader):
    error = refused("a: *missing\n")
    assert "'missing'" in error.reason
    assert (error.location.line, error.location.column) == (1, 4)


def test_control_character_position(each_loader):
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml_text("région: Île\nname: a\x07b\n", "plan.yaml")
    error = caught.value
    assert (error.location.line, error.location.column) == (2, 8)
    assert "U+0007" in error.reason


def test_deep_nesting_is_refused_without_crashing(each_loader):
    depth = 50_000
    error = refused("a: " + "[" * depth + "]" * depth + "\n")
    # Newer libyaml builds stop at their own depth limit before ours.
    assert "nest" in error.reason.lower()
    assert error.location.line == 1


def test_nesting_within_the_limit_is_read():
    depth = yamlio.MAX_DEPTH - 1
    data = load("[" * depth + "]" * depth + "\n").data
    for _ in range(depth - 1):
        data = data[0]
    assert data == []


# Locating values -------------------------------------------------------

PLAN = """\
plan:
  id: q1-ae
  components:
    - name: commission
      bands:
        - {from: 0, rate: 0.10}
        - {from: 1.0, rate: 0.15}
    - name: spif
      amount: 500
  notes:
"""


def column_of(text: str, line: int, needle: str) -> int:
    """1-based column of ``needle`` on a 1-based line of ``text``."""
    return text.splitlines()[line - 1].index(needle) + 1


def test_locate_nested_paths_with_list_indices(each_loader):
    doc = load_yaml_text(PLAN, "plan.yaml")
    path = ("plan", "components", 0, "bands", 1, "rate")
    assert doc.data["plan"]["components"][0]["bands"][1]["rate"] == (
        Decimal("0.15")
    )
    rate_column = column_of(PLAN, 7, "0.15")
    assert doc.locate(path) == Location("plan.yaml", 7, rate_column, path)
    assert doc.locate(("plan", "components", 1)).line == 8
    amount = doc.locate(("plan", "components", 1, "amount"))
    assert amount.column == column_of(PLAN, 9, "500")
    assert doc.locate(("plan", "id")) == Location(
        "plan.yaml", 2, 7, ("plan", "id")
    )


def test_locate_deeper_than_the_document_gives_deepest_existing(each_loader):
    doc = load_yaml_text(PLAN, "plan.yaml")

    missing = ("plan", "components", 1, "quota", "amount")
    assert doc.locate(missing) == Location("plan.yaml", 8, 7, missing)

    past_end = ("plan", "components", 5, "name")
    assert doc.locate(past_end).line == 4

    into_scalar = ("plan", "id", "x")
    assert (doc.locate(into_scalar).line, doc.locate(into_scalar).column) == (
        2, 7,
    )


def test_locate_empty_value_points_at_its_line():
    doc = load_yaml_text(PLAN, "plan.yaml")
    assert doc.data["plan"]["notes"] is None
    assert doc.locate(("plan", "notes")).line == 10


def test_locate_key_points_at_the_key(each_loader):
    doc = load_yaml_text(PLAN, "plan.yaml")
    path = ("plan", "components", 1, "amount")
    key_column = column_of(PLAN, 9, "amount")
    assert doc.locate_key(path) == Location("plan.yaml", 9, key_column, path)
    assert doc.locate(path).column == column_of(PLAN, 9, "500")
    # A list item has no key: the item itself is given.
    assert doc.locate_key(("plan", "components", 1)).line == 8


def test_locate_accepts_an_integer_for_a_numeric_key():
    doc = load("quotas:\n  2026: 100\n")
    assert doc.locate(("quotas", 2026)).line == 2
    assert doc.locate(("quotas", "2026")).column == 9


def test_locate_in_an_empty_file():
    doc = load_yaml_text("", "empty.yaml")
    assert doc.data is None
    assert doc.locate(("plan",)) == Location("empty.yaml", 1, 1, ("plan",))


# Anchors, aliases and merge keys --------------------------------------


def test_aliases_repeat_the_anchored_value(each_loader):
    doc = load("""
        standard: &bands
          - {from: 0, rate: 0.10}
          - {from: 1.0, rate: 0.15}
        plans:
          ae: {bands: *bands}
          sdr: {bands: *bands}
    """)
    ae = doc.data["plans"]["ae"]["bands"]
    sdr = doc.data["plans"]["sdr"]["bands"]
    assert ae == sdr == doc.data["standard"]
    assert ae[1]["rate"] == Decimal("0.15")

    # Each alias is its own copy.
    ae[0]["rate"] = Decimal("0.2")
    assert sdr[0]["rate"] == Decimal("0.10")


def test_merge_keys_written_keys_win_and_first_merged_wins(each_loader):
    doc = load("""
        defaults: &defaults
          currency: USD
          rounding: half_up
        emea: &emea {currency: EUR, region: EMEA}
        plan:
          <<: [*defaults, *emea]
          rounding: half_even
          id: q1
    """)
    assert doc.data["plan"] == {
        "currency": "USD", "rounding": "half_even", "region": "EMEA",
        "id": "q1",
    }
    # A merged value is found where it is written.
    assert doc.locate(("plan", "region")).line == 5
    assert doc.locate(("plan", "rounding")).line == 8


def test_merge_key_needs_a_mapping():
    error = refused("plan:\n  <<: 5\n")
    assert "merge key" in error.reason
    assert error.location.line == 2


def test_plain_double_angle_as_a_value_is_text():
    assert load("marker: <<\n").data == {"marker": "<<"}


def test_alias_inside_its_own_anchor_is_refused(each_loader):
    error = refused("loop: &self [1, *self]\n")
    assert "repeat forever" in error.reason

    error = refused("loop: &self {a: 1, <<: *self}\n")
    assert "merge key" in error.reason


def test_billion_laughs_is_refused(each_loader):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 7) + "]")
    error = refused("\n".join(lines) + "\n")
    assert f"{yamlio.MAX_NODES:,}" in error.reason
    assert "aliases" in error.reason


def test_many_aliases_below_the_limit_are_read():
    lines = ["a: &a [1, 2, 3]"]
    lines += [f"k{i}: *a" for i in range(100)]
    doc = load("\n".join(lines) + "\n")
    assert doc.data["k99"] == [1, 2, 3]


# Documents and files ---------------------------------------------------


def test_multi_document_stream():
    text = "id: a\nrate: 0.1\n---\nid: b\n\nrate: 0.2\n--- \n"
    docs = load_yaml_documents(text, "plans.yaml")
    assert [doc.data for doc in docs] == [
        {"id": "a", "rate": Decimal("0.1")},
        {"id": "b", "rate": Decimal("0.2")},
        None,
    ]
    assert docs[1].locate(("rate",)) == Location(
        "plans.yaml", 6, 7, ("rate",)
    )
    assert load_yaml_documents("# nothing\n", "plans.yaml") == []


def test_each_document_of_a_stream_is_checked():
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml_documents("a: 1\n---\na: 1\na: 2\n", "plans.yaml")
    assert caught.value.location.line == 4


def test_single_document_loader_refuses_a_stream():
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml_text("id: a\n---\nid: b\n", "plan.yaml")
    assert "2 documents" in caught.value.reason
    assert caught.value.location.line == 3


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_gives_none(text, tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_yaml(path)
    assert doc.data is None
    assert doc.path == str(path)


def test_load_yaml_reads_a_file_by_name(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("région: Île-de-France\nrate: 0.1\n", encoding="utf-8")
    doc = load_yaml(str(path))
    assert doc.data == {"région": "Île-de-France", "rate": Decimal("0.1")}
    assert doc.locate(("rate",)) == Location(str(path), 2, 7, ("rate",))


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes("\ufeffid: q1\n".encode("utf-8"))
    assert load_yaml(path).data == {"id": "q1"}


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes("id: q1\nrégion: Île\n".encode("latin-1"))
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(path)
    error = caught.value
    assert "UTF-8" in error.reason
    assert "0xE9" in error.reason
    assert error.location == Location(str(path), 2, 2)


def test_missing_file_is_left_to_the_caller(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_yaml(tmp_path / "absent.yaml")
