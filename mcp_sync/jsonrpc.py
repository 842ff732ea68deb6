"""JSON-RPC 2.0 messages: pure parsing and encoding over bytes and dicts, with no I/O.

Messages travel as plain dicts (the fastest form to build and to hand to ``json``);
:func:`parse_payload` checks a received payload and returns typed messages.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Union, cast

from .errors import ProtocolError, excerpt

__all__ = [
    "ErrorResponse",
    "Message",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "encode",
    "error_response",
    "notification",
    "parse_message",
    "parse_payload",
    "request",
    "response",
]

RequestId = Union[int, str]

# JSON-RPC error codes mcp_sync sends or recognises.
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


class Request:
    """A request the other side sent: it wants an answer carrying ``id``."""

    __slots__ = ("id", "method", "params")

    def __init__(self, id: RequestId, method: str, params: Optional[dict[str, Any]]):
        self.id = id
        self.method = method
        self.params = params

    def __repr__(self) -> str:
        return f"Request(id={self.id!r}, method={self.method!r})"


class Notification:
    """A notification: no id, no answer."""

    __slots__ = ("method", "params")

    def __init__(self, method: str, params: Optional[dict[str, Any]]):
        self.method = method
        self.params = params

    def __repr__(self) -> str:
        return f"Notification(method={self.method!r})"


class Response:
    """A successful answer to the request with ``id``."""

    __slots__ = ("id", "result")

    def __init__(self, id: RequestId, result: Any):
        self.id = id
        self.result = result

    def __repr__(self) -> str:
        return f"Response(id={self.id!r})"


class ErrorResponse:
    """An error answer; ``id`` is None when the other side could not read the request id."""

    __slots__ = ("code", "data", "id", "message")

    def __init__(self, id: Optional[RequestId], code: int, message: str, data: Any = None):
        self.id = id
        self.code = code
        self.message = message
        self.data = data

    def __repr__(self) -> str:
        return f"ErrorResponse(id={self.id!r}, code={self.code!r})"


Message = Union[Request, Notification, Response, ErrorResponse]


def _is_id(value: Any) -> bool:
    # bool is an int subclass, but true/false is not a valid id.
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def parse_message(obj: Any) -> Message:
    """Classify one decoded JSON value as a JSON-RPC message.

    Raises :class:`~mcp_sync.ProtocolError` when ``obj`` is not a valid JSON-RPC 2.0 message.
    """
    if not isinstance(obj, dict):
        raise ProtocolError("a JSON-RPC message must be an object", body_excerpt=excerpt(repr(obj)))
    if obj.get("jsonrpc") != "2.0":
        raise ProtocolError('message lacks "jsonrpc": "2.0"', body_excerpt=excerpt(repr(obj)))
    method = obj.get("method")
    if method is not None:
        if not isinstance(method, str):
            raise ProtocolError("message method must be a string", body_excerpt=excerpt(repr(obj)))
        params = obj.get("params")
        if params is not None and not isinstance(params, dict):
            raise ProtocolError(f"params of {method} must be an object")
        if "id" in obj:
            if not _is_id(obj["id"]):
                raise ProtocolError(f"request {method} has an invalid id {obj['id']!r}")
            return Request(obj["id"], method, params)
        return Notification(method, params)
    has_result = "result" in obj
    error = obj.get("error")
    if has_result == (error is not None):
        raise ProtocolError(
            "a response must carry exactly one of result and error", body_excerpt=excerpt(repr(obj))
        )
    msg_id = obj.get("id")
    if has_result:
        if not _is_id(msg_id):
            raise ProtocolError(f"response has an invalid id {msg_id!r}")
        return Response(cast(RequestId, msg_id), obj["result"])
    if msg_id is not None and not _is_id(msg_id):
        raise ProtocolError(f"error response has an invalid id {msg_id!r}")
    if not isinstance(error, dict):
        raise ProtocolError("error must be an object", body_excerpt=excerpt(repr(obj)))
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ProtocolError("error code must be an integer", body_excerpt=excerpt(repr(obj)))
    message = error.get("message")
    return ErrorResponse(
        msg_id, code, message if isinstance(message, str) else "", error.get("data")
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads and json.dumps build a new one per call when given options.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_text(payload: bytes) -> Union[str, bytes]:
    """The text of a JSON body, decoded as ``json.loads`` decodes bytes.

    Handing :func:`parse_payload` the text instead of the bytes lets a large body's
    bytes go before it is parsed. Bytes that do not decode are returned as they are,
    for :func:`parse_payload` to report.
    """
    try:
        return payload.decode(json.detect_encoding(payload), "surrogatepass")
    except UnicodeDecodeError:
        return payload


def parse_payload(payload: Union[bytes, str], *, allow_batch: bool = False) -> list[Message]:
    """Decode one HTTP body, SSE ``data`` or stdio line into its messages.

    A JSON array (a batch) is accepted only when ``allow_batch`` is true, as the
    2025-03-26 revision requires. Raises :class:`~mcp_sync.ProtocolError` on
    malformed JSON or a message of the wrong shape.
    """
    try:
        if not isinstance(payload, str):
            payload = payload.decode(json.detect_encoding(payload), "surrogatepass")
        obj = _DECODER.decode(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(
            f"malformed JSON from server ({exc})", body_excerpt=excerpt(payload)
        ) from None
    if isinstance(obj, list):
        if not allow_batch:
            raise ProtocolError("server sent a JSON-RPC batch, which this protocol version forbids")
        if not obj:
            raise ProtocolError("server sent an empty JSON-RPC batch")
        return [parse_message(item) for item in obj]
    return [parse_message(obj)]


def request(id: RequestId, method: str, params: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Build the wire dict of a request."""
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Build the wire dict of a notification."""
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def response(id: RequestId, result: Any) -> dict[str, Any]:
    """Build the wire dict of a successful response."""
    return {"jsonrpc": "2.0", "id": id, "result": result}


def error_response(
    id: Optional[RequestId], code: int, message: str, data: Any = None
) -> dict[str, Any]:
    """Build the wire dict of an error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": id, "error": error}


def encode(message: Union[dict[str, Any], list[dict[str, Any]]]) -> bytes:
    """Serialise a message as compact, single-line UTF-8 JSON.

    Raises :class:`ValueError` for what JSON cannot carry (NaN, lone surrogates) and
    :class:`TypeError` for values that are not JSON types.
    """
    try:
        return _ENCODER.encode(message).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the message holds a string that is not valid Unicode") from None
    except ValueError as exc:
        raise ValueError(f"the message cannot be sent as JSON: {exc}") from None
