"""A scripted Streamable HTTP MCP server behind `responses`.

The server answers POST, GET and DELETE on one URL through `responses` callbacks.
One POST callback reads the JSON-RPC method and the session header and answers
the way a Streamable HTTP server would: ``initialize`` opens a session and returns
its id in ``Mcp-Session-Id``, notifications and client responses get 202, requests
on a session the server no longer knows get 404, and every other request goes to a
per-method handler. GET (the listener stream) is answered 405 by default, so no
background stream interferes with a test. Every request is recorded, with the URL
it was sent to.

Callbacks run on whichever thread sends the request, many at once: all state is
guarded by one lock.

``serve()`` runs a server inside a fresh ``responses.RequestsMock``; the mock stays
reachable as ``server.mock``, so a test can answer other URLs too (another origin, a
path the server moved to), and ``server.mount(url)`` serves the same server there.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional

import responses
from requests.structures import CaseInsensitiveDict

from support.http_replies import (
    LiveBody,
    Reply,
    error_message,
    event,
    json_reply,
    result_message,
    sse_reply,
)

__all__ = [
    "ADD_TOOL",
    "CAPABILITIES",
    "PROTOCOL_VERSION",
    "SERVER_INFO",
    "SESSION_NOT_FOUND",
    "URL",
    "Handler",
    "LiveBody",
    "Reply",
    "RpcError",
    "ScriptedServer",
    "Seen",
    "add_tool_result",
    "live_reply",
    "serve",
]

URL = "http://mcp.test/mcp"
PROTOCOL_VERSION = "2025-11-25"
CAPABILITIES: dict[str, Any] = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True},
    "prompts": {},
    "logging": {},
    "completions": {},
}
SERVER_INFO = {"name": "scripted-server", "version": "1.0.0"}

SESSION_NOT_FOUND = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32600, "message": "Session not found"},
}

ADD_TOOL = {
    "name": "add",
    "description": "Add two numbers",
    "inputSchema": {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
}


class RpcError(Exception):
    """Raised by a handler to answer with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass
class Seen:
    """One request the server received."""

    verb: str
    headers: CaseInsensitiveDict
    message: Any
    at: float
    url: str = ""

    @property
    def session(self) -> Optional[str]:
        return self.headers.get("Mcp-Session-Id")

    @property
    def version(self) -> Optional[str]:
        return self.headers.get("MCP-Protocol-Version")

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


def _parse(body: Any) -> Any:
    """A request body as JSON; a body that is not JSON is kept as text."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def live_reply() -> tuple[Reply, LiveBody]:
    """An event-stream reply whose body the test writes while the client reads it."""
    body = LiveBody()
    return Reply(200, io.BufferedReader(body), {"Content-Type": "text/event-stream"}), body


Handler = Callable[[Seen], Any]


def add_tool_result(a: Any, b: Any) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": str(a + b)}], "structuredContent": {"sum": a + b}}


class ScriptedServer:
    """A Streamable HTTP MCP server made of `responses` callbacks."""

    # Reply builders, so tests need no imports from this module.
    Reply = Reply
    RpcError = RpcError
    event = staticmethod(event)
    json_reply = staticmethod(json_reply)
    sse_reply = staticmethod(sse_reply)
    live_reply = staticmethod(live_reply)
    result_message = staticmethod(result_message)
    error_message = staticmethod(error_message)

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.seen: list[Seen] = []
        # The `responses` mock the server is mounted on (set by serve()).
        self.mock: Optional[responses.RequestsMock] = None
        self.protocol_version = PROTOCOL_VERSION
        self.capabilities: dict[str, Any] = json.loads(json.dumps(CAPABILITIES))
        self.server_info = dict(SERVER_INFO)
        self.issue_sessions = True
        self.get_reply = Reply(405)
        self.delete_reply = Reply(200)
        self.expired_reply: Callable[[], Reply] = lambda: json_reply(SESSION_NOT_FOUND, status=404)
        # Extra headers on the answer to ``initialize`` (a Set-Cookie, say).
        self.init_headers: dict[str, str] = {}
        # The id of the n-th session opened.
        self.session_ids: Callable[[int], str] = lambda n: f"session-{n}"
        self.session_id: Optional[str] = None
        self._sessions_opened = 0
        self._live_sessions: set = set()
        self._scripted: dict[str, list[Any]] = {}
        self._answer_waiters: dict[Any, Callable[[Seen], None]] = {}
        self.handlers: dict[str, Handler] = {
            "initialize": self._initialize,
            "ping": lambda seen: {},
            "tools/list": lambda seen: {"tools": [ADD_TOOL]},
            "tools/call": self._call_tool,
            "resources/list": lambda seen: {"resources": []},
            "resources/subscribe": lambda seen: {},
            "resources/unsubscribe": lambda seen: {},
            "prompts/list": lambda seen: {"prompts": []},
            "logging/setLevel": lambda seen: {},
        }

    # --- mounting ------------------------------------------------------------------------

    def mount(self, url: str = URL, mock: Optional[responses.RequestsMock] = None) -> None:
        """Answer POST, GET and DELETE on ``url`` (on ``mock``, by default ``self.mock``)."""
        mock = mock if mock is not None else self.mock
        if mock is None:
            raise RuntimeError("the server has no responses mock to mount on")
        mock.add_callback(responses.POST, url, callback=self.on_post, content_type=None)
        mock.add_callback(responses.GET, url, callback=self.on_get, content_type=None)
        mock.add_callback(responses.DELETE, url, callback=self.on_delete, content_type=None)

    # --- scripting -----------------------------------------------------------------------

    def on(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(seen)``: a result dict, a Reply, or raise RpcError."""
        with self.lock:
            self.handlers[method] = handler

    def script(self, method: str, *answers: Any) -> None:
        """Answer the next requests of ``method`` with ``answers`` in order, then as usual.

        Each answer is a Reply, a result dict, an RpcError, or a callable taking the Seen.
        """
        with self.lock:
            self._scripted.setdefault(method, []).extend(answers)

    def when_answered(self, request_id: Any, callback: Callable[[Seen], None]) -> None:
        """Run ``callback`` when the client POSTs its response to the server request ``request_id``."""
        with self.lock:
            self._answer_waiters[request_id] = callback

    def open_session(self) -> str:
        """Start a new session, as ``initialize`` does, and return its id."""
        with self.lock:
            self._sessions_opened += 1
            self.session_id = self.session_ids(self._sessions_opened)
            self._live_sessions.add(self.session_id)
            return self.session_id

    def initialize_result(self) -> dict[str, Any]:
        return {
            "protocolVersion": self.protocol_version,
            "capabilities": self.capabilities,
            "serverInfo": self.server_info,
        }

    def expire_session(self) -> None:
        """Forget the current session: requests carrying its id get ``expired_reply``."""
        with self.lock:
            self._live_sessions.discard(self.session_id)

    # --- queries -------------------------------------------------------------------------

    def requests(self, verb: Optional[str] = None, method: Optional[str] = None) -> list[Seen]:
        with self.lock:
            seen = list(self.seen)
        return [
            s
            for s in seen
            if (verb is None or s.verb == verb) and (method is None or s.method == method)
        ]

    def posts(self, method: Optional[str] = None) -> list[Seen]:
        return self.requests("POST", method)

    def initializes(self) -> list[Seen]:
        return self.posts("initialize")

    def gets(self) -> list[Seen]:
        return self.requests("GET")

    def deletes(self) -> list[Seen]:
        return self.requests("DELETE")

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
        """Wait until ``predicate()`` holds, re-checking whenever a request arrives."""
        end = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.05))
        return True

    # --- default handlers ----------------------------------------------------------------

    def _initialize(self, seen: Seen) -> Any:
        return self.initialize_result()

    def _call_tool(self, seen: Seen) -> Any:
        name = seen.params.get("name")
        args = seen.params.get("arguments") or {}
        if name == "add":
            return add_tool_result(args["a"], args["b"])
        raise RpcError(-32602, f"Unknown tool: {name}")

    # --- the callbacks `responses` calls -------------------------------------------------

    def record(self, request: Any) -> Seen:
        """Record ``request`` (a `requests` PreparedRequest) and wake ``wait_for``."""
        seen = Seen(
            request.method,
            CaseInsensitiveDict(request.headers),
            _parse(request.body),
            time.monotonic(),
            request.url or "",
        )
        with self.changed:
            self.seen.append(seen)
            self.changed.notify_all()
        return seen

    @staticmethod
    def _http(reply: Reply) -> tuple[int, dict[str, str], Any]:
        return reply.status, dict(reply.headers), reply.body

    def on_post(self, request: Any) -> tuple[int, dict[str, str], Any]:
        seen = self.record(request)
        if seen.is_response:
            with self.lock:
                waiter = self._answer_waiters.pop(seen.id, None)
            if waiter is not None:
                waiter(seen)
            return self._http(Reply(202))
        if seen.method == "initialize":
            return self._http(self._answer(seen, initialize=True))
        if self.issue_sessions:
            with self.lock:
                known = seen.session in self._live_sessions
            if not known:
                if seen.session is None:
                    return self._http(
                        json_reply(
                            error_message(
                                None, -32000, "Bad Request: No valid session ID provided"
                            ),
                            400,
                        )
                    )
                return self._http(self.expired_reply())
        if seen.is_notification:
            return self._http(Reply(202))
        return self._http(self._answer(seen))

    def _answer(self, seen: Seen, initialize: bool = False) -> Reply:
        with self.lock:
            queued = self._scripted.get(seen.method or "")
            answer: Any = queued.pop(0) if queued else self.handlers.get(seen.method or "")
        if answer is None:
            answer = RpcError(-32601, f"Method not found: {seen.method}")
        try:
            if isinstance(answer, Exception):
                raise answer
            if callable(answer) and not isinstance(answer, Reply):
                answer = answer(seen)
        except RpcError as exc:
            return json_reply(error_message(seen.id, exc.code, exc.message, exc.data))
        if isinstance(answer, Reply):
            return answer
        headers: dict[str, str] = {}
        if initialize:
            if self.issue_sessions:
                headers["Mcp-Session-Id"] = self.open_session()
            headers.update(self.init_headers)
        return json_reply(result_message(seen.id, answer), headers=headers)

    def on_get(self, request: Any) -> tuple[int, dict[str, str], Any]:
        self.record(request)
        return self._http(self.get_reply)

    def on_delete(self, request: Any) -> tuple[int, dict[str, str], Any]:
        self.record(request)
        return self._http(self.delete_reply)


@contextlib.contextmanager
def serve(url: str = URL) -> Iterator[ScriptedServer]:
    """A ScriptedServer mounted on ``url`` of a new `responses` mock, live inside the block."""
    scripted = ScriptedServer()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        scripted.mock = mock
        scripted.mount(url)
        yield scripted
