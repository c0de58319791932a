"""Built-in connectors: CSV, JSON Lines and Parquet files.

Each streams its rows and numbers them as a person finds them in the
file. They check the shape of the file (a header, cells per row, one
JSON object per line); :mod:`engine.data` checks the values. Large deal
files of all three kinds are also read whole by DuckDB
(:mod:`engine.dealtable`), which gets the same values.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from engine.errors import ConfigError, DataError
from engine.hookspecs import hookimpl
from engine.plugins import Connector, TableSource, check_options, data_file

Row = tuple[int, dict[str, Any]]


class CsvConnector(Connector):
    """A delimited text file whose first line names the columns."""

    name = "csv"
    description = "Comma-separated values with a header row (UTF-8)."
    format = "csv"
    delimiter = ","
    options = ("path", "delimiter", "encoding")

    def open(self, options: Mapping[str, Any], base_dir: Path) -> TableSource:
        check_options(options, self.options, connector=self.name)
        path = data_file(options, base_dir, connector=self.name)
        table = CsvTable(
            path,
            name=str(options["path"]),
            delimiter=self._delimiter(options),
            encoding=self._encoding(options),
        )
        return TableSource(
            name=table.name,
            rows=table.rows,
            path=path,
            format=self.format,
            columns=table.header,
            delimiter=table.delimiter,
            encoding=table.encoding,
        )

    def _delimiter(self, options: Mapping[str, Any]) -> str:
        delimiter = options.get("delimiter", self.delimiter)
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ConfigError(
                f"Connector {self.name!r}: the delimiter must be a single"
                f" character, not {delimiter!r}."
            )
        return delimiter

    def _encoding(self, options: Mapping[str, Any]) -> str:
        encoding = options.get("encoding", "utf-8")
        try:
            canonical = codecs.lookup(str(encoding)).name
        except LookupError:
            raise ConfigError(
                f"Connector {self.name!r}: unknown encoding {encoding!r}."
                " Use a Python codec name such as utf-8 or latin-1."
            ) from None
        # Spreadsheet programs often start UTF-8 files with a byte order
        # mark; utf-8-sig drops it and reads plain UTF-8 alike.
        return "utf-8-sig" if canonical == "utf-8" else canonical


class CsvTable:
    """Reads one delimited file, as often as asked, row by row."""

    def __init__(self, path: Path, *, name: str, delimiter: str, encoding: str):
        self.path = path
        self.name = name
        self.delimiter = delimiter
        self.encoding = encoding

    def header(self) -> tuple[str, ...]:
        with self._open() as handle:
            return self._header(csv.reader(handle, delimiter=self.delimiter))

    def rows(self) -> Iterator[Row]:
        with self._open() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            header = self._header(reader)
            yield from self._records(reader, header)

    def _open(self) -> TextIO:
        try:
            return open(self.path, encoding=self.encoding, newline="")
        except OSError as err:
            raise DataError(
                f"The file cannot be read: {err.strerror}.", source=self.name
            ) from err

    def _header(self, reader: Any) -> tuple[str, ...]:
        cells = self._next(reader, line=1)
        if cells is None or not any(cell.strip() for cell in cells):
            raise DataError(
                "The file has no header row; its first line must name the"
                " columns.",
                source=self.name,
                row=1,
            )

        header = tuple(cell.strip() for cell in cells)
        for position, column in enumerate(header, start=1):
            if not column:
                raise DataError(
                    f"Header cell {position} is empty; every column needs a"
                    " name.",
                    source=self.name,
                    row=1,
                )
            if header.index(column) != position - 1:
                raise DataError(
                    "The column appears twice in the header.",
                    source=self.name,
                    row=1,
                    column=column,
                )
        return header

    def _records(self, reader: Any, header: tuple[str, ...]) -> Iterator[Row]:
        end = reader.line_num
        while True:
            start = end + 1
            cells = self._next(reader, line=start)
            if cells is None:
                return
            end = reader.line_num

            # Blank lines and rows of empty cells are padding, not data.
            if not any(cell.strip() for cell in cells):
                continue
            yield start, self._record(header, cells, start)

    def _next(self, reader: Any, *, line: int) -> list[str] | None:
        try:
            return next(reader)
        except StopIteration:
            return None
        except UnicodeDecodeError as err:
            raise DataError(
                f"The file is not valid {self.encoding} text ({err.reason})."
                " Set the connector's encoding option.",
                source=self.name,
                row=undecodable_line(self.path, self.encoding),
            ) from err
        except csv.Error as err:
            raise DataError(
                f"The row is not valid CSV: {err}.", source=self.name, row=line
            ) from err

    def _record(
        self, header: tuple[str, ...], cells: list[str], line: int
    ) -> dict[str, str]:
        if len(cells) < len(header):
            raise DataError(
                f"The row has {len(cells)} cells but the header has"
                f" {len(header)} columns.",
                source=self.name,
                row=line,
                column=header[len(cells)],
            )
        extra = cells[len(header):]
        if any(cell.strip() for cell in extra):
            raise DataError(
                f"The row has {len(cells)} cells but the header has"
                f" {len(header)} columns; remove the extra cells or name"
                " their column in the header.",
                source=self.name,
                row=line,
            )
        return dict(zip(header, cells))


class JsonLinesConnector(Connector):
    """A file with one JSON object per line, keyed by column name."""

    name = "jsonl"
    description = "JSON Lines: one JSON object per line (UTF-8)."
    options = ("path",)

    def open(self, options: Mapping[str, Any], base_dir: Path) -> TableSource:
        check_options(options, self.options, connector=self.name)
        path = data_file(options, base_dir, connector=self.name)
        name = str(options["path"])
        return TableSource(
            name=name,
            rows=lambda: _json_lines(path, name),
            path=path,
            format="jsonl",
        )


def _json_lines(path: Path, name: str) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, _json_object(line, name, number)
        except UnicodeDecodeError as err:
            raise DataError(
                f"The file is not valid UTF-8 text ({err.reason}).",
                source=name,
                row=undecodable_line(path, "utf-8-sig"),
            ) from err


def _json_object(line: str, name: str, number: int) -> dict[str, Any]:
    try:
        # Numbers with a fraction become exact Decimals, never floats.
        value = json.loads(line, parse_float=Decimal)
    except json.JSONDecodeError as err:
        raise DataError(
            f"The line is not valid JSON: {err.msg} at character {err.colno}.",
            source=name,
            row=number,
        ) from err

    if not isinstance(value, dict):
        raise DataError(
            "Each line must be a JSON object with one key per column,"
            f" not a {type(value).__name__}.",
            source=name,
            row=number,
        )
    return value


def undecodable_line(path: Path, encoding: str) -> int | None:
    """The line of the first byte that does not decode, for messages.

    Text files are decoded in chunks, so the reader's own position does
    not say where the bad byte is; this reads the file again to find it.
    """
    data = path.read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        before = data[: err.start].decode(encoding, errors="replace")
        return before.count("\n") + 1
    return None


class ParquetConnector(Connector):
    """An Apache Parquet file, read with DuckDB."""

    name = "parquet"
    description = "Apache Parquet: typed columns, compressed."
    options = ("path",)

    def open(self, options: Mapping[str, Any], base_dir: Path) -> TableSource:
        check_options(options, self.options, connector=self.name)
        path = data_file(options, base_dir, connector=self.name)
        name = str(options["path"])
        return TableSource(
            name=name,
            rows=lambda: _parquet_rows(path, name),
            path=path,
            format="parquet",
            columns=lambda: _parquet_columns(path, name),
        )


def _parquet_query(path: Path, name: str, query: str):
    """Run ``query`` over the file as table ``t``; a file DuckDB cannot
    read is a data error."""
    import duckdb

    con = duckdb.connect()
    try:
        return con, con.execute(
            f"{query} FROM read_parquet(?) t", [str(path)]
        )
    except duckdb.Error as err:
        con.close()
        raise DataError(
            f"The file is not a Parquet file DuckDB can read ({err}).",
            source=name,
        ) from None


def _parquet_columns(path: Path, name: str) -> tuple[str, ...]:
    con, cursor = _parquet_query(path, name, "SELECT *")
    try:
        return tuple(column[0] for column in cursor.description)
    finally:
        con.close()


def _parquet_rows(path: Path, name: str) -> Iterator[Row]:
    con, cursor = _parquet_query(path, name, "SELECT *")
    try:
        names = [column[0] for column in cursor.description]
        number = 0
        while batch := cursor.fetchmany(10_000):
            for values in batch:
                number += 1
                yield number, dict(zip(names, values))
    finally:
        con.close()


@hookimpl
def attain_register_connectors() -> list[Connector]:
    return [CsvConnector(), JsonLinesConnector(), ParquetConnector()]
