"""JSON schemas inferred from a function's signature, and a light argument check."""

from __future__ import annotations

import collections.abc
import inspect
import typing
from typing import Any, Callable, Optional, Union

_SIMPLE: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
    type(None): "null",
}

#: The parameter name that receives the request :class:`Context` instead of an argument.
CTX_PARAM = "ctx"


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of one type hint; an unknown type gives ``{}`` (anything)."""
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is Union or type(hint).__name__ == "UnionType":
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return type_schema(options[0])
        return {"anyOf": [type_schema(a) for a in args]}
    if origin in (list, tuple, set, frozenset, collections.abc.Sequence):
        schema: dict[str, Any] = {"type": "array"}
        if args and args[-1] is not Ellipsis:
            schema["items"] = type_schema(args[0])
        return schema
    if origin in (dict, collections.abc.Mapping):
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = type_schema(args[1])
        return schema
    return {}


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an unresolvable forward reference: infer nothing from it
        return {}


def parameters(fn: Callable[..., Any]) -> tuple[list[inspect.Parameter], bool]:
    """The parameters that take arguments, and whether ``fn`` takes a ``ctx``."""
    params = []
    wants_ctx = False
    for param in inspect.signature(fn).parameters.values():
        if param.name == CTX_PARAM:
            wants_ctx = True
        elif param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        else:
            params.append(param)
    return params, wants_ctx


def input_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """The ``inputSchema`` of a tool function, from its type hints and defaults."""
    hints = _hints(fn)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in parameters(fn)[0]:
        prop = type_schema(hints.get(param.name, param.annotation))
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
        elif isinstance(param.default, (str, int, float, bool)) or param.default is None:
            prop = {**prop, "default": param.default}
        properties[param.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def output_schema(fn: Callable[..., Any]) -> Optional[dict[str, Any]]:
    """An ``outputSchema`` from the return hint: only for a dict-typed return, else None."""
    hint = _hints(fn).get("return")
    schema = type_schema(hint) if hint is not None else {}
    return schema if schema.get("type") == "object" else None


def check_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> Optional[str]:
    """A message naming what is wrong with ``arguments`` against ``schema``, or None.

    Checks required properties and the JSON type of each top-level property whose schema
    names one; the rest of JSON Schema is not checked.
    """
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if name not in arguments:
            return f"missing required argument {name!r}"
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    for name, value in arguments.items():
        prop = properties.get(name)
        if prop is None:
            if schema.get("additionalProperties") is False:
                return f"unexpected argument {name!r}"
            continue
        kind = prop.get("type") if isinstance(prop, dict) else None
        if isinstance(kind, str) and not _is_type(value, kind):
            return f"argument {name!r} must be of type {kind}"
        enum = prop.get("enum") if isinstance(prop, dict) else None
        if isinstance(enum, list) and value not in enum:
            return f"argument {name!r} must be one of {enum}"
    return None


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = {
        "string": str,
        "boolean": bool,
        "object": dict,
        "array": list,
        "null": type(None),
    }.get(kind)
    return expected is None or isinstance(value, expected)
