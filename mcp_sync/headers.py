"""Request metadata headers of the Streamable HTTP transport: pure functions, no I/O.

Covers the ``Mcp-Name`` header, the ``Mcp-Param-{Name}`` headers a tool asks for
with ``x-mcp-header`` annotations in its ``inputSchema``, and the Base64
"sentinel" encoding (``=?base64?...?=``) both use for values that are not safe
as plain header text.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from .errors import MCPSyncError

__all__ = [
    "ANNOTATION",
    "MAX_SAFE_INTEGER",
    "PARAM_HEADER_PREFIX",
    "InvalidToolHeader",
    "ParamHeader",
    "decode_header_value",
    "encode_header_value",
    "extract_param_headers",
    "mcp_name",
    "param_header_value",
    "tool_param_headers",
]

#: The JSON Schema extension keyword that asks for a parameter to be mirrored.
ANNOTATION = "x-mcp-header"

#: Prefix of the header name built from an annotation.
PARAM_HEADER_PREFIX = "Mcp-Param-"

#: Largest integer a header may carry (2**53 - 1); the smallest is its negation.
MAX_SAFE_INTEGER = 2**53 - 1

#: One annotated parameter: its property path from the schema root, and its header name.
ParamHeader = tuple[tuple[str, ...], str]

_PREFIX = "=?base64?"
_SUFFIX = "?="

# RFC 9110 token (1*tchar); [0-9A-Za-z] is spelled out so that no Unicode digit matches.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Printable ASCII: the only characters a value may carry without encoding.
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
# Characters a received field value may hold (RFC 9110: visible ASCII, space, tab).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")

_HEADER_TYPES = ("string", "integer", "boolean")

# Methods whose Mcp-Name header mirrors a field of params.
_NAME_FIELDS = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}

# Schema keywords whose value maps names to subschemas: the keys are never keywords.
_SCHEMA_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
# Schema keywords whose value is instance data, not a schema.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "examples"})


class InvalidToolHeader(MCPSyncError, ValueError):
    """A tool's ``x-mcp-header`` annotations break the spec, so the tool must be rejected.

    ``reason`` says which rule was broken and where.
    """

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"invalid x-mcp-header annotation: {reason}")


def _is_sentinel(value: str) -> bool:
    return value.startswith(_PREFIX) and value.endswith(_SUFFIX)


def encode_header_value(value: str) -> str:
    """Return ``value`` as it must appear in an ``Mcp-Name`` or ``Mcp-Param-*`` header.

    A value that is all printable ASCII (0x20-0x7E), has no leading or trailing
    space or tab, and does not look like the sentinel form is returned unchanged
    (so is the empty string). Any other value becomes ``=?base64?`` + the padded
    standard Base64 of its UTF-8 bytes + ``?=``.
    """
    if (
        _PRINTABLE.fullmatch(value)
        and value[:1] not in (" ", "\t")
        and value[-1:] not in (" ", "\t")
        and not _is_sentinel(value)
    ):
        return value
    return _PREFIX + base64.b64encode(value.encode("utf-8")).decode("ascii") + _SUFFIX


def decode_header_value(value: str) -> str:
    """Return the original text of a received ``Mcp-Name`` or ``Mcp-Param-*`` value.

    A value of the form ``=?base64?...?=`` (lowercase markers, exactly) is decoded;
    any other value is returned unchanged. Raises ValueError when the Base64 is
    malformed or not canonical, when the bytes are not UTF-8, or when a plain value
    holds characters a header value cannot hold. ``decode_header_value(
    encode_header_value(s)) == s`` for every ``s``.
    """
    if not _is_sentinel(value):
        if not _FIELD_VALUE.fullmatch(value):
            raise ValueError("header value holds characters outside visible ASCII, space and tab")
        return value
    if len(value) < len(_PREFIX) + len(_SUFFIX):
        raise ValueError("malformed Base64 sentinel in header value")
    payload = value[len(_PREFIX) : -len(_SUFFIX)]
    try:
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("header value holds invalid Base64") from None
    if base64.b64encode(raw).decode("ascii") != payload:
        raise ValueError("header value holds non-canonical Base64")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("Base64 header value is not UTF-8 text") from None


def param_header_value(value: object) -> Optional[str]:
    """Return the encoded ``Mcp-Param-*`` header value for a tool argument.

    None gives None (send no header); a bool gives ``"true"`` or ``"false"``; an
    int gives its decimal form; a str is used as is. The text is then encoded with
    :func:`encode_header_value`. Raises TypeError for any other type (floats,
    lists, dicts, ...), and ValueError for an int outside the range
    -(2**53 - 1) .. 2**53 - 1 the spec allows.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is outside the safe range +/-(2**53 - 1)")
        text = str(int(value))
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError(
            f"a header parameter must be a string, integer or boolean, not {type(value).__name__}"
        )
    return encode_header_value(text)


def _where(path: tuple[str, ...]) -> str:
    return "/".join(path) if path else "the schema root"


def _check_name(name: object, path: tuple[str, ...]) -> str:
    where = _where(path)
    if not isinstance(name, str):
        raise InvalidToolHeader(f"value at {where} is of type {type(name).__name__}, not a string")
    if not name:
        raise InvalidToolHeader(f"value at {where} is empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise InvalidToolHeader(f"value {name!r} at {where} holds control characters")
    if not name.isascii():
        raise InvalidToolHeader(f"value {name!r} at {where} holds non-ASCII characters")
    if not _TOKEN.fullmatch(name):
        raise InvalidToolHeader(f"value {name!r} at {where} is not an HTTP token")
    return name


def _check_type(schema: Mapping[Any, Any], path: tuple[str, ...]) -> None:
    kind = schema.get("type")
    if kind not in _HEADER_TYPES:
        shown = "missing" if "type" not in schema else repr(kind)
        raise InvalidToolHeader(
            f"property {_where(path)} has type {shown}; "
            "only 'string', 'integer' and 'boolean' may be mirrored"
        )


def _holds_annotation(node: object, as_schema: bool) -> bool:
    """Whether ``node`` (a schema when ``as_schema``) carries an annotation anywhere."""
    if isinstance(node, list):
        return any(_holds_annotation(item, as_schema) for item in node)
    if not isinstance(node, Mapping):
        return False
    if not as_schema:
        return any(_holds_annotation(v, True) for v in node.values())
    if ANNOTATION in node:
        return True
    for key, sub in node.items():
        if key in _DATA_KEYWORDS:
            continue
        if _holds_annotation(sub, key not in _SCHEMA_MAPS):
            return True
    return False


def _walk(
    schema: Mapping[Any, Any], path: tuple[str, ...], found: list[ParamHeader], seen: set[str]
) -> None:
    for key, sub in schema.items():
        if key == ANNOTATION or key in _DATA_KEYWORDS:
            continue
        if key != "properties" or not isinstance(sub, Mapping):
            if _holds_annotation(sub, key not in _SCHEMA_MAPS):
                raise InvalidToolHeader(
                    f"an annotation under {key!r} at {_where(path)} is not reachable "
                    "through 'properties' alone"
                )
            continue
        for name, prop in sub.items():
            if not isinstance(prop, Mapping):
                if _holds_annotation(prop, True):
                    raise InvalidToolHeader(
                        f"an annotation at {_where((*path, str(name)))} is not in a property schema"
                    )
                continue
            child = (*path, str(name))
            if ANNOTATION in prop:
                header = _check_name(prop[ANNOTATION], child)
                _check_type(prop, child)
                folded = header.lower()
                if folded in seen:
                    raise InvalidToolHeader(
                        f"value {header!r} at {_where(child)} is used twice (case-insensitively)"
                    )
                seen.add(folded)
                found.append((child, PARAM_HEADER_PREFIX + header))
            _walk(prop, child, found, seen)


def tool_param_headers(input_schema: object) -> list[ParamHeader]:
    """Return the ``Mcp-Param-*`` headers a tool's ``inputSchema`` asks for.

    Each entry is ``(path, header_name)``: the property names leading from the
    schema root to the annotated property through ``properties`` keys, and
    ``"Mcp-Param-" + annotation``, in schema order. A schema that is not an object
    gives an empty list. Raises :class:`InvalidToolHeader` when the tool must be
    rejected: an annotation that is not a non-empty RFC 9110 token, duplicate
    annotations (case-insensitively), an annotated property whose ``type`` is not
    exactly ``"string"``, ``"integer"`` or ``"boolean"``, or an annotation that is
    not reachable from the root through ``properties`` alone (on the root itself,
    or under ``items``, ``anyOf``, ``$defs``, ``$ref`` targets and the like).
    """
    if not isinstance(input_schema, Mapping):
        return []
    if ANNOTATION in input_schema:
        raise InvalidToolHeader("an annotation on the schema root is not on a property")
    found: list[ParamHeader] = []
    _walk(input_schema, (), found, set())
    return found


def extract_param_headers(arguments: object, mapping: Iterable[ParamHeader]) -> dict[str, str]:
    """Return the ``Mcp-Param-*`` headers to send with a ``tools/call``.

    ``mapping`` is what :func:`tool_param_headers` returned for the tool. Each path
    is followed into ``arguments``; a header is omitted when any step is missing
    (or is not an object) or the value is None. Values are converted with
    :func:`param_header_value`; a value of the wrong type raises TypeError and an
    out-of-range integer raises ValueError, each naming the parameter. Arguments
    that are None count as empty.
    """
    headers: dict[str, str] = {}
    for path, header in mapping:
        value: object = arguments
        for step in path:
            if not isinstance(value, Mapping) or step not in value:
                value = None
                break
            value = value[step]
        try:
            text = param_header_value(value)
        except TypeError as exc:
            raise TypeError(f"argument {'.'.join(path)!r} for header {header}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"argument {'.'.join(path)!r} for header {header}: {exc}") from None
        if text is not None:
            headers[header] = text
    return headers


def mcp_name(method: str, params: Optional[Mapping[str, Any]]) -> Optional[str]:
    """Return the encoded ``Mcp-Name`` header value for a request, or None for no header.

    ``tools/call`` and ``prompts/get`` mirror ``params["name"]``, ``resources/read``
    mirrors ``params["uri"]``, and ``tasks/get``, ``tasks/update`` and
    ``tasks/cancel`` mirror ``params["taskId"]``. Other methods, and a field that is
    missing or not a string, give None.
    """
    field = _NAME_FIELDS.get(method)
    if field is None or not isinstance(params, Mapping):
        return None
    value = params.get(field)
    if not isinstance(value, str):
        return None
    return encode_header_value(value)
