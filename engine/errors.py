"""Exceptions and findings that say where a problem is and how to fix it.

Library code raises these; only the command line turns them into text
for people, in one style: a sentence that names what was found, what is
allowed, and the place (file, line, column, path inside the document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonPath = tuple[str | int, ...]


def format_path(path: JsonPath) -> str:
    """Render a path inside a document the way JSON Schema tools do.

    >>> format_path(("components", "commission", "bands", 2, "rate"))
    '$.components.commission.bands[2].rate'
    """
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


@dataclass(frozen=True)
class Location:
    """A place in an input file; any part may be unknown."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: JsonPath = ()

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class Finding:
    """One problem found in a plan, project or test file."""

    code: str
    message: str
    location: Location = field(default_factory=Location)
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": format_path(self.location.path),
        }

    def __str__(self) -> str:
        text = f"{self.location}: {self.code} {self.message}"
        if self.location.path:
            text += f" (at {format_path(self.location.path)})"
        return text


class AttainError(Exception):
    """Base class of every error Attain raises on purpose."""


class InvalidPlanError(AttainError):
    """A plan, project or test file that cannot be used as written."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        errors = [f for f in findings if f.is_error]
        first = errors[0] if errors else findings[0]
        more = len(errors) - 1
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(f"{first}{suffix}")


class YamlSyntaxError(AttainError):
    """A file that is not well-formed YAML."""

    def __init__(self, message: str, location: Location):
        self.location = location
        super().__init__(f"{location}: {message}")
        self.reason = message


class ExpressionError(AttainError):
    """An expression that is malformed or uses something not allowed.

    ``offset`` is the 0-based column inside the expression text.
    """

    def __init__(self, message: str, *, code: str, offset: int = 0):
        self.code = code
        self.offset = offset
        super().__init__(message)


class DataError(AttainError):
    """A row of input data that cannot be used, and where it is."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
    ):
        self.source = source
        self.row = row
        self.column = column
        self.value = value
        self.reason = message
        where = source
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class ConfigError(AttainError):
    """A project file or command option that cannot be used."""


class StoreError(AttainError):
    """The run store cannot be opened, migrated or written."""


class EvaluationError(AttainError):
    """A plan that is valid but cannot be evaluated on the given data."""
