"""JSON Schema checks of plan and project files, in a comp admin's words.

jsonschema reports what broke in its own terms (``oneOf``,
``additionalProperties``); this module turns each error into a finding
with a code, a sentence that says how to fix it, and the place.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any, Iterator

from .errors import Finding, JsonPath

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_NAMES = ("plan", "project", "test", "coaching")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a file kind: plan, project, test or coaching."""
    with open(SCHEMA_DIR / f"{name}.schema.json", encoding="utf-8") as f:
        return json.load(f)


@cache
def _validator(name: str):
    import jsonschema

    schema = load_schema(name)
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check(name: str, data: Any, locate) -> list[Finding]:
    """Every schema error of ``data`` as findings; ``locate`` maps paths
    to locations (``YamlDocument.locate``)."""
    findings = []
    errors = sorted(
        _validator(name).iter_errors(data),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    for error in errors:
        for code, message, path, at_key in _translate(error):
            where = locate(path, at_key)
            findings.append(Finding(code, message, where))
    return _unique(findings)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen = set()
    kept = []
    for finding in findings:
        key = (finding.code, finding.message, finding.location.path)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept


def _translate(error) -> Iterator[tuple[str, str, JsonPath, bool]]:
    path = tuple(error.absolute_path)
    validator = error.validator
    schema = error.schema
    instance = error.instance

    if validator in ("oneOf", "anyOf"):
        yield from _translate_choice(error, path)
    elif validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for key in instance:
            if key in schema.get("properties", {}):
                continue
            hint = _did_you_mean(str(key), allowed)
            message = (
                f"Unknown key '{key}'.{hint} Allowed here: "
                f"{', '.join(allowed)}."
            )
            yield "E-UNKNOWN-KEY", message, path + (key,), True
    elif validator == "required":
        missing = [k for k in error.validator_value if k not in instance]
        for key in missing:
            yield (
                "E-MISSING-KEY",
                f"Missing required key '{key}'.",
                path,
                bool(path),
            )
    elif validator == "dependentRequired":
        for key, needs in error.validator_value.items():
            if key in instance:
                lacking = [n for n in needs if n not in instance]
                if lacking:
                    message = (
                        f"'{key}' needs '{lacking[0]}' beside it: say "
                        f"what applies when the condition does not hold."
                    )
                    yield "E-MISSING-KEY", message, path + (key,), True
    elif validator == "format" and error.validator_value == "date":
        yield (
            "E-DATE",
            f"'{instance}' is not a valid date. Write an ISO date that "
            "exists, such as 2026-02-01.",
            path,
            False,
        )
    elif validator in ("enum", "const"):
        options = (
            error.validator_value
            if validator == "enum"
            else [error.validator_value]
        )
        text = ", ".join(repr(o) for o in options)
        hint = _did_you_mean(str(instance), [str(o) for o in options])
        message = f"Expected one of {text}, found {instance!r}.{hint}"
        yield "E-ENUM", message, path, False
    elif validator == "type":
        expected = error.validator_value
        message = (
            f"Expected {_type_words(expected)}, found "
            f"{_describe(instance)}."
        )
        yield "E-TYPE", message, path, False
    elif validator == "pattern":
        advice = schema.get("description", "")
        message = f"{instance!r} is not in the expected form. {advice}"
        yield "E-FORMAT", message.strip(), path, False
    elif validator == "maxLength":
        message = (
            f"This text has {len(instance)} characters; at most "
            f"{error.validator_value} are allowed here."
        )
        yield "E-TOO-LONG", message, path, False
    elif validator in ("minItems", "minProperties"):
        yield "E-EMPTY", "This must not be empty.", path, False
    elif validator in ("minimum", "exclusiveMinimum"):
        message = (
            f"{instance} is too small: the least allowed is "
            f"{error.validator_value}."
        )
        yield "E-RANGE", message, path, False
    else:
        yield "E-SCHEMA", _sentence(error.message), path, False


def _translate_choice(error, path) -> Iterator[tuple]:
    """oneOf / anyOf: say which alternative was meant and what is wrong."""
    branches = error.validator_value
    instance = error.instance
    required_only = all(
        set(b) == {"required"} and len(b["required"]) == 1 for b in branches
    )
    if required_only and isinstance(instance, dict):
        keys = [b["required"][0] for b in branches]
        present = [k for k in keys if k in instance]
        if not present:
            verb = "one of" if error.validator == "oneOf" else "at least one of"
            message = f"Give {verb}: {', '.join(keys)}."
            yield "E-MISSING-KEY", message, path, bool(path)
        else:
            message = (
                f"Give only one of {', '.join(keys)}; found "
                f"{' and '.join(present)}."
            )
            yield "E-ONE-OF", message, path + (present[1],), True
        return

    chosen = _matching_branch(error)
    if chosen is not None:
        for sub in chosen:
            yield from _translate(sub)
        return
    advice = error.schema.get("description", "")
    message = f"{_describe(instance).capitalize()} is not valid here. {advice}"
    yield "E-VALUE", message.strip(), path, False


def _matching_branch(error):
    """The errors of the alternative whose type fits the value, if one does."""
    by_branch: dict[int, list] = {}
    for sub in error.context:
        by_branch.setdefault(sub.schema_path[0], []).append(sub)
    fitting = []
    for index, subs in by_branch.items():
        if not any(s.validator == "type" and not s.path for s in subs):
            fitting.append(subs)
    if len(fitting) == 1:
        return fitting[0]
    return None


def _did_you_mean(word: str, options: list[str]) -> str:
    same = [o for o in options if o.lower() == word.lower()]
    close = same or difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def did_you_mean(word: str, options) -> str:
    """`` Did you mean 'x'?`` or an empty string."""
    return _did_you_mean(word, sorted(options))


def _type_words(expected) -> str:
    words = {
        "object": "a mapping of keys to values",
        "array": "a list",
        "string": "text",
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
    }
    if isinstance(expected, list):
        return " or ".join(words.get(e, e) for e in expected)
    return words.get(expected, expected)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value) if isinstance(value, str) else str(value)


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
