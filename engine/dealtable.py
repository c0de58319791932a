"""The deal ledger read straight into DuckDB.

A :class:`DealTable` holds the ledger in an in-process DuckDB: a CSV,
JSON Lines or Parquet file read by DuckDB's own readers, any other
connector's rows in batches. No Python object is made per deal, yet
every value is checked as the row-by-row reader (:mod:`engine.data`)
checks it, and a row that reader would refuse is read again by it, so
that the error is the same. :mod:`engine.bulk` evaluates the table.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from .columnar import OWN, NotColumnar, _refusals
from .data import DEAL_COLUMNS, DEAL_REQUIRED, declare_columns, iter_deals
from .records import LOST, WON, Deal
from .sql import DATE, FLAG, NUMBER, TEXT, literal, quote

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
# Rows of a connector that yields them are loaded this many at a time.
BATCH = 100_000
# A CSV file's bytes are scanned this many at a time.
BLOCK = 1 << 20
# A decimal column is read with this many places, then narrowed to the
# places its values use; a value with more is left to Python.
PLACES = 9
WHOLE = 38 - PLACES

_KINDS = {"string": TEXT, "decimal": NUMBER, "integer": NUMBER,
          "boolean": FLAG, "date": DATE}
# A plain decimal (as the Python reader takes it) that DECIMAL(38, 9)
# holds exactly: at most 29 digits before the point and 9 after.
_EXACT = (
    f"[+-]?0*([0-9]{{1,{WHOLE}}}([.][0-9]{{0,{PLACES}}})?"
    f"|[.][0-9]{{1,{PLACES}}})"
)
_INTEGER = "[+-]?[0-9]+"
# The trimmed text of a column is named this and the column's name.
TEXT_OF = "@t:"
# Every character Python's str.strip() removes, as the row-by-row reader
# trims values; DuckDB's trim() removes only spaces unless told these.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002"
    "\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f"
    "\u205f\u3000"
)
_ANY_SPACE = "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE)
# A value that starts or ends with any of them.
_PADDED = f"^[{_ANY_SPACE}]|[{_ANY_SPACE}]$"
# The bytes of a file of plain text, and the other whitespace as bytes:
# a file with none of the latter trims the same by spaces alone.
_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\n\r"
_ODD_SPACE = re.compile(b"|".join(
    re.escape(c.encode()) for c in WHITESPACE if c not in " \n\r"
))
_ODD_ASCII = [c.encode() for c in WHITESPACE
              if c.isascii() and c not in " \n\r"]


class DealTable:
    """The deal ledger as a DuckDB table, in the order of its rows.

    The table ``deals`` (a view over what was read) has the engine's own
    columns (``@deal``, ``@id``, ``@day``, ``@owner``, ``@stage``,
    ``@amount``, ``@currency``) and every column of the ledger, typed as
    the input contract and the project declare them.
    """

    def __init__(self, con, source, columns: dict[str, str], present, rows):
        self.con = con
        self.source = source
        self.columns = columns
        self.present = present
        self.rows = rows
        self.kinds = {name: _KINDS[columns[name]] for name in present}
        self._deals: list[Deal] | None = None

    # -- reading -----------------------------------------------------------

    @classmethod
    def read(cls, source, column_types: Mapping[str, str] = {}, *,
             con=None) -> DealTable:
        """Read ``source`` into DuckDB: a UTF-8 CSV file directly, any
        other table through its rows, checked, in batches."""
        con = con or connect()
        columns = dict(declare_columns(DEAL_COLUMNS, column_types))
        if _direct(source):
            table = cls._from_file(con, source, columns)
            if table is not None:
                return table
        return cls._from_rows(con, source, columns)

    @classmethod
    def _from_file(cls, con, source, columns) -> DealTable | None:
        """The file read by DuckDB; None when a row needs the row-by-row
        reader to say what is wrong with it (or to accept it)."""
        with _refusals():
            scan, present, doubtful = _SCANS[source.format](
                con, source, columns
            )
        own = [n for n in present if n.startswith(OWN)]
        if own:
            raise NotColumnar(f"A deal column is named {own[0]!r}.")
        columns = {**columns, **{
            n: "string" for n in present if n not in columns
        }}
        csv_file = source.format == "csv"

        def create(trim: str) -> list[str]:
            return _create(con, scan, present, columns, doubtful=doubtful,
                           empty_is_null=csv_file, trim=trim)

        with _refusals():
            if csv_file:
                created = _create_trimmed(con, source.path, create)
            else:
                created = create(ALL)
        if not _clean(con):
            return None
        return cls._finish(con, source, columns, created)

    @classmethod
    def _from_rows(cls, con, source, columns) -> DealTable:
        """Rows checked one by one, as the Python path reads them, and
        loaded a batch at a time through a CSV file DuckDB reads."""
        present = list(columns)
        folder = tempfile.mkdtemp(prefix="attain-deals-")
        path = os.path.join(folder, "batch.csv")
        created = False
        try:
            deals = iter_deals(source, column_types=columns)
            for batch in _batches(deals, BATCH):
                extra = {k for d in batch for k in d.attributes} - set(present)
                for name in sorted(extra):
                    if name.startswith(OWN):
                        raise NotColumnar(f"A deal column is named {name!r}.")
                    columns[name] = "string"
                    present.append(name)
                    if created:
                        con.execute(
                            f"ALTER TABLE deal_rows ADD COLUMN {quote(name)} "
                            "VARCHAR"
                        )
                _write_batch(path, present, batch)
                with _refusals():
                    _create(con, _batch_scan(path, present), present,
                            columns, append=created)
                created = True
            if not created:
                _write_batch(path, present, [])
                _create(con, _batch_scan(path, present), present, columns)
        finally:
            if os.path.exists(path):
                os.unlink(path)
            os.rmdir(folder)
        if not _clean(con):
            raise NotColumnar("A deal that reads in Python does not in SQL.")
        return cls._finish(con, source, columns, present)

    @classmethod
    def _finish(cls, con, source, columns, present) -> DealTable:
        """Name the engine's own columns beside the ledger's."""
        currency = "currency" if "currency" in present else "NULL"
        selected = ", ".join(quote(n) for n in present)
        con.execute(
            'CREATE OR REPLACE VIEW deals AS SELECT rowid AS "@deal", '
            'deal_id AS "@id", close_date AS "@day", owner AS "@owner", '
            f"CASE stage WHEN '{WON}' THEN '{WON}' WHEN '{LOST}' THEN "
            f"'{LOST}' ELSE 'open' END AS \"@stage\", amount AS \"@amount\", "
            f'{currency} AS "@currency", {selected} FROM deal_rows'
        )
        rows = con.execute("SELECT count(*) FROM deal_rows").fetchone()[0]
        logger.debug("Read %d deals into DuckDB", rows)
        return cls(con, source, columns, present, rows)

    # -- what the evaluation asks of the ledger ----------------------------

    def __len__(self) -> int:
        return self.rows

    def first_unknown_owner(self, payees: Iterable[str]) -> Deal | None:
        """The first deal whose owner is not one of ``payees``."""
        found = self.con.execute(
            'SELECT min("@deal") FROM deals WHERE "@owner" NOT IN '
            "(SELECT unnest(?::VARCHAR[]))",
            [list(payees)],
        ).fetchone()[0]
        if found is None:
            return None
        return self.deals_where(f'"@deal" = {found}')[0]

    def last_close(self) -> date | None:
        return self.con.execute('SELECT max("@day") FROM deals').fetchone()[0]

    def cancelling(self) -> list[Deal]:
        """The rows that cancel another, as deals."""
        if "cancels" not in self.present:
            return []
        return self.deals_where("NULLIF(cancels, '') IS NOT NULL")

    def by_ids(self, ids: Iterable[str]) -> list[Deal]:
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE wanted AS "
            "SELECT unnest(?::VARCHAR[]) AS id", [sorted(set(ids))]
        )
        return self.deals_where('"@id" IN (SELECT id FROM wanted)')

    def deals(self) -> list[Deal]:
        """Every deal as a Python object, for a plan the SQL path cannot
        compute; read once."""
        if self._deals is None:
            self._deals = self.deals_where("TRUE")
        return self._deals

    def deals_where(self, condition: str) -> list[Deal]:
        """The deals a condition over the table's columns selects, in the
        order of the ledger."""
        names = list(self.columns)
        types = self._narrowed()
        selected = [
            "NULL" if n not in self.present
            else f"CAST({quote(n)} AS {types[n]})" if n in types
            else quote(n)
            for n in names
        ]
        cursor = self.con.execute(
            f'SELECT "@deal", {", ".join(selected)} FROM deals '
            f'WHERE {condition} ORDER BY "@deal"'
        )
        found = []
        first = self.first_row
        while batch := cursor.fetchmany(BATCH):
            for index, *values in batch:
                found.append(_deal(self.source.name, first + index,
                                   dict(zip(names, values))))
        return found

    def _narrowed(self) -> dict[str, str]:
        """Decimal columns as Python gets them: with the places their
        values use, not the places they were read with."""
        if not hasattr(self, "_types"):
            decimals = [n for n in self.present
                        if self.columns[n] == "decimal"]
            self._types = _narrow(self.con, decimals)
        return self._types

    @property
    def first_row(self) -> int:
        """The row number a person sees for the first deal."""
        return 2 if self.source.format == "csv" else 1


# Every connection made here and not yet collected.
_OPEN: weakref.WeakSet = weakref.WeakSet()


def close_connections() -> None:
    """Close every connection still open: DuckDB then removes the files
    it spilled to its temporary folder."""
    for con in list(_OPEN):
        con.close()


def connect(memory_limit: str | None = None,
            temp_directory: str | None = None):
    """An in-process DuckDB with the limits the environment asks for."""
    config = {}
    memory_limit = memory_limit or os.environ.get("ATTAIN_DUCKDB_MEMORY_LIMIT")
    temp_directory = temp_directory or os.environ.get("ATTAIN_DUCKDB_TEMP")
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:
        config["temp_directory"] = temp_directory
    con = duckdb.connect(config=config)
    _OPEN.add(con)
    # Rows keep the ledger's order, which errors and tie-breaks rely on.
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def _batch_scan(path: str, names: list[str]) -> str:
    raw = ", ".join(f"{quote(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_csv({literal(path)}, header = false, columns = {{{raw}}}, "
        "auto_detect = false, quote = '\"', escape = '\"', "
        "nullstr = '\\N', strict_mode = true, all_varchar = true)"
    )


def _direct(source) -> bool:
    """Whether DuckDB reads the source's file the way its rows read."""
    if source.path is None or source.format not in _SCANS:
        return False
    if source.format == "csv":
        return source.columns is not None and (
            source.encoding or "utf-8") in ("utf-8", "utf-8-sig")
    return True


def _csv(con, source, columns) -> tuple[str, list[str], list[str]]:
    """A scan of a CSV file's columns as text, the columns, and SQL for
    rows the row-by-row reader must look at."""
    header = source.columns()
    from .data import check_columns

    check_columns(source.name, 1, header, DEAL_REQUIRED, "The header has")
    present = list(dict.fromkeys(header))
    raw = ", ".join(f"{quote(n)}: 'VARCHAR'" for n in present)
    scan = (
        f"read_csv({literal(str(source.path))}, header = true, "
        f"columns = {{{raw}}}, auto_detect = false, "
        f"delim = {literal(source.delimiter or ',')}, quote = '\"', "
        "escape = '\"', strict_mode = true, null_padding = false, "
        "all_varchar = true)"
    )
    return scan, present, []


def _json_lines(con, source, columns) -> tuple[str, list[str], list[str]]:
    """JSON Lines as text columns. DuckDB reads JSON numbers as doubles,
    so a line with a long run of digits, a nested value, or a fraction
    where text is expected goes to the row-by-row reader instead."""
    objects = (
        f"read_json_objects({literal(str(source.path))}, "
        "format = 'newline_delimited')"
    )
    present = [row[0] for row in con.execute(
        f"SELECT key FROM (SELECT unnest(json_keys(j)) AS key, "
        f"row_number() OVER () AS n FROM {objects} t(j)) "
        "GROUP BY key ORDER BY min(n)"
    ).fetchall()]
    for required in DEAL_REQUIRED:
        if required not in present:
            present.append(required)
    values = ", ".join(
        f"j->>{literal(n)} AS {quote(n)}, json_type(j, {literal(_path(n))}) "
        f"AS {quote(OWN + n)}"
        for n in present
    )
    scan = f"(SELECT {values}, j::VARCHAR AS \"@line\" FROM {objects} t(j))"
    doubtful = ["regexp_matches(\"@line\", '[0-9]{16}')"] + [
        f"coalesce({quote(OWN + n)} IN ('ARRAY', 'OBJECT'), FALSE)"
        for n in present
    ] + [
        f"coalesce({quote(OWN + n)} = 'DOUBLE', FALSE)"
        for n in present if columns.get(n, "string") == "string"
    ]
    return scan, present, doubtful


def _path(name: str) -> str:
    return '$."' + name.replace('"', '\\"') + '"'


def _parquet(con, source, columns) -> tuple[str, list[str], list[str]]:
    """Parquet columns as text; a nested or binary column goes to the
    row-by-row reader."""
    path = literal(str(source.path))
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({path})"
    ).fetchall()
    present = [row[0] for row in described]
    from .data import check_columns

    check_columns(source.name, 1, present, DEAL_REQUIRED, "The header has")
    odd = [row[0] for row in described
           if any(t in row[1] for t in ("[]", "STRUCT", "MAP", "BLOB", "("))
           and not row[1].startswith("DECIMAL")]
    if odd:
        raise NotColumnar(f"Column {odd[0]!r} is not a single value.")
    values = ", ".join(
        f"CAST({quote(n)} AS VARCHAR) AS {quote(n)}" for n in present
    )
    return f"(SELECT {values} FROM read_parquet({path}))", present, []


_SCANS = {"csv": _csv, "jsonl": _json_lines, "parquet": _parquet}


def _typed(name: str, kind: str) -> tuple[str, str]:
    """SQL for a column's value from its text (the column ``@t`` plus its
    name), and for whether that text was not a value of its kind, as the
    Python reader would say; the second may read the first by name."""
    text = quote(TEXT_OF + name)
    if kind == "string":
        return text, "FALSE"
    if kind == "decimal":
        value = f"TRY_CAST({text} AS DECIMAL(38, {PLACES}))"
        return value, (
            f"({text} IS NOT NULL AND NOT regexp_full_match({text}, "
            f"'{_EXACT}'))"
        )
    if kind == "integer":
        value = f"TRY_CAST({text} AS BIGINT)"
        fits = f"regexp_full_match({text}, '{_INTEGER}')"
    elif kind == "boolean":
        lower = f"lower({text})"
        value = (
            f"CASE WHEN {lower} IN ('true', 'yes', '1') THEN TRUE "
            f"WHEN {lower} IN ('false', 'no', '0') THEN FALSE END"
        )
        fits = "TRUE"
    else:
        # DuckDB also reads 2026/02/01 and 2026-2-1 as dates; the
        # Python reader takes only 2026-02-01.
        value = (
            f"CASE WHEN length({text}) = 10 AND {text}[5] = '-' AND "
            f"{text}[8] = '-' AND {text}[1] BETWEEN '0' AND '9' "
            f"THEN TRY_CAST({text} AS DATE) END"
        )
        fits = "TRUE"
    return value, (
        f"({text} IS NOT NULL AND (NOT coalesce({fits}, FALSE) "
        f"OR {quote(name)} IS NULL))"
    )


# How a text column is trimmed, from least to most work: not at all,
# of spaces, of every kind of whitespace.
NONE, SPACES, ALL = TRIMS = ("none", "spaces", "all")


def _trimmed(column: str, empty_is_null: bool, trim: str) -> str:
    """SQL for a text column trimmed as the row-by-row reader trims it,
    an empty text missing. Trimming every value costs more than looking
    for a space in it, and only a value of whitespace trims to empty."""
    if trim == NONE:
        return column if empty_is_null else f"NULLIF({column}, '')"
    if trim == SPACES:
        padded, trimmed = f"contains({column}, ' ')", f"trim({column})"
    else:
        padded = f"regexp_matches({column}, {literal(_PADDED)})"
        trimmed = f"trim({column}, {literal(WHITESPACE)})"
    if empty_is_null:
        return (f"CASE WHEN {padded} THEN NULLIF({trimmed}, '') "
                f"ELSE {column} END")
    return f"NULLIF(CASE WHEN {padded} THEN {trimmed} ELSE {column} END, '')"


class _TextFacts:
    """What a scan of a CSV file's bytes says about its values."""

    def __init__(self, odd_space: bool, newlines: int | None = None,
                 returns: int | None = None, space: bool = True):
        self.odd_space = odd_space
        # Counted only in a file with quotes, the one place a value can
        # hold a line break.
        self.newlines = newlines
        self.returns = returns
        self.space = space

    def plain(self, rows: int) -> bool:
        """Whether trimming spaces alone trims every value as Python
        does: no other whitespace anywhere, and every line break (CR LF
        or LF) ends a row, so that no value holds one."""
        if self.odd_space:
            return False
        if self.newlines is None:
            return True
        return (
            self.returns in (0, self.newlines)
            and self.newlines in (rows, rows + 1)
        )

    def trim(self, rows: int) -> str:
        """The least trimming that trims every value as Python does."""
        if not self.plain(rows):
            return ALL
        return SPACES if self.space else NONE


def _text_facts(path) -> _TextFacts:
    """Scan a CSV file for spaces, for whitespace other than spaces and,
    if it has quotes, count its line breaks. From a block that is not
    plain ASCII the bytes of plain text are dropped first, which leaves
    little to search; a character cut where one block ends is whole once
    the end of what was left of that block comes first."""
    odd = quoted = space = False
    left = b""
    for block in _blocks(path):
        quoted = quoted or b'"' in block
        space = space or b" " in block
        if odd:
            continue
        if block.isascii():
            # No character is cut where this block starts, and looking
            # for each kind of whitespace costs less than dropping bytes.
            odd = any(c in block for c in _ODD_ASCII)
            left = b""
        else:
            rest = left + block.translate(None, _PLAIN_BYTES)
            odd = _ODD_SPACE.search(rest) is not None
            left = rest[-2:]
    if odd or not quoted:
        return _TextFacts(odd, space=space)
    newlines = returns = 0
    for block in _blocks(path):
        newlines += block.count(b"\n")
        returns += block.count(b"\r")
    return _TextFacts(odd, newlines, returns, space)


def _create_trimmed(con, path, create) -> list[str]:
    """``create`` a CSV file's table with the least trimming that trims
    as Python does. While DuckDB reads the file, a scan of its bytes
    says whether the trimming chosen was enough; if not, the file is
    read again trimming more. A file whose first block holds no space
    is read untrimmed, as a file rarely gains spaces further down."""
    trim = SPACES if _has_space(path) else NONE
    with ThreadPoolExecutor(1, thread_name_prefix="ledger-scan") as pool:
        facts = pool.submit(_text_facts, path)
        created = create(trim)
        rows = con.execute("SELECT count(*) FROM deal_rows").fetchone()[0]
        needed = facts.result().trim(rows)
    if TRIMS.index(needed) > TRIMS.index(trim):
        created = create(needed)
    return created


def _has_space(path) -> bool:
    """Whether the first block of a file holds a space."""
    return b" " in next(_blocks(path), b"")


def _blocks(path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(BLOCK), b"")


def _create(con, scan: str, present, columns, append: bool = False,
            doubtful=(), empty_is_null: bool = False,
            trim: str = ALL) -> list[str]:
    """Create (or add to) ``deal_rows`` from a scan of text columns, with
    ``@bad`` marking a row the Python reader would refuse, or that it
    must read itself (``doubtful``). Each column is trimmed, then typed,
    then checked, each step reading the one before by name, so that no
    value is computed twice. ``empty_is_null`` says the scan already
    reads an empty value as missing, as DuckDB's CSV reader does;
    ``trim`` (``NONE``, ``SPACES`` or ``ALL``), what whitespace a value
    may be padded with."""
    texts = ", ".join(
        f"{_trimmed(quote(n), empty_is_null, trim)} AS "
        f"{quote(TEXT_OF + n)}"
        for n in present
    )
    extra = [f"{quote(OWN + n)}" for n in present
             if f'"{OWN}{n}"' in " ".join(doubtful)]
    extra += ['"@line"'] if '"@line"' in " ".join(doubtful) else []
    values, bad = {}, list(doubtful)
    for name in present:
        value, wrong = _typed(name, columns[name])
        values[name] = value
        bad.append(wrong)
    for name in DEAL_REQUIRED:
        bad.append(f"{quote(name)} IS NULL")
    stage = quote("stage") if "stage" in values else "NULL"
    final = {name: quote(name) for name in values}
    final["stage"] = (
        f"CASE WHEN {stage} IS NULL THEN '{WON}' WHEN lower({stage}) IN "
        f"('{WON}', '{LOST}') THEN lower({stage}) ELSE {stage} END"
    )
    if "currency" in values:
        bad.append("NOT coalesce(regexp_full_match(currency, "
                   "'[A-Za-z]{3}'), TRUE)")
        final["currency"] = "upper(currency)"
    for name, top in (("probability", 1), ("split_percent", 100)):
        if name in values:
            bad.append(f"NOT coalesce({quote(name)} BETWEEN 0 AND {top}, "
                       "TRUE)")
    typed = ", ".join(f"{v} AS {quote(n)}" for n, v in values.items())
    kept = ", ".join(
        [quote(TEXT_OF + n) for n in present] + extra
    )
    selected = ", ".join(f"{v} AS {quote(n)}" for n, v in final.items())
    query = (
        f'SELECT {selected}, ({" OR ".join(bad)}) AS "@bad" FROM '
        f"(SELECT {typed}, {kept} FROM (SELECT {texts}"
        + "".join(f", {e}" for e in extra)
        + f" FROM {scan}))"
    )
    if append:
        con.execute(f"INSERT INTO deal_rows BY NAME {query}")
    else:
        con.execute(f"CREATE OR REPLACE TABLE deal_rows AS {query}")
    return list(final)


def _clean(con) -> bool:
    """No row the Python reader would refuse, and no deal id twice."""
    bad, rows, ids = con.execute(
        'SELECT count(*) FILTER (WHERE "@bad"), count(*), '
        "count(DISTINCT deal_id) FROM deal_rows"
    ).fetchone()
    return not bad and rows == ids


def _narrow(con, decimals: list[str]) -> dict[str, str]:
    """The narrowest exact DECIMAL type of each decimal column."""
    if not decimals:
        return {}
    parts = []
    for name in decimals:
        column = quote(name)
        parts.append(f"max(abs({column}))")
        parts += [
            f"bool_and({column} = round({column}, {places}))"
            for places in range(PLACES)
        ]
    found = con.execute(
        f"SELECT {', '.join(parts)} FROM deal_rows"
    ).fetchone()
    types = {}
    step = PLACES + 1
    for index, name in enumerate(decimals):
        largest, *exact = found[index * step:(index + 1) * step]
        places = next((p for p, ok in enumerate(exact) if ok is not False),
                      PLACES)
        whole = len(str(int(largest))) if largest else 1
        types[name] = f"DECIMAL({min(38, max(18, whole + places))}, {places})"
    return types


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(path: str, names: list[str], deals: list[Deal]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for deal in deals:
            values = deal.attributes
            writer.writerow([_text(values.get(n)) for n in names])


def _text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _deal(source: str, row: int, values: dict[str, Any]) -> Deal:
    return Deal(
        deal_id=values["deal_id"],
        close_date=values["close_date"],
        amount=values["amount"],
        owner=values["owner"],
        currency=values["currency"],
        stage=values["stage"],
        type=values["type"],
        attributes=values,
        source=source,
        row=row,
    )
