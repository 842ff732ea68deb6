"""Checking a tool's structured result against its ``outputSchema`` (optional extra).

Schemas made of the common keywords (``type``, ``properties``, ``required``,
``items``, ``enum``, bounds and the like) are checked by mcp_sync itself. Others
need the ``jsonschema`` package (``pip install mcp-sync[jsonschema]``); without it,
their results are returned unchecked. Schemas are used exactly as the server sent
them, and a ``$ref`` is never fetched over the network.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from ._schema_lite import Failure, compile_schema
from .errors import ProtocolError

__all__ = ["OutputSchemaError", "validate_structured_content"]

log = logging.getLogger("mcp_sync")

_DIALECT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


class OutputSchemaError(ProtocolError):
    """A tool's ``structured_content`` does not match the ``outputSchema`` it declared.

    ``tool`` names the tool, ``path`` points at the offending part (JSON Pointer style)
    and ``reason`` is the validator's message.
    """

    def __init__(self, tool: str, path: str, reason: str):
        self.tool = tool
        self.path = path
        self.reason = reason
        super().__init__(
            f"the result of tool {tool!r} does not match its outputSchema at {path or '/'}: {reason}"
        )


def _no_retrieval(uri: str) -> Any:
    raise LookupError(f"mcp_sync does not fetch schemas ({uri})")


class _CannotCheck(Exception):
    """The schema cannot be applied (it refers outside itself)."""


Check = Callable[[Any], Optional[Failure]]

# Checkers built so far: id(schema) -> (schema, checker, or None when the schema cannot
# be checked here). The schema is held so that its id is not reused while cached.
# Every calling thread reads and fills it; a race only builds one checker twice.
_checkers: dict[int, tuple[Any, Optional[Check]]] = {}
_CACHED_CHECKERS = 1024


def _jsonschema_checker(tool: str, schema: dict[str, Any]) -> Optional[Check]:
    """A checker backed by the jsonschema package; raises ImportError without it."""
    import jsonschema
    import referencing
    import referencing.exceptions

    dialect = schema.get("$schema", _DIALECT_2020_12)
    cls = (
        jsonschema.validators.validator_for({"$schema": dialect}, default=None)
        if isinstance(dialect, str)
        else None
    )
    if cls is None:  # an unknown dialect: say so rather than guess
        log.warning(
            "mcp_sync: cannot check tool %r: unsupported JSON Schema dialect %r", tool, dialect
        )
        return None
    registry: Any = referencing.Registry(retrieve=_no_retrieval)
    validator = cls(schema, registry=registry)

    def check(value: Any) -> Optional[Failure]:
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        except (referencing.exceptions.Unresolvable, LookupError) as exc:
            raise _CannotCheck(f"its outputSchema refers outside itself ({exc})") from None
        if error is None:
            return None
        return Failure("".join(f"/{part}" for part in error.absolute_path), error.message)

    return check


def _checker_for(tool: str, schema: dict[str, Any]) -> Optional[Check]:
    """The checker of ``schema``, built once per schema object; None if it has none."""
    cached = _checkers.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    check = compile_schema(schema)
    if check is None:
        try:
            check = _jsonschema_checker(tool, schema)
        except ImportError:
            log.debug(
                "mcp_sync: tool %r has an outputSchema that needs the jsonschema package", tool
            )
    if len(_checkers) >= _CACHED_CHECKERS:
        _checkers.clear()
    _checkers[id(schema)] = (schema, check)
    return check


def validate_structured_content(tool: str, schema: Any, value: Any) -> Optional[bool]:
    """Check ``value`` against ``schema``; True if it matches, None if it cannot be checked.

    Raises :class:`OutputSchemaError` on a mismatch. The dialect is the schema's
    ``$schema`` (2020-12 when absent). Common schemas are checked by mcp_sync itself;
    others need the ``jsonschema`` package. The checker is built once per schema
    object: a schema must not be changed in place after its first use.
    """
    if not isinstance(schema, dict):
        return None
    check = _checker_for(tool, schema)
    if check is None:
        return None
    try:
        failure = check(value)
    except _CannotCheck as exc:
        log.warning("mcp_sync: cannot check tool %r: %s", tool, exc)
        return None
    except RecursionError:
        log.warning("mcp_sync: cannot check tool %r: its result is nested too deeply", tool)
        return None
    if failure is not None:
        raise OutputSchemaError(tool, failure.path, failure.reason)
    return True
