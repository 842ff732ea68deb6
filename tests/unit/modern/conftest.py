"""A scripted MCP 2026-07-28 server behind `responses`, for the modern-era tests.

Every request is one POST to one URL. The server reads the JSON-RPC method and
answers the way a stateless 2026-07-28 server would: ``server/discover`` with the
versions, capabilities and server info it has, other requests through per-method
handlers, notifications and client responses with 202, and errors as HTTP 400
(404 for an unknown method) with a JSON-RPC error body. A modern request whose
``Mcp-Method`` header differs from the body's method gets -32020, as a real server
would answer it.

To stand in for a server of the handshake era, a test scripts ``server/discover``
the way such a server answers it; ``initialize`` is always answered as a legacy
server does (a JSON result and an ``Mcp-Session-Id`` header), and GET gets 405 so
no background stream interferes with a test.

Every request is recorded with its headers and body. Callbacks run on whichever
thread sends the request: all state is guarded by one lock.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pytest
import responses
from requests.structures import CaseInsensitiveDict
from support.http_replies import (
    LiveBody,
    LiveStream,
    Reply,
    error_message,
    event,
    json_reply,
    result_message,
    sse_reply,
)

import mcp_sync

URL = "http://modern.test/mcp"
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
META = "io.modelcontextprotocol/"
SERVER_INFO = {"name": "scripted-modern-server", "version": "2.0.0"}
LEGACY_SERVER_INFO = {"name": "scripted-legacy-server", "version": "1.0.0"}
# No listChanged and no subscribe: nothing makes the client open a listen stream.
CAPABILITIES: dict[str, Any] = {
    "tools": {},
    "resources": {},
    "prompts": {},
    "logging": {},
    "completions": {},
}
INSTRUCTIONS = "Use the tools wisely."

HEADER_MISMATCH = -32020
MISSING_CAPABILITY = -32021
UNSUPPORTED_VERSION = -32022
METHOD_NOT_FOUND = -32601


class RpcError(Exception):
    """Raised (or returned) by a handler to answer with a JSON-RPC error.

    ``status`` defaults to 404 for -32601 and 400 for every other code, as a modern
    server answers.
    """

    def __init__(self, code: int, message: str, data: Any = None, status: Optional[int] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.status = status if status is not None else (404 if code == METHOD_NOT_FOUND else 400)


@dataclass
class Seen:
    """One request the server received."""

    verb: str
    headers: CaseInsensitiveDict
    message: Any
    at: float

    @property
    def method(self) -> Optional[str]:
        return self.message.get("method") if isinstance(self.message, dict) else None

    @property
    def id(self) -> Any:
        return self.message.get("id") if isinstance(self.message, dict) else None

    @property
    def params(self) -> dict[str, Any]:
        if isinstance(self.message, dict):
            return self.message.get("params") or {}
        return {}

    @property
    def meta(self) -> dict[str, Any]:
        return self.params.get("_meta") or {}

    @property
    def version(self) -> Optional[str]:
        return self.headers.get("MCP-Protocol-Version")

    @property
    def is_request(self) -> bool:
        return isinstance(self.message, dict) and "method" in self.message and "id" in self.message

    @property
    def is_notification(self) -> bool:
        return (
            isinstance(self.message, dict) and "method" in self.message and "id" not in self.message
        )

    @property
    def is_response(self) -> bool:
        return isinstance(self.message, dict) and "method" not in self.message


def broken_stream(seen: Seen) -> Reply:
    """An event stream that ends before the response to ``seen`` (a progress event only)."""
    return sse_reply(
        {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": "nobody", "progress": 1},
        },
        ": the connection drops here\n\n",
    )


def input_required(
    requests_: dict[str, Any], state: Optional[str] = None, **extra: Any
) -> dict[str, Any]:
    """An ``input_required`` result asking for ``requests_``, with ``requestState`` if given."""
    result: dict[str, Any] = {"resultType": "input_required", "inputRequests": requests_}
    if state is not None:
        result["requestState"] = state
    result.update(extra)
    return result


def text_result(text: str) -> dict[str, Any]:
    return {"resultType": "complete", "content": [{"type": "text", "text": text}]}


Handler = Callable[[Seen], Any]


class ModernServer:
    """A stateless 2026-07-28 MCP server made of `responses` callbacks."""

    # Constants and reply builders, so tests need no imports from this module.
    URL = URL
    MODERN = MODERN
    LEGACY = LEGACY
    META = META
    SERVER_INFO = SERVER_INFO
    LEGACY_SERVER_INFO = LEGACY_SERVER_INFO
    INSTRUCTIONS = INSTRUCTIONS
    HEADER_MISMATCH = HEADER_MISMATCH
    MISSING_CAPABILITY = MISSING_CAPABILITY
    UNSUPPORTED_VERSION = UNSUPPORTED_VERSION
    METHOD_NOT_FOUND = METHOD_NOT_FOUND
    Reply = Reply
    RpcError = RpcError
    event = staticmethod(event)
    json_reply = staticmethod(json_reply)
    sse_reply = staticmethod(sse_reply)
    result_message = staticmethod(result_message)
    error_message = staticmethod(error_message)
    broken_stream = staticmethod(broken_stream)
    input_required = staticmethod(input_required)
    text_result = staticmethod(text_result)

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.seen: list[Seen] = []
        self.supported_versions = [MODERN]
        self.capabilities: dict[str, Any] = json.loads(json.dumps(CAPABILITIES))
        self.server_info = dict(SERVER_INFO)
        self.instructions: Optional[str] = INSTRUCTIONS
        self.check_method_header = True
        self.tools: list[dict[str, Any]] = [ECHO_TOOL]
        self._sessions = 0
        # Every subscriptions/listen stream handed out, newest last.
        self.streams: list[LiveBody] = []
        # While clear, subscriptions/listen requests wait (at most 5 s) before they are answered.
        self.listen_gate = threading.Event()
        self.listen_gate.set()
        self._scripted: dict[str, list[Any]] = {}
        self.handlers: dict[str, Handler] = {
            "server/discover": lambda seen: self.discover_result(),
            "initialize": self.legacy_initialize,
            "tools/list": lambda seen: {"tools": list(self.tools)},
            "tools/call": self._call_tool,
            "resources/list": lambda seen: {"resources": []},
            "resources/read": self._read_resource,
            "prompts/list": lambda seen: {"prompts": []},
            "prompts/get": self._get_prompt,
            "ping": lambda seen: {},
            "subscriptions/listen": self._listen,
        }

    # --- scripting -----------------------------------------------------------------------

    def on(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(seen)``: a result dict, a Reply or an RpcError."""
        with self.lock:
            self.handlers[method] = handler

    def script(self, method: str, *answers: Any) -> None:
        """Answer the next requests of ``method`` with ``answers`` in order, then as usual.

        Each answer is a Reply, a result dict, an RpcError, or a callable taking the Seen.
        """
        with self.lock:
            self._scripted.setdefault(method, []).extend(answers)

    def discover_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "resultType": "complete",
            "supportedVersions": list(self.supported_versions),
            "capabilities": self.capabilities,
            "_meta": {META + "serverInfo": self.server_info},
        }
        if self.instructions is not None:
            result["instructions"] = self.instructions
        return result

    def legacy_initialize(self, seen: Seen) -> Reply:
        """The answer of a handshake-era server: a result and a new ``Mcp-Session-Id``."""
        with self.lock:
            self._sessions += 1
            session = f"legacy-session-{self._sessions}"
        result = {
            "protocolVersion": LEGACY,
            "capabilities": {"tools": {}},
            "serverInfo": LEGACY_SERVER_INFO,
        }
        return json_reply(result_message(seen.id, result), headers={"Mcp-Session-Id": session})

    # --- queries -------------------------------------------------------------------------

    def listens(self) -> list[Seen]:
        return self.posts("subscriptions/listen")

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
        """Poll ``predicate()`` until it holds or ``timeout`` seconds pass."""
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)
        return True

    def stream(self, index: int = -1) -> LiveBody:
        with self.lock:
            return self.streams[index]

    def end_streams(self) -> None:
        with self.lock:
            streams = list(self.streams)
        for body in streams:
            body.end()

    def posts(self, method: Optional[str] = None) -> list[Seen]:
        with self.lock:
            seen = list(self.seen)
        return [s for s in seen if s.verb == "POST" and (method is None or s.method == method)]

    def methods(self) -> list[Optional[str]]:
        """The methods of every POST, in order."""
        return [s.method for s in self.posts()]

    # --- default handlers ----------------------------------------------------------------

    def _call_tool(self, seen: Seen) -> Any:
        name = seen.params.get("name")
        if name == "echo":
            return text_result(str((seen.params.get("arguments") or {}).get("text", "")))
        return text_result(f"called {name}")

    def _listen(self, seen: Seen) -> Reply:
        """Hold a listen stream open, acknowledging at once what the request asked for."""
        self.listen_gate.wait(5.0)
        body = LiveBody()
        with self.lock:
            self.streams.append(body)
        body.write_event(
            {
                "jsonrpc": "2.0",
                "method": "notifications/subscriptions/acknowledged",
                "params": {"notifications": seen.params.get("notifications") or {}},
            }
        )
        return Reply(200, LiveStream(body), {"Content-Type": "text/event-stream"})

    def _read_resource(self, seen: Seen) -> Any:
        uri = seen.params.get("uri")
        return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": f"contents of {uri}"}]}

    def _get_prompt(self, seen: Seen) -> Any:
        return {
            "messages": [
                {"role": "user", "content": {"type": "text", "text": f"{seen.params.get('name')}"}}
            ]
        }

    # --- the callbacks `responses` calls -------------------------------------------------

    def _record(self, request: Any) -> Seen:
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        message = json.loads(body) if body else None
        seen = Seen(request.method, CaseInsensitiveDict(request.headers), message, time.monotonic())
        with self.lock:
            self.seen.append(seen)
        return seen

    @staticmethod
    def _http(reply: Reply) -> tuple[int, dict[str, str], Any]:
        return reply.status, dict(reply.headers), reply.body

    def on_post(self, request: Any) -> tuple[int, dict[str, str], Any]:
        seen = self._record(request)
        if seen.is_response or seen.is_notification:
            return self._http(Reply(202))
        if (
            self.check_method_header
            and seen.version == MODERN
            and seen.headers.get("Mcp-Method") != seen.method
        ):
            return self._http(
                json_reply(
                    error_message(seen.id, HEADER_MISMATCH, "Mcp-Method does not match the body"),
                    400,
                )
            )
        return self._http(self._answer(seen))

    def _answer(self, seen: Seen) -> Reply:
        with self.lock:
            queued = self._scripted.get(seen.method or "")
            answer: Any = queued.pop(0) if queued else self.handlers.get(seen.method or "")
        if answer is None:
            answer = RpcError(METHOD_NOT_FOUND, f"Method not found: {seen.method}")
        try:
            if callable(answer) and not isinstance(answer, (Reply, Exception)):
                answer = answer(seen)
            if isinstance(answer, Exception):
                raise answer
        except RpcError as exc:
            return json_reply(error_message(seen.id, exc.code, exc.message, exc.data), exc.status)
        if isinstance(answer, Reply):
            return answer
        return json_reply(result_message(seen.id, answer))

    def on_other(self, request: Any) -> tuple[int, dict[str, str], Any]:
        self._record(request)
        return self._http(Reply(405))


ECHO_TOOL = {
    "name": "echo",
    "description": "Echo the text back",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
}


@pytest.fixture
def server():
    """The scripted modern server, live for the duration of the test."""
    scripted = ModernServer()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, URL, callback=scripted.on_post, content_type=None)
        mock.add_callback(responses.GET, URL, callback=scripted.on_other, content_type=None)
        mock.add_callback(responses.DELETE, URL, callback=scripted.on_other, content_type=None)
        yield scripted


@pytest.fixture
def make_client(server):
    """Builds clients of the scripted server (no pinned version); all closed after the test."""
    clients: list[mcp_sync.Client] = []

    def make(**options: Any) -> mcp_sync.Client:
        options.setdefault("timeout", 5.0)
        client = mcp_sync.Client(URL, **options)
        clients.append(client)
        return client

    yield make
    server.listen_gate.set()
    server.end_streams()
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    """A client connected to the scripted server, in the modern era."""
    return make_client().connect()
