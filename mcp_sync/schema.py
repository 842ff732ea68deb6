"""Checking a tool's structured result against its ``outputSchema`` (optional extra).

Validation needs the ``jsonschema`` package (``pip install mcp-sync[jsonschema]``);
without it, results are returned unchecked. Schemas are used exactly as the server
sent them, and a ``$ref`` is never fetched over the network.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

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


def validate_structured_content(tool: str, schema: Any, value: Any) -> Optional[bool]:
    """Check ``value`` against ``schema``; True if it matches, None if it cannot be checked.

    Raises :class:`OutputSchemaError` on a mismatch. The dialect is the schema's
    ``$schema`` (2020-12 when absent).
    """
    try:
        import jsonschema
        import referencing
        import referencing.exceptions
    except ImportError:
        return None
    if not isinstance(schema, dict):
        return None
    dialect = schema.get("$schema", _DIALECT_2020_12)
    cls = jsonschema.validators.validator_for({"$schema": dialect}, default=None)
    if cls is None:  # an unknown dialect: say so rather than guess
        log.warning(
            "mcp_sync: cannot check tool %r: unsupported JSON Schema dialect %r", tool, dialect
        )
        return None
    registry: Any = referencing.Registry(retrieve=_no_retrieval)
    validator = cls(schema, registry=registry)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except (referencing.exceptions.Unresolvable, LookupError) as exc:
        log.warning(
            "mcp_sync: cannot check tool %r: its outputSchema refers outside itself (%s)", tool, exc
        )
        return None
    if error is not None:
        path = "".join(f"/{part}" for part in error.absolute_path)
        raise OutputSchemaError(tool, path, error.message)
    return True
