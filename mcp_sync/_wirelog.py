"""DEBUG logging of the JSON-RPC traffic, on the ``mcp_sync.wire`` logger, with secrets redacted.

The engine calls :func:`log_outgoing` and :func:`log_incoming` for every message; both
return at once unless ``mcp_sync.wire`` is enabled for DEBUG, so the traffic costs
nothing to format when nobody listens.

What is logged is a summary of the message, never more than :data:`MAX_LINE` characters:

- the value of every key that names a secret (``token``, ``secret``, ``password``,
  ``authorization``, ``apiKey``, ``cookie``, ``sessionId``, ``credential`` ... in any
  case or spelling with ``-`` or ``_``), at any depth, shows as ``"<redacted>"``;
- the current session id, wherever it appears, shows as ``"<session>"``;
- long strings are cut, and deep or long containers are summarised.

HTTP headers (``Authorization``, cookies, ``Mcp-Session-Id``) are not part of a JSON-RPC
message and are never logged.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Optional

from .jsonrpc import Message, Notification, Request, Response

if TYPE_CHECKING:
    from .transports.base import Transport

__all__ = ["MAX_LINE", "REDACTED", "SESSION", "log_incoming", "log_outgoing", "redact", "wire_log"]

wire_log = logging.getLogger("mcp_sync.wire")

#: Characters of one logged message at most.
MAX_LINE = 2_000
#: What a secret's value shows as.
REDACTED = "<redacted>"
#: What the session id shows as.
SESSION = "<session>"

# Characters of one string, items of one container, and levels of nesting shown.
_MAX_STRING = 200
_MAX_ITEMS = 50
_MAX_DEPTH = 8

# Parts of key names, lowered and without "-" and "_", whose values are secrets.
_SECRET_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "authorization",
    "authorisation",
    "apikey",
    "cookie",
    "sessionid",
    "credential",
    "privatekey",
    "clientassertion",
    "codeverifier",
    "bearer",
)
# A string that is a credential with its scheme ("Bearer <token>"), whatever key it is under.
_CREDENTIAL_SCHEMES = frozenset({"bearer", "dpop"})
# Keys that contain a part above but name no secret: progress tokens are request
# handles, and maxTokens is a number.
_NOT_SECRET = frozenset({"progresstoken", "maxtokens"})


def _is_secret_key(key: str) -> bool:
    folded = key.lower().replace("-", "").replace("_", "")
    return folded not in _NOT_SECRET and any(part in folded for part in _SECRET_PARTS)


def _is_credential(value: str) -> bool:
    if not value[:7].lower().startswith(("bearer", "dpop")):
        return False
    parts = value.split()
    return len(parts) == 2 and parts[0].lower() in _CREDENTIAL_SCHEMES


def redact(
    value: Any, session_id: Optional[str] = None, depth: int = 0, secrets: tuple[str, ...] = ()
) -> Any:
    """A copy of ``value`` that is safe to log: secrets redacted, size bounded.

    ``secrets`` are values to hide wherever they stand (the client's own credentials).
    """
    if isinstance(value, str):
        if _is_credential(value):
            return REDACTED
        if session_id and session_id in value:
            value = value.replace(session_id, SESSION)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if len(value) > _MAX_STRING:
            return f"{value[:_MAX_STRING]}...<{len(value) - _MAX_STRING} more chars>"
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= _MAX_DEPTH:
        return f"<{type(value).__name__}>"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i >= _MAX_ITEMS:
                out["..."] = f"<{len(value) - _MAX_ITEMS} more keys>"
                break
            name = redact(key, session_id, 0, secrets) if isinstance(key, str) else str(key)
            if isinstance(key, str) and _is_secret_key(key):
                out[name] = REDACTED
            else:
                out[name] = redact(item, session_id, depth + 1, secrets)
        return out
    if isinstance(value, (list, tuple)):
        items = [redact(item, session_id, depth + 1, secrets) for item in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            items.append(f"<{len(value) - _MAX_ITEMS} more items>")
        return items
    # Not a JSON type: name the type, never call repr() on what may be anything.
    return f"<{type(value).__name__}>"


def _as_dict(message: Message) -> dict[str, Any]:
    if isinstance(message, Request):
        return {"id": message.id, "method": message.method, "params": message.params}
    if isinstance(message, Notification):
        return {"method": message.method, "params": message.params}
    if isinstance(message, Response):
        return {"id": message.id, "result": message.result}
    error = {"code": message.code, "message": message.message, "data": message.data}
    return {"id": message.id, "error": error}


def _format(message: Any, transport: Optional[Transport]) -> str:
    secrets = transport.hidden() if transport is not None else ()
    safe = redact(message, _session_id(transport), 0, secrets)
    try:
        text = json.dumps(safe, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):  # pragma: no cover - redact() leaves only JSON types
        text = "<unprintable>"
    if len(text) > MAX_LINE:
        text = f"{text[:MAX_LINE]}...<{len(text) - MAX_LINE} more chars>"
    return text


def _session_id(transport: Optional[Transport]) -> Optional[str]:
    try:
        session_id = transport.session_id if transport is not None else None
    except Exception:
        return None
    return session_id if isinstance(session_id, str) else None


def log_outgoing(message: Any, transport: Optional[Transport] = None) -> None:
    """Log a message about to be sent (its wire dict), if DEBUG is on for ``mcp_sync.wire``.

    ``transport`` tells the session id to hide.
    """
    if not wire_log.isEnabledFor(logging.DEBUG):
        return
    try:
        text = _format(message, transport)
    except Exception:  # logging must never break the exchange
        text = "<unprintable>"
    wire_log.debug("send %s", text)


def log_incoming(message: Message, transport: Optional[Transport] = None) -> None:
    """Log a parsed message that was received, if DEBUG is on for ``mcp_sync.wire``.

    ``transport`` tells the session id to hide.
    """
    if not wire_log.isEnabledFor(logging.DEBUG):
        return
    try:
        text = _format(_as_dict(message), transport)
    except Exception:  # logging must never break the exchange
        text = "<unprintable>"
    wire_log.debug("recv %s", text)
