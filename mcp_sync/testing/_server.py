"""An in-process MCP server over Streamable HTTP, for demos and tests (stdlib only).

One :class:`MCPTestServer` speaks both eras on one endpoint, as a dual-era server may:

- a POST whose ``params._meta`` carries ``io.modelcontextprotocol/protocolVersion``, or
  whose ``MCP-Protocol-Version`` header names a version that is not a legacy one, or that
  carries ``Mcp-Method``, is served statelessly as 2026-07-28 describes;
- anything else is legacy (2025-03-26 to 2025-11-25): ``initialize`` opens a session
  with an ``Mcp-Session-Id``, later requests must carry it (404 once it is gone), GET
  opens the session's listener stream and DELETE ends it.

Each connection is served by its own daemon thread; tool, resource and prompt functions
run on the thread of the request that called them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import itertools
import json
import logging
import math
import os
import queue
import re
import select
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable, Optional, TypeVar, Union
from urllib.parse import urlsplit

from . import _schema
from ._content import ToolError, tool_result

log = logging.getLogger("mcp_sync.testing")

#: The legacy (handshake) revisions the server speaks, newest first.
LEGACY_VERSIONS: tuple[str, ...] = ("2025-11-25", "2025-06-18", "2025-03-26")
#: The modern (stateless) revisions the server speaks.
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND = -32700, -32600, -32601
INVALID_PARAMS, INTERNAL_ERROR = -32602, -32603
RESOURCE_NOT_FOUND = -32002  # legacy; 2026-07-28 uses INVALID_PARAMS (SEP-2164)
HEADER_MISMATCH, MISSING_CAPABILITY, UNSUPPORTED_VERSION = -32020, -32021, -32022

_META = "io.modelcontextprotocol/"
_JSON = "application/json"
_SSE = "text/event-stream"
_MAX_BODY = 16 * 1024 * 1024
_KEEPALIVE = 0.5  # seconds between SSE comments on an idle GET stream
# Methods whose handlers run user code that may stream notifications or ask for input.
_USER_METHODS = frozenset({"tools/call", "resources/read", "prompts/get"})
# The client capability each server-to-client request needs.
_INPUT_CAPABILITY = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}
_TASKS_EXTENSION = "io.modelcontextprotocol/tasks"

_UNPARSABLE = object()  # a POST body that is not JSON

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

F = TypeVar("F", bound=Callable[..., Any])


class RPCError(Exception):
    """Raise from any handler to answer with this JSON-RPC error.

    ``http_status`` is the status a modern (2026-07-28) answer carries; legacy answers
    always use 200 for JSON-RPC errors.
    """

    def __init__(
        self, code: int, message: str, data: Any = None, *, http_status: Optional[int] = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class _HTTPReply(Exception):
    """Internal: answer the HTTP request with this status and JSON-RPC error at once."""

    def __init__(self, status: int, error: Optional[RPCError], request_id: Any = None):
        super().__init__(status)
        self.status = status
        self.error = error
        self.request_id = request_id


class _InputRequired(Exception):
    """Internal: a modern request needs input from the client (MRTR)."""

    def __init__(self, requests: dict[str, Any]):
        super().__init__("input required")
        self.requests = requests


@dataclass
class ReceivedRequest:
    """One HTTP request the server received, for assertions in tests."""

    http_method: str
    method: Optional[str]
    session_id: Optional[str]
    headers: dict[str, str]
    era: Optional[str]


@dataclass
class _Tool:
    name: str
    fn: Callable[..., Any]
    description: str
    input_schema: dict[str, Any]
    output_schema: Optional[dict[str, Any]]
    wants_ctx: bool
    extra: dict[str, Any]
    task: bool = False

    def listing(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
        }
        if self.output_schema is not None:
            entry["outputSchema"] = self.output_schema
        entry.update(self.extra)
        return entry


def _resource_entry(
    key: str, address: str, name: str, description: Optional[str], mime_type: Optional[str]
) -> dict[str, Any]:
    """The listing of a resource (``key="uri"``) or of a template (``"uriTemplate"``)."""
    entry: dict[str, Any] = {key: address, "name": name}
    if description:
        entry["description"] = description
    if mime_type:
        entry["mimeType"] = mime_type
    return entry


@dataclass
class _Resource:
    uri: str
    fn: Callable[..., Any]
    name: str
    description: Optional[str]
    mime_type: Optional[str]
    wants_ctx: bool

    def listing(self) -> dict[str, Any]:
        return _resource_entry("uri", self.uri, self.name, self.description, self.mime_type)


@dataclass
class _Template:
    uri_template: str
    fn: Callable[..., Any]
    name: str
    description: Optional[str]
    mime_type: Optional[str]
    wants_ctx: bool
    pattern: re.Pattern[str]
    complete: Mapping[str, Any]

    def listing(self) -> dict[str, Any]:
        return _resource_entry(
            "uriTemplate", self.uri_template, self.name, self.description, self.mime_type
        )


@dataclass
class _Prompt:
    name: str
    fn: Callable[..., Any]
    description: str
    arguments: list[dict[str, Any]]
    wants_ctx: bool
    complete: Mapping[str, Any]

    def listing(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.arguments:
            entry["arguments"] = self.arguments
        return entry


class _Stream:
    """The SSE body of one HTTP response, opened on the first event (lazily).

    ``lock`` serialises writes: the request's own thread and a tool's emitting code may
    both write. ``drop_after`` cuts the connection before event number ``drop_after + 1``.
    """

    def __init__(self, handler: _Handler, drop_after: Optional[int] = None):
        self._handler = handler
        self._lock = threading.Lock()  # guards the fields below and socket writes
        self._drop_after = drop_after
        self.opened = False
        self.closed = False
        self.sent = 0

    def open(self) -> None:
        with self._lock:
            self._open()

    def _open(self) -> None:
        if self.opened or self.closed:
            return
        self.opened = True
        handler = self._handler
        handler.close_connection = True  # the body ends when the connection does
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", _SSE)
            handler.send_header("Cache-Control", "no-cache")
            handler.send_header("X-Accel-Buffering", "no")
            handler.send_header("Connection", "close")
            for name, value in handler.extra_headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.flush()
        except OSError:
            self.closed = True
        if self._drop_after == 0:
            self._cut()

    def _cut(self) -> None:
        self.closed = True
        self._handler.shut_socket()

    def send(self, message: Mapping[str, Any]) -> bool:
        """Write one event; False once the stream is closed, cut or broken."""
        data = json.dumps(message, separators=(",", ":"))
        with self._lock:
            self._open()
            if self.closed:
                return False
            if self._drop_after is not None and self.sent >= self._drop_after:
                self._cut()
                return False
            try:
                self._handler.wfile.write(f"event: message\ndata: {data}\n\n".encode())
                self._handler.wfile.flush()
            except OSError:
                self.closed = True
                return False
            self.sent += 1
            return True

    def comment(self) -> bool:
        """A keep-alive comment; False once the peer is gone."""
        with self._lock:
            if self.closed or not self.opened:
                return not self.closed
            try:
                self._handler.wfile.write(b":\n\n")
                self._handler.wfile.flush()
            except OSError:
                self.closed = True
            return not self.closed

    def close(self) -> None:
        with self._lock:
            self.closed = True


class _Session:
    """One legacy session. Its fields are guarded by the owning server's ``_lock``."""

    def __init__(self, session_id: str, version: str, capabilities: dict[str, Any], info: Any):
        self.id = session_id
        self.version = version
        self.client_capabilities = capabilities
        self.client_info = info
        self.initialized = False
        self.log_level: Optional[str] = None
        self.subscriptions: set[str] = set()
        # GET listener streams: each is a queue its own thread drains; None ends it.
        self.listeners: list[queue.Queue[Optional[dict[str, Any]]]] = []
        # Requests in flight, by JSON-RPC id, so notifications/cancelled can reach them.
        self.inflight: dict[Any, Context] = {}
        # Answers awaited from the client, by the id of the server's request.
        self.waiting: dict[str, _Waiter] = {}
        self.ended = False


class _Waiter:
    """An answer one thread waits for; set once by the thread that received it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.message: Optional[dict[str, Any]] = None


class Context:
    """What a tool, resource or prompt function learns about its request, passed as ``ctx``.

    Give the function a parameter named ``ctx`` to receive it. ``progress`` and ``log``
    send notifications on the request's response stream (the response turns into an SSE
    stream on the first one); ``elicit``, ``sample`` and ``list_roots`` ask the client,
    as a server request on a legacy session or as an ``input_required`` round (MRTR) in
    the modern era, and return the client's answer.
    """

    def __init__(
        self,
        server: MCPTestServer,
        *,
        era: str,
        protocol_version: str,
        method: str,
        request_id: Any,
        params: dict[str, Any],
        session: Any,  # Optional[_Session]; private types stay out of the documentation
        client_capabilities: dict[str, Any],
        client_info: Any,
        log_level: Optional[str],
        stream: Any,  # Optional[_Stream]
        handler: Any,  # _Handler
    ):
        meta = params.get("_meta")
        self.meta: dict[str, Any] = meta if isinstance(meta, dict) else {}
        self.era = era
        self.protocol_version = protocol_version
        self.method = method
        self.request_id = request_id
        self.session_id = session.id if session is not None else None
        self.client_capabilities = client_capabilities
        self.client_info = client_info
        self.progress_token: Any = self.meta.get("progressToken")
        self.log_level = log_level
        self._server = server
        self._session: Optional[_Session] = session
        self._stream: Optional[_Stream] = stream
        self._handler: _Handler = handler
        self._cancelled = threading.Event()
        self._inputs_asked = 0
        self._input_responses: dict[str, Any] = {}

    # --- notifications --------------------------------------------------------------------

    def _emit(self, message: dict[str, Any]) -> bool:
        if self._stream is not None:
            return self._stream.send(message)
        if self._session is not None:  # a JSON answer: the session's GET stream carries it
            return self._server._to_listeners(self._session, message)
        return False

    def notify(self, method: str, params: Optional[dict[str, Any]] = None) -> bool:
        """Send a notification related to this request; False when nothing carried it."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        return self._emit(message)

    def progress(
        self, progress: float, total: Optional[float] = None, message: Optional[str] = None
    ) -> bool:
        """Send ``notifications/progress``, if the request asked for progress (a token)."""
        if self.progress_token is None:
            return False
        params: dict[str, Any] = {"progressToken": self.progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        return self.notify("notifications/progress", params)

    def log(self, level: str, data: Any, logger: Optional[str] = None) -> bool:
        """Send ``notifications/message`` at ``level`` if the client's level lets it through.

        Legacy: the session's ``logging/setLevel`` level (everything before one is set).
        Modern: only when the request's ``_meta`` names a ``logLevel``, as 2026-07-28 says.
        """
        if level not in LOG_LEVELS:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS)}")
        threshold = self.log_level
        if threshold is None and self.era == "modern":
            return False
        if threshold is not None and LOG_LEVELS.index(level) < LOG_LEVELS.index(threshold):
            return False
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        return self.notify("notifications/message", params)

    def is_cancelled(self) -> bool:
        """Whether the client cancelled the request (legacy ``notifications/cancelled``, or
        a closed connection, which is how a 2026-07-28 client cancels)."""
        return self._cancelled.is_set() or self._handler.peer_closed()

    # --- capabilities and client input ----------------------------------------------------

    def require_capability(self, *names: str) -> None:
        """Fail the request unless the client declared each named capability.

        Modern: -32021 (HTTP 400) with ``data.requiredCapabilities``; legacy: -32600.
        """
        missing = [n for n in names if n not in self.client_capabilities]
        if not missing:
            return
        if self.era == "modern":
            raise RPCError(
                MISSING_CAPABILITY,
                f"Missing required client capability: {', '.join(missing)}",
                {"requiredCapabilities": {n: {} for n in missing}},
                http_status=400,
            )
        raise RPCError(INVALID_REQUEST, f"the client did not declare: {', '.join(missing)}")

    def request(
        self, method: str, params: Optional[dict[str, Any]] = None, timeout: float = 30.0
    ) -> Any:
        """Ask the client (``sampling/createMessage``, ``elicitation/create`` or ``roots/list``).

        Returns the client's result. An error answer raises :class:`RPCError`; no answer
        within ``timeout`` seconds raises ``TimeoutError``.
        """
        capability = _INPUT_CAPABILITY.get(method)
        if capability is not None:
            self.require_capability(capability)
        if self.era == "modern":
            return self._modern_input(method, params)
        return self._server._ask_client(self, method, params, timeout)

    def elicit(
        self, message: str, requested_schema: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Form-mode elicitation; returns the ``ElicitResult`` (``action``, ``content``)."""
        params = {"mode": "form", "message": message, "requestedSchema": requested_schema}
        if self.era == "legacy" and self.protocol_version < "2025-11-25":
            params.pop("mode")
        result: dict[str, Any] = self.request("elicitation/create", params, timeout)
        return result

    def sample(
        self, prompt: Union[str, list[dict[str, Any]]], max_tokens: int = 100, timeout: float = 30.0
    ) -> dict[str, Any]:
        """``sampling/createMessage`` of one user ``prompt`` (or ready messages); the result."""
        messages = (
            [{"role": "user", "content": {"type": "text", "text": prompt}}]
            if isinstance(prompt, str)
            else prompt
        )
        params = {"messages": messages, "maxTokens": max_tokens}
        result: dict[str, Any] = self.request("sampling/createMessage", params, timeout)
        return result

    def list_roots(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The client's roots (``roots/list``)."""
        result = self.request("roots/list", None, timeout)
        roots = result.get("roots") if isinstance(result, dict) else None
        return roots if isinstance(roots, list) else []

    def _modern_input(self, method: str, params: Optional[dict[str, Any]]) -> Any:
        if self.method not in _USER_METHODS:
            raise RPCError(INTERNAL_ERROR, f"{self.method} cannot ask the client for input")
        self._inputs_asked += 1
        key = f"input-{self._inputs_asked}"
        if key in self._input_responses:
            return self._input_responses[key]
        request: dict[str, Any] = {"method": method}
        if params is not None:
            request["params"] = params
        raise _InputRequired({key: request})


class _HTTPServer(HTTPServer):
    """``HTTPServer`` with one named, tracked daemon thread per connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: MCPTestServer):
        self.owner = owner
        self._conn_lock = threading.Lock()  # guards _threads and _sockets; accept + conn threads
        self._threads: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self._numbers = itertools.count(1)
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() looks up the host name (getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve,
            args=(request, client_address),
            name=f"mcp_sync-testserver-conn-{next(self._numbers)}",
            daemon=True,
        )
        with self._conn_lock:
            if self.owner._stopping.is_set():
                self.shutdown_request(request)
                return
            self._threads.add(thread)
            self._sockets.add(request)
        thread.start()

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            if not self.owner._stopping.is_set():
                log.debug("mcp_sync.testing: connection error", exc_info=True)
        finally:
            self.shutdown_request(request)
            with self._conn_lock:
                self._sockets.discard(request)
                self._threads.discard(threading.current_thread())

    def cut_all(self) -> list[threading.Thread]:
        """Shut every open connection down; the threads that served them."""
        with self._conn_lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return threads


class _Handler(BaseHTTPRequestHandler):
    """One connection's requests; runs on that connection's thread."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    extra_headers: dict[str, str]

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("mcp_sync.testing: %s " + format, self.address_string(), *args)

    def shut_socket(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def peer_closed(self) -> bool:
        """Whether the client closed its end (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True

    def do_POST(self) -> None:
        self.extra_headers = {}
        self.server.owner._handle_post(self)

    def do_GET(self) -> None:
        self.extra_headers = {}
        self.server.owner._handle_get(self)

    def do_DELETE(self) -> None:
        self.extra_headers = {}
        self.server.owner._handle_delete(self)

    def _not_allowed(self) -> None:
        self.extra_headers = {}
        self.server.owner._reply(self, 405, None, allow=True)

    do_PUT = do_PATCH = do_OPTIONS = _not_allowed

    # --- writing --------------------------------------------------------------------------

    def send_body(
        self,
        status: int,
        body: Union[bytes, str, Mapping[str, Any], list[Any], None],
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        """A whole response with a Content-Length; JSON for a mapping or list."""
        content_type = _JSON
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data, content_type = body, "application/octet-stream"
        elif isinstance(body, str):
            data, content_type = body.encode(), "text/plain; charset=utf-8"
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        try:
            self.send_response(status)
            names = {k.lower() for k in (headers or {})}
            if data and "content-type" not in names:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in {**self.extra_headers, **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            if data:
                self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _template_pattern(template: str) -> tuple[re.Pattern[str], list[str]]:
    """A regex for a level-1 URI template (``{var}`` matches one path segment)."""
    names: list[str] = []
    parts: list[str] = []
    pos = 0
    for match in re.finditer(r"\{([A-Za-z0-9_]+)\}", template):
        parts.append(re.escape(template[pos : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/?#]+)")
        names.append(match.group(1))
        pos = match.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts) + r"\Z"), names


def _decode_header_value(value: str) -> str:
    """A header value with the 2026-07-28 ``=?base64?...?=`` sentinel decoded.

    Raises ``ValueError`` for a sentinel whose payload is not valid base64 of UTF-8.
    """
    value = value.strip(" \t")
    if value.startswith("=?base64?") and value.endswith("?=") and len(value) >= 11:
        payload = value[len("=?base64?") : -2]
        try:
            return base64.b64decode(payload, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("invalid base64 in header value") from None
    return value


def _header_params(
    schema: Any, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str, Any]]:
    """The ``x-mcp-header`` marks of a schema: (property path, header name, type)."""
    found: list[tuple[tuple[str, ...], str, Any]] = []
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return found
    for key, prop in properties.items():
        if not isinstance(prop, dict):
            continue
        if isinstance(prop.get("x-mcp-header"), str):
            found.append(((*path, key), prop["x-mcp-header"], prop.get("type")))
        found.extend(_header_params(prop, (*path, key)))
    return found


def _header_text(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


class MCPTestServer:
    """An MCP server for tests and demos, on ``http://127.0.0.1:<port>/mcp``.

    Register tools, resources and prompts with the decorators, then ``start()`` it (or use
    it as a context manager); registering more while it runs is fine. ``eras`` chooses
    what it speaks: ``("legacy", "modern")`` (both, the default), ``("legacy",)`` for a
    server of the handshake era, ``("modern",)`` for a 2026-07-28-only one.
    ``json_response=True`` makes legacy answers plain JSON (their notifications then go to
    the session's GET stream); ``get_stream=False`` answers GET with 405;
    ``session_ids=False`` runs legacy without sessions; ``page_size`` paginates lists;
    ``ttl_ms`` is the ``ttlMs`` of cacheable modern results (0: always stale).

    Fault switches (``expire_sessions``, ``drop_next_stream``, ``delay``,
    ``fail_next``) may be flipped from any thread at any time.
    """

    __test__ = False  # not a test class, whatever pytest makes of the alias TestServer

    def __init__(
        self,
        *,
        name: str = "mcp_sync-testserver",
        version: str = "1.0.0",
        instructions: Optional[str] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/mcp",
        eras: Sequence[str] = ("legacy", "modern"),
        json_response: bool = False,
        get_stream: bool = True,
        session_ids: bool = True,
        page_size: Optional[int] = None,
        ttl_ms: int = 0,
        allowed_hosts: Iterable[str] = (),
    ):
        unknown = set(eras) - {"legacy", "modern"}
        if unknown or not eras:
            raise ValueError('eras must name "legacy", "modern" or both')
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be 1 or more")
        self.name = name
        self.version = version
        self.instructions = instructions
        self.eras = tuple(eras)
        self.json_response = json_response
        self.get_stream = get_stream
        self._use_sessions = session_ids
        self.page_size = page_size
        self.ttl_ms = ttl_ms
        self._host = host
        self._port = port
        self._path = path
        self._allowed_hosts = _LOCAL_HOSTS | {h.lower() for h in allowed_hosts}
        self._secret = os.urandom(16)
        # Guards the registry, sessions, fault switches and the request log; any thread.
        self._lock = threading.RLock()
        self._tools: dict[str, _Tool] = {}
        self._resources: dict[str, _Resource] = {}
        self._templates: dict[str, _Template] = {}
        self._prompts: dict[str, _Prompt] = {}
        self._sessions: dict[str, _Session] = {}
        self._anonymous: Optional[_Session] = None  # the one session of session_ids=False
        self._received: list[ReceivedRequest] = []
        self._fail: list[tuple[int, dict[str, str], Any, Optional[str]]] = []
        self._drop: Optional[tuple[int, Optional[str]]] = None
        self._delay = 0.0
        self._delay_method: Optional[str] = None  # only POSTs of this method are delayed
        self._ids = itertools.count(1)
        self._tasks: dict[str, dict[str, Any]] = {}  # modern tasks by id; under _lock
        # Serialises start() and stop(); held across both.
        self._life_lock = threading.Lock()
        self._httpd: Optional[_HTTPServer] = None
        self._accept_thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()  # set while stopping or stopped; wakes all waits

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> MCPTestServer:
        """Bind and serve in background threads; returns the server. Idempotent."""
        with self._life_lock:
            if self._httpd is not None:
                return self
            self._stopping.clear()
            httpd = _HTTPServer((self._host, self._port), self)
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="mcp_sync-testserver-accept",
                daemon=True,
            )
            self._httpd = httpd
            self._accept_thread = thread
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: end every session and stream, close every connection, and join
        the server's threads (waiting up to ``timeout`` seconds in all; a tool function
        still running after that is left to finish on its daemon thread). Idempotent."""
        with self._life_lock:
            httpd, thread = self._httpd, self._accept_thread
            if httpd is None or thread is None:
                return
            self._stopping.set()
            httpd.shutdown()
            httpd.server_close()
            with self._lock:
                sessions = list(self._sessions.values())
                if self._anonymous is not None:
                    sessions.append(self._anonymous)
                self._sessions.clear()
                self._anonymous = None
                for session in sessions:
                    self._end_session(session)
            deadline = time.monotonic() + timeout
            thread.join(max(deadline - time.monotonic(), 0))
            for conn in httpd.cut_all():
                conn.join(max(deadline - time.monotonic(), 0))
            self._httpd = None
            self._accept_thread = None

    def __enter__(self) -> MCPTestServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (started servers only)."""
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("the server is not started")
        return int(httpd.server_address[1])

    @property
    def url(self) -> str:
        """The MCP endpoint, ``http://127.0.0.1:<port>/mcp``."""
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self.port}{self._path}"

    def __repr__(self) -> str:
        state = self.url if self._httpd is not None else "stopped"
        return f"<MCPTestServer {self.name} {state}>"

    # --- registration ---------------------------------------------------------------------

    def tool(
        self,
        name: Optional[str] = None,
        description: Optional[str] = None,
        input_schema: Optional[dict[str, Any]] = None,
        output_schema: Optional[dict[str, Any]] = None,
        task: bool = False,
        **extra: Any,
    ) -> Callable[[F], F]:
        """Register a tool; the function's name, docstring and type hints fill the gaps.

        The input schema comes from the parameters (``str``, ``int``, ``float``, ``bool``,
        lists, dicts, ``Optional``, ``Literal``; a default makes one optional); a parameter
        named ``ctx`` receives the :class:`Context`. The output schema comes from a dict
        return hint only when given. Extra keywords (``title``, ``annotations``,
        ``_meta``...) go into the listing as they are. The function returns a str, content
        block(s), a :class:`ToolResult`, or JSON (a dict becomes ``structuredContent``);
        raising :class:`ToolError` (or any exception) answers ``isError: true``, raising
        :class:`RPCError` answers a JSON-RPC error. ``task=True`` runs it as a task in the
        2026-07-28 era (the ``io.modelcontextprotocol/tasks`` extension): the call is
        answered at once with a task, and ``tasks/get`` reports its progress to the end.
        """

        def register(fn: F) -> F:
            wants_ctx = _schema.parameters(fn)[1]
            entry = _Tool(
                name=name or fn.__name__,
                fn=fn,
                description=description if description is not None else _doc(fn),
                input_schema=input_schema if input_schema is not None else _schema.input_schema(fn),
                output_schema=output_schema,
                wants_ctx=wants_ctx,
                extra=dict(extra),
                task=task,
            )
            with self._lock:
                self._tools[entry.name] = entry
            self._list_changed("tools")
            return fn

        return register

    def resource(
        self,
        uri: str,
        name: Optional[str] = None,
        mime_type: Optional[str] = "text/plain",
        description: Optional[str] = None,
    ) -> Callable[[F], F]:
        """Register a resource read by calling the function (with ``ctx`` if it takes one).

        It returns a str (text), bytes (a blob), a ``ResourceContents`` dict, or a list
        of them.
        """

        def register(fn: F) -> F:
            entry = _Resource(
                uri=uri,
                fn=fn,
                name=name or fn.__name__,
                description=description if description is not None else _doc(fn) or None,
                mime_type=mime_type,
                wants_ctx=_schema.parameters(fn)[1],
            )
            with self._lock:
                self._resources[uri] = entry
            self._list_changed("resources")
            return fn

        return register

    def resource_template(
        self,
        uri_template: str,
        name: Optional[str] = None,
        mime_type: Optional[str] = "text/plain",
        description: Optional[str] = None,
        complete: Optional[Mapping[str, Any]] = None,
    ) -> Callable[[F], F]:
        """Register a resource template such as ``test://items/{id}``.

        Each ``{name}`` matches one path segment and is passed to the function as the
        keyword ``name``. ``complete`` maps a variable to its candidate values (a list, or
        a callable taking the typed prefix) for ``completion/complete``.
        """
        pattern, _ = _template_pattern(uri_template)

        def register(fn: F) -> F:
            entry = _Template(
                uri_template=uri_template,
                fn=fn,
                name=name or fn.__name__,
                description=description if description is not None else _doc(fn) or None,
                mime_type=mime_type,
                wants_ctx=_schema.parameters(fn)[1],
                pattern=pattern,
                complete=dict(complete or {}),
            )
            with self._lock:
                self._templates[uri_template] = entry
            self._list_changed("resources")
            return fn

        return register

    def prompt(
        self,
        name: Optional[str] = None,
        description: Optional[str] = None,
        complete: Optional[Mapping[str, Any]] = None,
    ) -> Callable[[F], F]:
        """Register a prompt; its parameters are the prompt's (string) arguments.

        The function returns a str (one user message), a list of messages (dicts with
        ``role`` and ``content``) or of content blocks and strings (user messages), or a
        whole ``GetPromptResult`` dict. ``complete`` is as for :meth:`resource_template`.
        """

        def register(fn: F) -> F:
            params, wants_ctx = _schema.parameters(fn)
            arguments = [
                {"name": p.name, "required": p.default is inspect.Parameter.empty} for p in params
            ]
            entry = _Prompt(
                name=name or fn.__name__,
                fn=fn,
                description=description if description is not None else _doc(fn),
                arguments=arguments,
                wants_ctx=wants_ctx,
                complete=dict(complete or {}),
            )
            with self._lock:
                self._prompts[entry.name] = entry
            self._list_changed("prompts")
            return fn

        return register

    def remove_tool(self, name: str) -> None:
        """Unregister a tool (listeners hear ``notifications/tools/list_changed``)."""
        with self._lock:
            self._tools.pop(name, None)
        self._list_changed("tools")

    # --- notifications --------------------------------------------------------------------

    def notify(self, method: str, params: Optional[dict[str, Any]] = None) -> int:
        """Send a notification on every legacy session's GET stream; how many carried it."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        with self._lock:
            sessions = list(self._sessions.values())
            if self._anonymous is not None:
                sessions.append(self._anonymous)
        return sum(self._to_listeners(s, message) for s in sessions)

    def resource_updated(self, uri: str) -> int:
        """``notifications/resources/updated`` to the legacy sessions subscribed to ``uri``."""
        message = {
            "jsonrpc": "2.0",
            "method": "notifications/resources/updated",
            "params": {"uri": uri},
        }
        with self._lock:
            sessions = [s for s in self._sessions.values() if uri in s.subscriptions]
        return sum(self._to_listeners(s, message) for s in sessions)

    def _list_changed(self, kind: str) -> None:
        if self._httpd is not None:
            self.notify(f"notifications/{kind}/list_changed")

    def _to_listeners(self, session: _Session, message: dict[str, Any]) -> bool:
        with self._lock:
            listeners = list(session.listeners)
        for listener in listeners:
            listener.put(message)
        return bool(listeners)

    # --- fault switches -------------------------------------------------------------------

    def expire_sessions(self) -> int:
        """Forget every legacy session, as a restarted server would; how many there were.

        Their GET streams end, and the next request with an old session id gets 404.
        """
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
            for session in sessions:
                self._end_session(session)
        return len(sessions)

    def drop_next_stream(self, after_events: int = 0, method: Optional[str] = None) -> None:
        """Cut the answer to the next POSTed request (of ``method``, if given) mid-response.

        The answer becomes an SSE stream that carries ``after_events`` events (progress,
        logs...) and then ends without the response. The request's handler still runs.
        """
        if after_events < 0:
            raise ValueError("after_events must be 0 or more")
        with self._lock:
            self._drop = (after_events, method)

    def delay(self, seconds: float, method: Optional[str] = None) -> None:
        """Hold every POST (of JSON-RPC ``method``, if given) this long before handling
        it, until ``delay(0)``."""
        if seconds < 0:
            raise ValueError("seconds must be 0 or more")
        with self._lock:
            self._delay = float(seconds)
            self._delay_method = method

    def fail_next(
        self,
        status: int,
        headers: Optional[Mapping[str, str]] = None,
        body: Union[bytes, str, Mapping[str, Any], None] = None,
        count: int = 1,
        method: Optional[str] = None,
    ) -> None:
        """Answer the next ``count`` POSTs (of JSON-RPC ``method``, if given) with ``status``.

        ``body`` is sent as it is (a mapping as JSON; nothing by default). The request is
        not handled.
        """
        if count < 1:
            raise ValueError("count must be 1 or more")
        with self._lock:
            for _ in range(count):
                self._fail.append((status, dict(headers or {}), body, method))

    def reset_faults(self) -> None:
        """Clear every armed fault and the delay."""
        with self._lock:
            self._fail.clear()
            self._drop = None
            self._delay = 0.0

    # --- what happened --------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every HTTP request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def take_requests(self) -> list[ReceivedRequest]:
        """Every HTTP request received since the last call, and forget them (for long runs,
        where keeping them all would grow without end)."""
        with self._lock:
            taken, self._received = self._received, []
        return taken

    def count(self, method: str) -> int:
        """How many POSTs carried JSON-RPC ``method`` (since the last ``take_requests()``)."""
        with self._lock:
            return sum(1 for r in self._received if r.method == method)

    @property
    def sessions(self) -> list[str]:
        """The ids of the live legacy sessions."""
        with self._lock:
            return list(self._sessions)

    # --- HTTP entry points ----------------------------------------------------------------

    def _reply(
        self,
        handler: _Handler,
        status: int,
        error: Optional[RPCError],
        request_id: Any = None,
        allow: bool = False,
    ) -> None:
        body = None
        if error is not None:
            body = {"jsonrpc": "2.0", "id": request_id, "error": error.to_dict()}
        headers = {}
        if allow:
            headers["Allow"] = "POST, GET, DELETE" if "legacy" in self.eras else "POST"
        handler.send_body(status, body, headers)

    def _check_origin(self, handler: _Handler) -> bool:
        """DNS-rebinding protection: a local Host, and a local Origin if one is sent."""
        host = (handler.headers.get("Host") or "").strip().lower()
        hostname = urlsplit(f"//{host}").hostname or ""
        origin = handler.headers.get("Origin")
        origin_host = urlsplit(origin).hostname if origin else None
        if hostname in self._allowed_hosts and (
            origin is None or (origin_host or "").lower() in self._allowed_hosts
        ):
            return True
        self._reply(
            handler, 403, RPCError(INVALID_REQUEST, "Forbidden: Host or Origin not allowed")
        )
        return False

    def _record(self, handler: _Handler, method: Optional[str], era: Optional[str]) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self._received.append(
                ReceivedRequest(
                    handler.command, method, headers.get("mcp-session-id"), headers, era
                )
            )

    def _handle_post(self, handler: _Handler) -> None:
        length = handler.headers.get("Content-Length")
        try:
            size = int(length) if length is not None else -1
        except ValueError:
            size = -1
        if size < 0 or size > _MAX_BODY:
            handler.close_connection = True  # the body is not read, so the connection is spent
            error = RPCError(INVALID_REQUEST, "a JSON body with a Content-Length is required")
            self._reply(handler, 411 if size < 0 else 413, error)
            return
        raw = handler.rfile.read(size)  # read first: an early answer must not leave it behind
        if urlsplit(handler.path).path != self._path:
            handler.send_body(404, None)
            return
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            message = _UNPARSABLE
        method = message.get("method") if isinstance(message, dict) else None
        method = method if isinstance(method, str) else None
        with self._lock:
            delay = self._delay if self._delay_method in (None, method) else 0.0
        if delay:
            self._stopping.wait(delay)
        if not self._check_origin(handler):
            return
        if message is _UNPARSABLE:
            self._record(handler, None, None)
            self._reply(handler, 400, RPCError(PARSE_ERROR, "Parse error"))
            return
        with self._lock:
            fail = next((f for f in self._fail if f[3] is None or f[3] == method), None)
            if fail is not None:
                self._fail.remove(fail)
        if fail is not None:
            self._record(handler, method, None)
            handler.send_body(fail[0], fail[2], fail[1])
            return
        era = self._era_of(handler, message)
        self._record(handler, method, era)
        try:
            if era == "modern":
                self._modern_post(handler, message)
            else:
                self._legacy_post(handler, message)
        except _HTTPReply as reply:
            self._reply(handler, reply.status, reply.error, reply.request_id)

    def _era_of(self, handler: _Handler, message: Any) -> str:
        if self.eras == ("modern",) or self.eras == ("legacy",):
            return self.eras[0]
        version = handler.headers.get("MCP-Protocol-Version")
        if version is not None and version.strip() not in LEGACY_VERSIONS:
            return "modern"
        params = message.get("params") if isinstance(message, dict) else None
        meta = params.get("_meta") if isinstance(params, dict) else None
        if isinstance(meta, dict) and _META + "protocolVersion" in meta:
            return "modern"
        return "legacy"

    def _handle_get(self, handler: _Handler) -> None:
        if urlsplit(handler.path).path != self._path:
            handler.send_body(404, None)
            return
        if not self._check_origin(handler):
            return
        self._record(handler, None, None)
        if "legacy" not in self.eras or not self.get_stream:
            self._reply(handler, 405, None, allow=True)
            return
        version = handler.headers.get("MCP-Protocol-Version")
        if version is not None and version.strip() in MODERN_VERSIONS:
            self._reply(handler, 405, None, allow=True)  # 2026-07-28 has no GET stream
            return
        try:
            session = self._session_for(handler)
        except _HTTPReply as reply:
            self._reply(handler, reply.status, reply.error)
            return
        if _SSE not in (handler.headers.get("Accept") or ""):
            self._reply(
                handler,
                406,
                RPCError(INVALID_REQUEST, "Not Acceptable: the GET stream is text/event-stream"),
            )
            return
        inbox: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        with self._lock:
            if session.ended:
                self._reply(handler, 404, RPCError(-32001, "Session not found"))
                return
            session.listeners.append(inbox)
        stream = _Stream(handler)
        stream.open()
        quiet_since = time.monotonic()
        try:
            while not stream.closed and not self._stopping.is_set():
                try:
                    item = inbox.get(timeout=0.2)
                except queue.Empty:
                    if handler.peer_closed():
                        break
                    if time.monotonic() - quiet_since >= _KEEPALIVE:
                        # A comment now and then keeps a client's blocked read (and its
                        # close, on urllib3 1.26) from waiting forever on a quiet stream.
                        if not stream.comment():
                            break
                        quiet_since = time.monotonic()
                    continue
                if item is None or not stream.send(item):
                    break
                quiet_since = time.monotonic()
        finally:
            with self._lock:
                if inbox in session.listeners:
                    session.listeners.remove(inbox)
            stream.close()
            handler.close_connection = True

    def _handle_delete(self, handler: _Handler) -> None:
        if urlsplit(handler.path).path != self._path:
            handler.send_body(404, None)
            return
        if not self._check_origin(handler):
            return
        self._record(handler, None, None)
        if "legacy" not in self.eras or not self._use_sessions:
            self._reply(handler, 405, None, allow=True)
            return
        try:
            session = self._session_for(handler)
        except _HTTPReply as reply:
            self._reply(handler, reply.status, reply.error)
            return
        with self._lock:
            self._sessions.pop(session.id, None)
            self._end_session(session)
        handler.send_body(200, None)

    def _end_session(self, session: _Session) -> None:
        """Close a session's streams and release its waiters; the caller holds ``_lock``."""
        session.ended = True
        for listener in session.listeners:
            listener.put(None)
        for waiter in session.waiting.values():
            waiter.event.set()
        for ctx in session.inflight.values():
            ctx._cancelled.set()

    # --- legacy ---------------------------------------------------------------------------

    def _session_for(self, handler: _Handler) -> _Session:
        if not self._use_sessions:
            with self._lock:
                if self._anonymous is None:
                    self._anonymous = _Session("", LEGACY_VERSIONS[0], {}, None)
                return self._anonymous
        session_id = handler.headers.get("Mcp-Session-Id")
        if session_id is None:
            raise _HTTPReply(
                400,
                RPCError(-32000, "Bad Request: no valid Mcp-Session-Id header; initialize first"),
            )
        with self._lock:
            session = self._sessions.get(session_id.strip())
        if session is None:
            raise _HTTPReply(404, RPCError(-32001, "Session not found"))
        return session

    def _legacy_post(self, handler: _Handler, message: Any) -> None:
        if isinstance(message, list):
            raise _HTTPReply(
                400, RPCError(INVALID_REQUEST, "Invalid Request: batches are not supported")
            )
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            raise _HTTPReply(400, RPCError(INVALID_REQUEST, "Invalid Request"))
        version = handler.headers.get("MCP-Protocol-Version")
        if version is not None and version.strip() not in LEGACY_VERSIONS:
            raise _HTTPReply(
                400,
                RPCError(
                    INVALID_REQUEST, f"Bad Request: unsupported MCP-Protocol-Version {version!r}"
                ),
                message.get("id"),
            )
        method = message.get("method")
        if method == "initialize" and "id" in message:
            self._initialize(handler, message)
            return
        session = self._session_for(handler)
        if method is None:
            if "id" in message and ("result" in message or "error" in message):
                with self._lock:
                    waiter = session.waiting.pop(str(message["id"]), None)
                if waiter is not None:
                    waiter.message = message
                    waiter.event.set()
                handler.send_body(202, None)
                return
            raise _HTTPReply(400, RPCError(INVALID_REQUEST, "Invalid Request"))
        if not isinstance(method, str):
            raise _HTTPReply(
                400, RPCError(INVALID_REQUEST, "Invalid Request: method must be a string")
            )
        params = message.get("params", {})
        if "id" not in message:
            self._legacy_notification(session, method, params)
            handler.send_body(202, None)
            return
        request_id = message["id"]
        if not isinstance(params, dict):
            handler.send_body(
                200, _error(request_id, RPCError(INVALID_PARAMS, "params must be an object"))
            )
            return
        handler_fn = self._legacy_methods().get(method)
        if handler_fn is None:
            handler.send_body(
                200, _error(request_id, RPCError(METHOD_NOT_FOUND, f"Method not found: {method}"))
            )
            return
        with self._lock:
            level = session.log_level
        ctx_args = {
            "era": "legacy",
            "protocol_version": session.version,
            "session": session,
            "client_capabilities": session.client_capabilities,
            "client_info": session.client_info,
            "log_level": level,
        }
        self._run(handler, method, request_id, params, handler_fn, ctx_args, session)

    def _legacy_notification(self, session: _Session, method: str, params: Any) -> None:
        params = params if isinstance(params, dict) else {}
        with self._lock:
            if method == "notifications/initialized":
                session.initialized = True
            elif method == "notifications/cancelled":
                ctx = session.inflight.get(params.get("requestId"))
                if ctx is not None:
                    ctx._cancelled.set()

    def _initialize(self, handler: _Handler, message: dict[str, Any]) -> None:
        request_id = message["id"]
        params = message.get("params")
        requested = params.get("protocolVersion") if isinstance(params, dict) else None
        if not isinstance(params, dict) or not isinstance(requested, str):
            handler.send_body(
                200,
                _error(
                    request_id, RPCError(INVALID_PARAMS, "initialize needs params.protocolVersion")
                ),
            )
            return
        if "legacy" not in self.eras:
            raise _HTTPReply(
                400,
                RPCError(
                    INVALID_REQUEST,
                    f"this server speaks only {', '.join(MODERN_VERSIONS)}; use server/discover",
                    {"supported": list(MODERN_VERSIONS)},
                ),
                request_id,
            )
        version = requested if requested in LEGACY_VERSIONS else LEGACY_VERSIONS[0]
        caps = params.get("capabilities")
        session = _Session(
            uuid.uuid4().hex,
            version,
            caps if isinstance(caps, dict) else {},
            params.get("clientInfo"),
        )
        headers: dict[str, str] = {}
        with self._lock:
            if self._use_sessions:
                self._sessions[session.id] = session
                headers["Mcp-Session-Id"] = session.id
            else:
                self._anonymous = session
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": self._capabilities("legacy"),
            "serverInfo": {"name": self.name, "version": self.version},
        }
        if self.instructions is not None:
            result["instructions"] = self.instructions
        handler.send_body(200, {"jsonrpc": "2.0", "id": request_id, "result": result}, headers)

    def _ask_client(
        self, ctx: Context, method: str, params: Optional[dict[str, Any]], timeout: float
    ) -> Any:
        session = ctx._session
        if session is None:
            raise RPCError(INTERNAL_ERROR, "no session to ask the client on")
        request_id = f"s-{next(self._ids)}"
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        waiter = _Waiter()
        with self._lock:
            session.waiting[request_id] = waiter
        try:
            if not ctx._emit(message):
                raise RPCError(INTERNAL_ERROR, f"no stream to send {method} on")
            deadline = time.monotonic() + timeout
            while not waiter.event.wait(0.1):
                if self._stopping.is_set() or session.ended or time.monotonic() > deadline:
                    break
        finally:
            with self._lock:
                session.waiting.pop(request_id, None)
        answer = waiter.message
        if answer is None:
            raise TimeoutError(f"the client did not answer {method} within {timeout} s")
        if isinstance(answer.get("error"), dict):
            error = answer["error"]
            raise RPCError(
                int(error.get("code", INTERNAL_ERROR)),
                str(error.get("message", "")),
                error.get("data"),
            )
        return answer.get("result")

    # --- modern ---------------------------------------------------------------------------

    def _modern_post(self, handler: _Handler, message: Any) -> None:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            raise _HTTPReply(
                400, RPCError(INVALID_REQUEST, "Invalid Request: one JSON-RPC request per POST")
            )
        request_id = message.get("id")
        method = message.get("method")
        if not isinstance(method, str):
            raise _HTTPReply(
                400,
                RPCError(
                    INVALID_REQUEST, "Invalid Request: clients send no responses in 2026-07-28"
                ),
                request_id,
            )
        if "id" not in message:
            handler.send_body(202, None)  # no client notifications are defined; accept them
            return
        params = message.get("params", {})
        if not isinstance(params, dict):
            raise _HTTPReply(400, RPCError(INVALID_PARAMS, "params must be an object"), request_id)
        meta = params.get("_meta")
        if not isinstance(meta, dict):
            raise _HTTPReply(
                400, RPCError(INVALID_PARAMS, "Invalid params: _meta is required"), request_id
            )
        for key in ("protocolVersion", "clientCapabilities"):
            if _META + key not in meta:
                raise _HTTPReply(
                    400,
                    RPCError(INVALID_PARAMS, f"Invalid params: _meta lacks {_META}{key}"),
                    request_id,
                )
        version = meta[_META + "protocolVersion"]
        capabilities = meta[_META + "clientCapabilities"]
        if not isinstance(version, str) or not isinstance(capabilities, dict):
            raise _HTTPReply(
                400, RPCError(INVALID_PARAMS, "Invalid params: malformed _meta"), request_id
            )
        header = handler.headers.get("MCP-Protocol-Version")
        if header is None or header.strip() != version:
            raise _HTTPReply(
                400,
                RPCError(
                    HEADER_MISMATCH,
                    f"Header mismatch: MCP-Protocol-Version {header!r} does not match _meta protocolVersion {version!r}",
                ),
                request_id,
            )
        if version not in MODERN_VERSIONS:
            raise _HTTPReply(
                400,
                RPCError(
                    UNSUPPORTED_VERSION,
                    "Unsupported protocol version",
                    {"supported": self._supported(), "requested": version},
                ),
                request_id,
            )
        self._check_headers(handler, method, params, request_id)
        handler_fn = self._modern_methods().get(method)
        if handler_fn is None:
            raise _HTTPReply(
                404, RPCError(METHOD_NOT_FOUND, f"Method not found: {method}"), request_id
            )
        level = meta.get(_META + "logLevel")
        ctx_args = {
            "era": "modern",
            "protocol_version": version,
            "session": None,
            "client_capabilities": capabilities,
            "client_info": meta.get(_META + "clientInfo"),
            "log_level": level if level in LOG_LEVELS else None,
        }
        self._run(handler, method, request_id, params, handler_fn, ctx_args, None)

    def _check_headers(
        self, handler: _Handler, method: str, params: dict[str, Any], request_id: Any
    ) -> None:
        """The 2026-07-28 header rules: Mcp-Method, Mcp-Name and Mcp-Param-* match the body."""

        def mismatch(text: str) -> _HTTPReply:
            return _HTTPReply(
                400, RPCError(HEADER_MISMATCH, f"Header mismatch: {text}"), request_id
            )

        sent = handler.headers.get("Mcp-Method")
        if sent is None or sent.strip(" \t") != method:
            raise mismatch(f"Mcp-Method {sent!r} does not match the body's method {method!r}")
        if method in _USER_METHODS:
            body_name = params.get("uri" if method == "resources/read" else "name")
            raw = handler.headers.get("Mcp-Name")
            try:
                name = _decode_header_value(raw) if raw is not None else None
            except ValueError:
                raise mismatch("Mcp-Name is not valid base64") from None
            if name is None or name != body_name:
                raise mismatch(f"Mcp-Name {raw!r} does not match the body's {body_name!r}")
        if method != "tools/call":
            return
        with self._lock:
            tool = self._tools.get(str(params.get("name")))
        if tool is None:
            return
        arguments = params.get("arguments")
        arguments = arguments if isinstance(arguments, dict) else {}
        for path, header_name, _ in _header_params(tool.input_schema):
            value: Any = arguments
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            raw = handler.headers.get(f"Mcp-Param-{header_name}")
            if value is None:
                continue
            if raw is None:
                raise mismatch(f"Mcp-Param-{header_name} is missing")
            try:
                decoded = _decode_header_value(raw)
            except ValueError:
                raise mismatch(f"Mcp-Param-{header_name} is not valid base64") from None
            expected = _header_text(value)
            same = decoded == expected
            if not same and isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    same = math.isclose(float(decoded), float(value))
                except ValueError:
                    same = False
            if not same:
                raise mismatch(f"Mcp-Param-{header_name} does not match the argument")

    def _supported(self) -> list[str]:
        versions: list[str] = []
        if "modern" in self.eras:
            versions += MODERN_VERSIONS
        if "legacy" in self.eras:
            versions += LEGACY_VERSIONS
        return versions

    # --- running a request ----------------------------------------------------------------

    def _take_drop(self, method: str) -> Optional[int]:
        with self._lock:
            drop = self._drop
            if drop is None or (drop[1] is not None and drop[1] != method):
                return None
            self._drop = None
            return drop[0]

    def _run(
        self,
        handler: _Handler,
        method: str,
        request_id: Any,
        params: dict[str, Any],
        handler_fn: Callable[[Context, dict[str, Any]], Any],
        ctx_args: dict[str, Any],
        session: Optional[_Session],
    ) -> None:
        """Call a method's handler and answer: JSON, or SSE once anything was streamed."""
        drop_after = self._take_drop(method)
        streaming = drop_after is not None or (
            method in _USER_METHODS
            and not (self.json_response and session is not None)
            and _SSE in (handler.headers.get("Accept") or "")
        )
        stream = _Stream(handler, drop_after) if streaming else None
        if drop_after is not None:
            assert stream is not None
            stream.open()
        ctx = Context(
            self,
            method=method,
            request_id=request_id,
            params=params,
            stream=stream,
            handler=handler,
            **ctx_args,
        )
        if session is not None:
            with self._lock:
                session.inflight[request_id] = ctx
        status = 200
        try:
            response = {"jsonrpc": "2.0", "id": request_id, "result": handler_fn(ctx, params)}
        except RPCError as exc:
            response = _error(request_id, exc)
            if ctx.era == "modern" and exc.http_status is not None:
                status = exc.http_status
        except _InputRequired as exc:
            response = {
                "jsonrpc": "2.0",
                "id": request_id,
                "result": self._input_required(ctx, exc),
            }
        except Exception as exc:
            log.exception("mcp_sync.testing: %s failed", method)
            response = _error(request_id, RPCError(INTERNAL_ERROR, f"Internal error: {exc}"))
        finally:
            if session is not None:
                with self._lock:
                    session.inflight.pop(request_id, None)
        if ctx.era == "modern" and "result" in response:
            response["result"].setdefault("resultType", "complete")
        if stream is not None and stream.opened:
            stream.send(response)
            stream.close()
            return
        handler.send_body(status, response)

    def _input_required(self, ctx: Context, exc: _InputRequired) -> dict[str, Any]:
        state = json.dumps(ctx._input_responses, separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(state).decode("ascii")
        signature = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        return {
            "resultType": "input_required",
            "inputRequests": exc.requests,
            "requestState": f"{payload}.{signature}",
        }

    def _load_inputs(self, ctx: Context, params: dict[str, Any]) -> None:
        """Collect the input answered so far: the signed requestState plus inputResponses."""
        responses: dict[str, Any] = {}
        state = params.get("requestState")
        if state is not None:
            payload, _, signature = str(state).partition(".")
            expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, expected):
                raise RPCError(INVALID_PARAMS, "Invalid params: requestState was altered")
            responses.update(json.loads(base64.urlsafe_b64decode(payload.encode())))
        answers = params.get("inputResponses")
        if isinstance(answers, dict):
            responses.update(answers)
        ctx._input_responses = responses

    # --- methods --------------------------------------------------------------------------

    def _legacy_methods(self) -> dict[str, Callable[[Context, dict[str, Any]], Any]]:
        return {
            "ping": lambda ctx, params: {},
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._read_resource,
            "resources/subscribe": self._subscribe,
            "resources/unsubscribe": self._unsubscribe,
            "prompts/list": self._list_prompts,
            "prompts/get": self._get_prompt,
            "logging/setLevel": self._set_level,
            "completion/complete": self._complete,
        }

    def _modern_methods(self) -> dict[str, Callable[[Context, dict[str, Any]], Any]]:
        return {
            "tasks/get": self._task_state,
            "tasks/cancel": self._cancel_task,
            "server/discover": self._discover,
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._read_resource,
            "prompts/list": self._list_prompts,
            "prompts/get": self._get_prompt,
            "completion/complete": self._complete,
        }

    def _capabilities(self, era: str) -> dict[str, Any]:
        caps: dict[str, Any] = {
            "tools": {"listChanged": era == "legacy"},
            "resources": {"listChanged": era == "legacy", "subscribe": era == "legacy"},
            "prompts": {"listChanged": era == "legacy"},
            "logging": {},
            "completions": {},
        }
        if era == "modern":
            caps["extensions"] = {_TASKS_EXTENSION: {}}
        return caps

    def _cacheable(self, ctx: Context, result: dict[str, Any]) -> dict[str, Any]:
        if ctx.era == "modern":
            result["ttlMs"] = self.ttl_ms
            result["cacheScope"] = "public"
        return result

    def _discover(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": self._supported(),
            "capabilities": self._capabilities("modern"),
            "_meta": {_META + "serverInfo": {"name": self.name, "version": self.version}},
        }
        if self.instructions is not None:
            result["instructions"] = self.instructions
        return self._cacheable(ctx, result)

    def _page(
        self, ctx: Context, params: dict[str, Any], key: str, items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        cursor = params.get("cursor")
        start = 0
        if cursor is not None:
            try:
                start = int(base64.urlsafe_b64decode(str(cursor).encode()).decode())
            except (ValueError, binascii.Error):
                raise RPCError(INVALID_PARAMS, "Invalid params: unknown cursor") from None
            if not 0 <= start <= len(items):
                raise RPCError(INVALID_PARAMS, "Invalid params: unknown cursor")
        end = len(items) if self.page_size is None else start + self.page_size
        result: dict[str, Any] = {key: items[start:end]}
        if end < len(items):
            result["nextCursor"] = base64.urlsafe_b64encode(str(end).encode()).decode()
        return self._cacheable(ctx, result)

    def _list_tools(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            tools = [t.listing() for t in self._tools.values()]
        return self._page(ctx, params, "tools", tools)

    def _call_tool(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        with self._lock:
            tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise RPCError(INVALID_PARAMS, f"Unknown tool: {name!r}")
        arguments = params.get("arguments", {})
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RPCError(INVALID_PARAMS, "Invalid params: arguments must be an object")
        if ctx.era == "modern":
            self._load_inputs(ctx, params)
        problem = _schema.check_arguments(tool.input_schema, arguments)
        if problem is not None:
            return tool_result_error(f"Invalid arguments for tool {tool.name}: {problem}")
        if tool.task and ctx.era == "modern":
            return self._start_task(tool, ctx, arguments)
        return self._run_tool(tool, ctx, arguments)

    def _run_tool(self, tool: _Tool, ctx: Context, arguments: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(arguments)
        if tool.wants_ctx:
            kwargs[_schema.CTX_PARAM] = ctx
        try:
            value = tool.fn(**kwargs)
        except (RPCError, _InputRequired):
            raise
        except ToolError as exc:
            return tool_result_error(str(exc))
        except Exception as exc:
            log.debug("mcp_sync.testing: tool %s raised", tool.name, exc_info=True)
            return tool_result_error(str(exc) or type(exc).__name__)
        return tool_result(value, tool.output_schema is not None)

    def _start_task(self, tool: _Tool, ctx: Context, arguments: dict[str, Any]) -> dict[str, Any]:
        task_id = f"task-{next(self._ids)}"
        now = _timestamp()
        task: dict[str, Any] = {
            "taskId": task_id,
            "status": "working",
            "createdAt": now,
            "lastUpdatedAt": now,
            "ttlMs": None,
            "pollIntervalMs": 50,
        }
        with self._lock:
            self._tasks[task_id] = task

        def run() -> None:
            try:
                outcome: dict[str, Any] = {"result": self._run_tool(tool, ctx, arguments)}
                status = "completed"
            except RPCError as exc:
                outcome, status = {"error": exc.to_dict()}, "failed"
            except _InputRequired:
                error = RPCError(INTERNAL_ERROR, "a task cannot ask for input here")
                outcome, status = {"error": error.to_dict()}, "failed"
            with self._lock:
                if task["status"] == "working":  # a cancel wins over a late finish
                    task.update(outcome, status=status, lastUpdatedAt=_timestamp())

        threading.Thread(target=run, name=f"mcp_sync-testserver-{task_id}", daemon=True).start()
        return {"resultType": "task", **task}

    def _task(self, params: dict[str, Any]) -> dict[str, Any]:
        """The task ``params`` names; the caller holds ``_lock``."""
        task = self._tasks.get(str(params.get("taskId")))
        if task is None:
            raise RPCError(INVALID_PARAMS, f"Unknown task: {params.get('taskId')!r}")
        return task

    def _task_state(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"resultType": "complete", **self._task(params)}

    def _cancel_task(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            task = self._task(params)
            if task["status"] == "working":
                task.update(status="cancelled", lastUpdatedAt=_timestamp())
            return {"resultType": "complete", **task}

    def _list_resources(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            resources = [r.listing() for r in self._resources.values()]
        return self._page(ctx, params, "resources", resources)

    def _list_templates(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            templates = [t.listing() for t in self._templates.values()]
        return self._page(ctx, params, "resourceTemplates", templates)

    def _read_resource(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise RPCError(INVALID_PARAMS, "Invalid params: uri must be a string")
        if ctx.era == "modern":
            self._load_inputs(ctx, params)
        with self._lock:
            resource = self._resources.get(uri)
            templates = list(self._templates.values())
        kwargs: dict[str, Any] = {}
        fn: Optional[Callable[..., Any]] = None
        mime_type: Optional[str] = None
        if resource is not None:
            fn, mime_type = resource.fn, resource.mime_type
            if resource.wants_ctx:
                kwargs[_schema.CTX_PARAM] = ctx
        else:
            for template in templates:
                match = template.pattern.match(uri)
                if match:
                    fn, mime_type = template.fn, template.mime_type
                    kwargs = dict(match.groupdict())
                    if template.wants_ctx:
                        kwargs[_schema.CTX_PARAM] = ctx
                    break
        if fn is None:
            code = INVALID_PARAMS if ctx.era == "modern" else RESOURCE_NOT_FOUND
            raise RPCError(code, "Resource not found", {"uri": uri})
        value = fn(**kwargs)
        items = value if isinstance(value, list) else [value]
        return self._cacheable(ctx, {"contents": [_contents(uri, mime_type, v) for v in items]})

    def _subscribe(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str) or ctx._session is None:
            raise RPCError(INVALID_PARAMS, "Invalid params: uri must be a string")
        with self._lock:
            ctx._session.subscriptions.add(uri)
        return {}

    def _unsubscribe(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str) or ctx._session is None:
            raise RPCError(INVALID_PARAMS, "Invalid params: uri must be a string")
        with self._lock:
            ctx._session.subscriptions.discard(uri)
        return {}

    def _list_prompts(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            prompts = [p.listing() for p in self._prompts.values()]
        return self._page(ctx, params, "prompts", prompts)

    def _get_prompt(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        with self._lock:
            prompt = self._prompts.get(name) if isinstance(name, str) else None
        if prompt is None:
            raise RPCError(INVALID_PARAMS, f"Unknown prompt: {name!r}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict) or not all(
            isinstance(v, str) for v in arguments.values()
        ):
            raise RPCError(INVALID_PARAMS, "Invalid params: prompt arguments are strings")
        if ctx.era == "modern":
            self._load_inputs(ctx, params)
        known = {a["name"] for a in prompt.arguments}
        for argument in prompt.arguments:
            if argument["required"] and argument["name"] not in arguments:
                raise RPCError(
                    INVALID_PARAMS, f"Invalid params: missing argument {argument['name']!r}"
                )
        kwargs: dict[str, Any] = {k: v for k, v in arguments.items() if k in known}
        if prompt.wants_ctx:
            kwargs[_schema.CTX_PARAM] = ctx
        value = prompt.fn(**kwargs)
        if isinstance(value, dict) and "messages" in value:
            result = dict(value)
        else:
            items = value if isinstance(value, list) else [value]
            result = {"messages": [_message(v) for v in items]}
        result.setdefault("description", prompt.description)
        return result

    def _set_level(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        level = params.get("level")
        if level not in LOG_LEVELS or ctx._session is None:
            raise RPCError(
                INVALID_PARAMS, f"Invalid params: level must be one of {', '.join(LOG_LEVELS)}"
            )
        with self._lock:
            ctx._session.log_level = level
        return {}

    def _complete(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        ref = params.get("ref")
        argument = params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise RPCError(INVALID_PARAMS, "Invalid params: ref and argument are required")
        arg_name = argument.get("name")
        prefix = argument.get("value", "")
        if not isinstance(arg_name, str) or not isinstance(prefix, str):
            raise RPCError(INVALID_PARAMS, "Invalid params: argument needs a name and a value")
        with self._lock:
            if ref.get("type") == "ref/prompt":
                target: Any = self._prompts.get(str(ref.get("name")))
            elif ref.get("type") == "ref/resource":
                target = self._templates.get(str(ref.get("uri")))
            else:
                target = None
        if target is None:
            raise RPCError(INVALID_PARAMS, f"Invalid params: unknown ref {ref!r}")
        source = target.complete.get(arg_name, ())
        candidates = list(source(prefix) if callable(source) else source)
        values = [str(c) for c in candidates if str(c).startswith(prefix)]
        return {
            "completion": {
                "values": values[:100],
                "total": len(values),
                "hasMore": len(values) > 100,
            }
        }


def _doc(fn: Callable[..., Any]) -> str:
    return inspect.cleandoc(fn.__doc__) if fn.__doc__ else ""


def _error(request_id: Any, error: RPCError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_dict()}


def tool_result_error(message: str) -> dict[str, Any]:
    """A ``CallToolResult`` with ``isError: true`` and ``message`` as text."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


def _contents(uri: str, mime_type: Optional[str], value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        entry = dict(value)
        entry.setdefault("uri", uri)
        if mime_type is not None:
            entry.setdefault("mimeType", mime_type)
        return entry
    if isinstance(value, (bytes, bytearray)):
        return {
            "uri": uri,
            "mimeType": mime_type
            if mime_type not in (None, "text/plain")
            else "application/octet-stream",
            "blob": base64.b64encode(bytes(value)).decode("ascii"),
        }
    entry = {"uri": uri, "text": str(value)}
    if mime_type is not None:
        entry["mimeType"] = mime_type
    return entry


def _message(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and "role" in value and "content" in value:
        return value
    if isinstance(value, str):
        return {"role": "user", "content": {"type": "text", "text": value}}
    return {"role": "user", "content": value}
