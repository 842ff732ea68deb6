"""A small JSON Schema checker for the schemas most tools declare, with no dependency.

Most ``outputSchema`` objects use a handful of keywords: ``type``, ``properties``,
``required``, ``items``, ``enum`` and a few bounds. ``compile_schema`` accepts a
schema made only of the keywords below, with the meaning they have in drafts 7 and
2020-12, and returns a checker; for anything else it returns None, and the caller
uses the ``jsonschema`` package instead. Annotations (``title``, ``format`` and the
like) are ignored, as jsonschema ignores them by default.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Callable, Optional

__all__ = ["Failure", "compile_schema"]

DIALECTS = frozenset(
    {
        "https://json-schema.org/draft/2020-12/schema",
        "http://json-schema.org/draft-07/schema#",
        "http://json-schema.org/draft-07/schema",
    }
)
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "contentMediaType",
        "contentEncoding",
    }
)
_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})
_SCHEMA_KEYS = frozenset({"additionalProperties", "items", "not"})
_SCHEMA_LISTS = frozenset({"anyOf", "allOf", "oneOf"})
_COUNTS = frozenset(
    {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}
)
_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_KNOWN = (
    _ANNOTATIONS
    | _SCHEMA_KEYS
    | _SCHEMA_LISTS
    | _COUNTS
    | _BOUNDS
    | {"type", "enum", "const", "properties", "required"}
)


class Failure:
    """Where an instance failed its schema: a JSON Pointer path and the reason."""

    __slots__ = ("path", "reason")

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason


Check = Callable[[Any], Optional[Failure]]


def compile_schema(schema: Any) -> Optional[Check]:
    """A checker for ``schema`` if every keyword in it is one this module knows, else None.

    The checker returns None for a matching instance and a :class:`Failure` otherwise.
    """
    if not isinstance(schema, dict):
        return None
    dialect = schema.get("$schema")
    if dialect is not None and (not isinstance(dialect, str) or dialect not in DIALECTS):
        return None
    root = {k: v for k, v in schema.items() if k != "$schema"}
    if not _supported(root, 0):
        return None

    def check(instance: Any) -> Optional[Failure]:
        for path, reason in _errors(root, instance, ()):
            return Failure("".join(f"/{part}" for part in path), reason)
        return None

    return check


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Deeper schemas are left to jsonschema.
MAX_DEPTH = 32


def _supported(schema: Any, depth: int) -> bool:
    """Whether ``schema`` is well formed and uses only the keywords handled here."""
    if isinstance(schema, bool):
        return True
    if depth > MAX_DEPTH or not isinstance(schema, dict) or not schema.keys() <= _KNOWN:
        return False
    depth += 1
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "type":
            names = value if isinstance(value, list) else [value]
            if not names or not all(isinstance(n, str) and n in _TYPES for n in names):
                return False
        elif key == "enum":
            if not isinstance(value, list):
                return False
        elif key == "properties":
            if not isinstance(value, dict) or not all(_supported(s, depth) for s in value.values()):
                return False
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                return False
        elif key in _SCHEMA_KEYS:
            if not _supported(value, depth):
                return False
        elif key in _SCHEMA_LISTS:
            if (
                not isinstance(value, list)
                or not value
                or not all(_supported(s, depth) for s in value)
            ):
                return False
        elif key in _COUNTS:
            if not _is_count(value):
                return False
        elif key in _BOUNDS and not _is_number(value):
            return False
    return True


def _show(value: Any) -> str:
    """A short repr for a message: a result may hold megabytes."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_of(instance: Any) -> str:
    if instance is None:
        return "null"
    if isinstance(instance, bool):
        return "boolean"
    if isinstance(instance, dict):
        return "object"
    if isinstance(instance, list):
        return "array"
    if isinstance(instance, str):
        return "string"
    if isinstance(instance, int):
        return "integer"
    if isinstance(instance, float):
        return "integer" if instance.is_integer() else "number"
    return "unknown"


def _has_type(instance: Any, name: str) -> bool:
    actual = _type_of(instance)
    return actual == name or (name == "number" and actual == "integer")


def _equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema has it: ``1 == 1.0``, but ``true`` is not ``1``."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    return bool(one == two)


def _valid(schema: Any, instance: Any) -> bool:
    return next(_errors(schema, instance, ()), None) is None


Path = tuple[Any, ...]


def _errors(schema: Any, instance: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Each way ``instance`` (at ``path``) fails ``schema``, most direct first."""
    if schema is True:
        return
    if schema is False:
        yield path, f"False schema does not allow {_show(instance)}"
        return
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        if not any(_has_type(instance, name) for name in names):
            yield path, f"{_show(instance)} is not of type {', '.join(map(repr, names))}"
            return
    if "const" in schema and not _equal(instance, schema["const"]):
        yield path, f"{_show(schema['const'])} was expected"
    if "enum" in schema and not any(_equal(instance, v) for v in schema["enum"]):
        yield path, f"{_show(instance)} is not one of {_show(schema['enum'])}"
    if isinstance(instance, dict):
        yield from _object_errors(schema, instance, path)
    elif isinstance(instance, list):
        yield from _array_errors(schema, instance, path)
    elif isinstance(instance, str):
        if "minLength" in schema and len(instance) < schema["minLength"]:
            yield path, f"{_show(instance)} is too short"
        if "maxLength" in schema and len(instance) > schema["maxLength"]:
            yield path, f"{_show(instance)} is too long"
    elif _has_type(instance, "number"):
        yield from _number_errors(schema, instance, path)
    for sub in schema.get("allOf", ()):
        yield from _errors(sub, instance, path)
    if "anyOf" in schema and not any(_valid(sub, instance) for sub in schema["anyOf"]):
        yield path, f"{_show(instance)} is not valid under any of the given schemas"
    if "oneOf" in schema:
        matches = sum(1 for sub in schema["oneOf"] if _valid(sub, instance))
        if matches != 1:
            many = "is valid under each of" if matches else "is not valid under any of"
            yield path, f"{_show(instance)} {many} the given schemas"
    if "not" in schema and _valid(schema["not"], instance):
        yield path, f"{_show(instance)} should not be valid under {_show(schema['not'])}"


def _object_errors(schema: Any, instance: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    for name in schema.get("required", ()):
        if name not in instance:
            yield path, f"{_show(name)} is a required property"
    properties = schema.get("properties", {})
    for name, sub in properties.items():
        if name in instance:
            yield from _errors(sub, instance[name], (*path, name))
    extra = schema.get("additionalProperties")
    if extra is not None:
        for name, value in instance.items():
            if name in properties:
                continue
            if extra is False:
                yield path, f"Additional properties are not allowed ({_show(name)} was unexpected)"
            else:
                yield from _errors(extra, value, (*path, name))
    if "minProperties" in schema and len(instance) < schema["minProperties"]:
        yield path, f"{_show(instance)} does not have enough properties"
    if "maxProperties" in schema and len(instance) > schema["maxProperties"]:
        yield path, f"{_show(instance)} has too many properties"


def _array_errors(schema: Any, instance: list[Any], path: Path) -> Iterator[tuple[Path, str]]:
    if "items" in schema:
        for index, item in enumerate(instance):
            yield from _errors(schema["items"], item, (*path, index))
    if "minItems" in schema and len(instance) < schema["minItems"]:
        yield path, f"{_show(instance)} is too short"
    if "maxItems" in schema and len(instance) > schema["maxItems"]:
        yield path, f"{_show(instance)} is too long"


def _number_errors(schema: Any, instance: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if "minimum" in schema and instance < schema["minimum"]:
        yield path, f"{_show(instance)} is less than the minimum of {_show(schema['minimum'])}"
    if "maximum" in schema and instance > schema["maximum"]:
        yield path, f"{_show(instance)} is greater than the maximum of {_show(schema['maximum'])}"
    if "exclusiveMinimum" in schema and instance <= schema["exclusiveMinimum"]:
        yield (
            path,
            f"{_show(instance)} is less than or equal to {_show(schema['exclusiveMinimum'])}",
        )
    if "exclusiveMaximum" in schema and instance >= schema["exclusiveMaximum"]:
        yield (
            path,
            f"{_show(instance)} is greater than or equal to {_show(schema['exclusiveMaximum'])}",
        )
