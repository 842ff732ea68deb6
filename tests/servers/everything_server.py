"""MCP test server built on the official ``mcp`` SDK (2.3.0), Streamable HTTP at ``/mcp``.

Run it from the server virtualenv (see ``tests/support/server_env.py``)::

    python everything_server.py --host 127.0.0.1 --port 8765 [--json-response] [--stateless]
        [--event-store]
    python everything_server.py --stdio

Over HTTP, once the socket accepts connections it prints ``READY <port>`` on stdout.

With ``--stdio`` the same server speaks newline-delimited JSON-RPC on stdin/stdout
(``tests/support/stdio_servers.py`` builds the command line). It writes nothing to
stdout until the client sends something, and exits with code 0 once stdin reaches
EOF. The first request decides the era of the whole connection: ``initialize``
(or any request without the ``io.modelcontextprotocol/protocolVersion`` ``_meta``
key) opens a legacy one, a request carrying that key opens a 2026-07-28 one. On a
legacy connection server-to-client requests (sampling, elicitation, roots) and
notifications share stdout with the responses; ``standalone`` makes no difference
there. While serving, the SDK points fd 1 at stderr, so stray prints in tools cannot
corrupt the wire.

The server speaks both eras: the legacy initialize handshake with sessions
(2025-03-26 .. 2025-11-25) and the stateless 2026-07-28 revision (every POST
carries ``MCP-Protocol-Version`` and the ``io.modelcontextprotocol/*`` ``_meta``
keys; change notifications ride ``subscriptions/listen`` streams).

tools
    add(a: int, b: int) -> int          structured output {"result": a + b}
    echo(text: str) -> str
    slow(steps: int = 3, delay: float = 0.1)
                                        one notifications/progress per step, with a message
    log(level: str, message: str, logger: str = "everything")
                                        one notifications/message; legacy: filtered by
                                        logging/setLevel; 2026-07-28: sent only when the
                                        request's _meta carries io.modelcontextprotocol/logLevel
                                        at or below ``level`` (else returns "filtered")
    sample(prompt: str, max_tokens: int = 100, standalone: bool = False)
                                        sampling/createMessage -> the sampled text
    ask(message: str, standalone: bool = False)
                                        form-mode elicitation/create (name: string,
                                        age: integer, default 30) -> JSON {"action", "content"}
    roots(standalone: bool = False)     roots/list -> JSON list of root URIs
    fail(message: str = ...)            a tool result with isError=true
    image()                             one image content block (a 1x1 PNG)
    big(size: int)                      text of exactly ``size`` bytes
    touch(uri: str)                     notifications/resources/updated to every legacy
                                        session subscribed to ``uri`` (on its GET stream) and
                                        to every listen stream subscribed to ``uri``;
                                        returns how many were notified
    subscribers(uri: str)               how many sessions and listen streams watch ``uri``
    change_tools()                      notifications/tools/list_changed to every legacy
                                        session (GET stream) and to every listen stream that
                                        asked for toolsListChanged; returns how many
    headers_tool(region: str, priority: int, verbose: bool = False)
                                        JSON {"priority", "region", "verbose"}; the three
                                        properties carry x-mcp-header "Region", "Priority",
                                        "Verbose", so 2026-07-28 calls must mirror them as
                                        Mcp-Param-* headers (the SDK rejects a mismatch)
    bump()                              increments the counter behind test://counter;
                                        returns the new value (sends no notification)
    crash(code: int = 3)                the server process exits at once with ``code``
                                        (``os._exit``) in the middle of the call; the call
                                        gets no answer (meant for ``--stdio``)
    stderr_note(text: str)              writes ``text`` as one line to stderr; returns "ok"

resources
    test://static                       text/plain "static resource text" (ttlMs 60000)
    test://blob                         application/octet-stream, bytes 0..255
    test://items/{id}                   template -> text "item <id>"
    test://counter                      text: the counter ``bump`` increments (ttlMs 60000)
    resources/subscribe, resources/unsubscribe

prompts
    greet(name: str)                    completion/complete offers names for ``name``

logging/setLevel                        per-session minimum level for the ``log`` tool

Caching (2026-07-28 results only; the legacy wire carries no cache fields):
``tools/list`` and ``resources/read`` of ``test://static`` and ``test://counter``
carry ``ttlMs: 60000, cacheScope: "private"``; other cacheable results carry the
SDK default ``ttlMs: 0``.

Client input (sample, ask, roots) comes from resolver parameters
(``Annotated[T, Resolve(fn)]``). On a legacy request the SDK sends the
server-to-client request on the POST response stream of the tool call; on a
2026-07-28 request it answers with an ``InputRequiredResult`` (``inputRequests``
plus ``requestState``) and the client retries the call with ``inputResponses``
and the echoed ``requestState``. ``standalone=True`` (legacy only; ignored on
2026-07-28) sends the request on the session's GET stream instead. With
``--json-response`` a legacy POST body carries nothing but the response, so those
requests and ``log`` always go to the GET stream; progress is dropped then.

The mcp 2.x ``MCPServer`` registers no handlers for ``logging/setLevel``,
``resources/subscribe`` or ``resources/unsubscribe``; they are added on its
low-level server, which also makes the matching capabilities appear in the
initialize result.
"""

import argparse
import itertools
import json
import logging
import os
import socket
import sys
import threading
import time
import warnings
from typing import Annotated, Any, Optional, Union

import mcp.types as types
import uvicorn
from mcp.server.caching import CacheHint
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult, render_elicitation_schema
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Resolve, Sample
from mcp.server.streamable_http import EventMessage, EventStore
from mcp.shared.message import ServerMessageMetadata
from mcp_types import LOG_LEVEL_META_KEY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

# Logging, sampling and roots are deprecated in the 2026-07-28 protocol revision; the
# legacy-handshake behaviour they provide is exactly what this server exists to test.
warnings.filterwarnings("ignore", category=DeprecationWarning)
try:
    from mcp.shared.exceptions import MCPDeprecationWarning

    warnings.filterwarnings("ignore", category=MCPDeprecationWarning)
except ImportError:  # pragma: no cover - older SDKs
    pass

# How long a tool waits for the client to answer a server-to-client request it sends
# itself (the GET-stream path; the SDK's resolver path has no timeout of its own).
CLIENT_REQUEST_TIMEOUT = 30.0

# 1x1 transparent PNG.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000005000157e1e5b2"
    "0000000049454e44ae426082"
)

LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

COMPLETION_NAMES = ["Alice", "Albert", "Alfred", "Bob", "Bella", "Carol", "Charlie"]

# Results a client may cache for a minute (2026-07-28 `ttlMs`/`cacheScope`).
CACHE_TTL_MS = 60000
CACHE_SCOPE = "private"
CACHED_RESOURCES = {"test://static", "test://counter"}

server = MCPServer(
    name="everything-server",
    version="1.0.0",
    instructions="Test server for MCP client integration tests.",
    log_level="WARNING",
    cache_hints={"tools/list": CacheHint(ttl_ms=CACHE_TTL_MS, scope=CACHE_SCOPE)},
)

# Set from the command line before the app is built.
JSON_RESPONSE = False
STDIO = False
# The session key of the one connection a --stdio process serves.
STDIO_SESSION_KEY = "stdio"

# Per-session state, keyed by the Mcp-Session-Id header ("" when there is none).
_min_log_level: dict[str, str] = {}
# uri -> {session id -> ServerSession proxy of the subscribe request}. The proxy keeps
# a handle on the session's connection, whose standalone channel is the GET stream.
_subscriptions: dict[str, dict[str, Any]] = {}
# session id -> a ServerSession proxy of one of its requests (legacy sessions only).
_sessions: dict[str, Any] = {}
# JSON-RPC id of each open 2026-07-28 subscriptions/listen stream -> its filter.
_listen_streams: dict[Any, types.SubscriptionFilter] = {}
# What test://counter reads; `bump` increments it.
_counter = 0


def _session_key(request_context: Any) -> str:
    request = getattr(request_context, "request", None)
    headers = getattr(request, "headers", None)
    if headers is None:
        return STDIO_SESSION_KEY if STDIO else ""
    return headers.get("mcp-session-id") or ""


def _is_modern(protocol_version: Optional[str]) -> bool:
    """True for a 2026-07-28 (handshake-free) request."""
    return protocol_version in MODERN_PROTOCOL_VERSIONS


def _related_id(ctx: Context, standalone: bool = False) -> Optional[Any]:
    """The request id that ties an outgoing message to this tool call's POST stream.

    ``None`` sends it on the session's standalone (GET) stream instead.
    """
    if standalone or JSON_RESPONSE:
        return None
    return ctx.request_id


def _on_get_stream(ctx: Context, standalone: bool) -> bool:
    """Whether a legacy call must send its client request on the GET stream itself.

    The SDK's resolver path sends on the tool call's POST stream; that needs the
    caller to ask for it (``standalone=False``) and the POST to have a stream at all.
    A 2026-07-28 request always goes through the resolver (``InputRequiredResult``).
    """
    if _is_modern(ctx.protocol_version):
        return False
    return standalone or JSON_RESPONSE or not ctx.session.can_send_request


async def _client_request(ctx: Context, request: Any, result_type: Any, standalone: bool) -> Any:
    related = _related_id(ctx, standalone)
    return await ctx.session.send_request(
        request,
        result_type,
        request_read_timeout_seconds=CLIENT_REQUEST_TIMEOUT,
        metadata=ServerMessageMetadata(related_request_id=related),
    )


def _listen_count(predicate: Any) -> int:
    return sum(1 for notifications in list(_listen_streams.values()) if predicate(notifications))


# ---------------------------------------------------------------- client input


def _sampling_messages(prompt: str) -> list[types.SamplingMessage]:
    return [
        types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt)),
    ]


async def _sampled(
    ctx: Context, prompt: str, max_tokens: int, standalone: bool
) -> Union[Sample, types.CreateMessageResult]:
    if _on_get_stream(ctx, standalone):
        request = types.CreateMessageRequest(
            params=types.CreateMessageRequestParams(
                messages=_sampling_messages(prompt), max_tokens=max_tokens
            )
        )
        return await _client_request(ctx, request, types.CreateMessageResult, True)
    return Sample(_sampling_messages(prompt), max_tokens=max_tokens)


class AskForm(BaseModel):
    name: str = Field(title="Name", description="Your name")
    age: int = Field(30, title="Age", description="Your age")


ASK_SCHEMA = render_elicitation_schema(AskForm)


async def _asked(
    ctx: Context, message: str, standalone: bool
) -> Union[Elicit[AskForm], types.ElicitResult]:
    if _on_get_stream(ctx, standalone):
        request = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=message, requested_schema=ASK_SCHEMA),
        )
        return await _client_request(ctx, request, types.ElicitResult, True)
    return Elicit(message, AskForm)


async def _listed_roots(ctx: Context, standalone: bool) -> Union[ListRoots, types.ListRootsResult]:
    if _on_get_stream(ctx, standalone):
        return await _client_request(ctx, types.ListRootsRequest(), types.ListRootsResult, True)
    return ListRoots()


# --------------------------------------------------------------------------- tools


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Echo the text back.")
def echo(text: str) -> str:
    return text


@server.tool(description="Take `steps` steps of `delay` seconds, reporting progress after each.")
async def slow(ctx: Context, steps: int = 3, delay: float = 0.1) -> str:
    import anyio

    for i in range(1, steps + 1):
        await anyio.sleep(delay)
        await ctx.report_progress(i, steps, f"step {i} of {steps}")
    return f"done after {steps} steps"


@server.tool(description="Send one notifications/message log entry to the client.")
async def log(ctx: Context, level: str, message: str, logger: str = "everything") -> str:
    if level not in LOG_LEVELS:
        raise ToolError(f"unknown log level {level!r}")
    if _is_modern(ctx.protocol_version):
        # 2026-07-28: a per-request opt-in; the SDK drops what the request did not ask for.
        minimum = (ctx.request_context.meta or {}).get(LOG_LEVEL_META_KEY)
        if minimum not in LOG_LEVELS:
            return "filtered"
    else:
        minimum = _min_log_level.get(_session_key(ctx.request_context))
    if minimum is not None and LOG_LEVELS.index(level) < LOG_LEVELS.index(minimum):
        return "filtered"
    await ctx.session.send_log_message(
        level=level,
        data=message,
        logger=logger,
        related_request_id=_related_id(ctx),
    )
    return "logged"


@server.tool(description="Ask the client to sample an LLM completion for the prompt.")
async def sample(
    prompt: str,
    sampled: Annotated[types.CreateMessageResult, Resolve(_sampled)],
    max_tokens: int = 100,
    standalone: bool = False,
) -> str:
    content = sampled.content
    if isinstance(content, types.TextContent):
        return content.text
    return json.dumps(content.model_dump(by_alias=True, mode="json", exclude_none=True))


@server.tool(description="Elicit a name and an age from the user (form mode).")
async def ask(
    message: str,
    answer: Annotated[ElicitationResult[AskForm], Resolve(_asked)],
    standalone: bool = False,
) -> str:
    if isinstance(answer, AcceptedElicitation):
        data = answer.data
        if isinstance(data, types.ElicitResult):  # sent on the GET stream by `_asked`
            action, content = data.action, data.content
        else:
            # Only the fields the client sent: schema defaults are the client's job.
            action, content = "accept", data.model_dump(exclude_unset=True)
    else:
        action, content = answer.action, None
    return json.dumps({"action": action, "content": content}, sort_keys=True)


@server.tool(description="List the client's roots; returns a JSON list of URIs.")
async def roots(
    listed: Annotated[types.ListRootsResult, Resolve(_listed_roots)], standalone: bool = False
) -> str:
    return json.dumps([str(root.uri) for root in listed.roots])


@server.tool(description="Always fails with an isError tool result.")
def fail(message: str = "this tool always fails") -> str:
    raise ToolError(message)


@server.tool(description="Return a 1x1 PNG image.", structured_output=False)
def image() -> types.ImageContent:
    import base64

    return types.ImageContent(
        type="image", data=base64.b64encode(PNG_1X1).decode(), mime_type="image/png"
    )


@server.tool(description="Return `size` bytes of text.")
def big(size: int) -> str:
    if size < 0:
        raise ToolError("size must be >= 0")
    pattern = "0123456789abcdefghijklmnopqrstuvwxyz"
    return (pattern * (size // len(pattern) + 1))[:size]


@server.tool(
    description="Notify sessions and listen streams subscribed to `uri` that it was updated."
)
async def touch(ctx: Context, uri: str) -> int:
    sent = 0
    for key, session in list(_subscriptions.get(uri, {}).items()):
        try:
            await session.send_resource_updated(uri)
            sent += 1
        except Exception:  # the session is gone
            _subscriptions.get(uri, {}).pop(key, None)
    sent += _listen_count(lambda f: uri in (f.resource_subscriptions or ()))
    await ctx.notify_resource_updated(uri)
    return sent


@server.tool(description="How many sessions and listen streams are subscribed to `uri`.")
def subscribers(uri: str) -> int:
    modern = _listen_count(lambda f: uri in (f.resource_subscriptions or ()))
    return len(_subscriptions.get(uri, {})) + modern


@server.tool(description="Tell every client that the tool list changed.")
async def change_tools(ctx: Context) -> int:
    sent = 0
    for key, session in list(_sessions.items()):
        try:
            await session.send_tool_list_changed()
            sent += 1
        except Exception:  # the session is gone
            _sessions.pop(key, None)
    sent += _listen_count(lambda f: bool(f.tools_list_changed))
    await ctx.notify_tools_changed()
    return sent


@server.tool(description="Echo arguments that 2026-07-28 calls also carry as Mcp-Param-* headers.")
def headers_tool(
    region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})],
    priority: Annotated[int, Field(json_schema_extra={"x-mcp-header": "Priority"})],
    verbose: Annotated[bool, Field(json_schema_extra={"x-mcp-header": "Verbose"})] = False,
) -> str:
    return json.dumps({"region": region, "priority": priority, "verbose": verbose}, sort_keys=True)


@server.tool(description="Increment the counter that test://counter reads; returns the new value.")
def bump() -> int:
    global _counter
    _counter += 1
    return _counter


@server.tool(description="Exit the server process at once with `code`, mid-call (no answer).")
def crash(code: int = 3) -> str:
    sys.stderr.write(f"crash: exiting with code {code}\n")
    sys.stderr.flush()
    os._exit(code)


@server.tool(description='Write `text` as one line to stderr; returns "ok".')
def stderr_note(text: str) -> str:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    return "ok"


# ----------------------------------------------------------------------- resources


@server.resource(
    "test://static", name="static", description="A static text resource.", mime_type="text/plain"
)
def static_resource() -> str:
    return "static resource text"


@server.resource(
    "test://blob",
    name="blob",
    description="A binary resource: bytes 0..255.",
    mime_type="application/octet-stream",
)
def blob_resource() -> bytes:
    return bytes(range(256))


@server.resource(
    "test://items/{id}", name="item", description="An item by id.", mime_type="text/plain"
)
def item_resource(id: str) -> str:
    return f"item {id}"


@server.resource(
    "test://counter",
    name="counter",
    description="The value `bump` increments.",
    mime_type="text/plain",
)
def counter_resource() -> str:
    return str(_counter)


# ------------------------------------------------------------------------- prompts


@server.prompt(description="Greet someone by name.")
def greet(name: str) -> str:
    return f"Hello, {name}! Please greet me back."


@server.completion()
async def complete(ref: Any, argument: Any, context: Any) -> Optional[types.Completion]:
    if isinstance(ref, types.PromptReference) and ref.name == "greet" and argument.name == "name":
        prefix = argument.value.lower()
        values = [n for n in COMPLETION_NAMES if n.lower().startswith(prefix)]
        return types.Completion(values=values, total=len(values), has_more=False)
    if isinstance(ref, types.ResourceTemplateReference) and argument.name == "id":
        values = [str(i) for i in range(1, 4) if str(i).startswith(argument.value)]
        return types.Completion(values=values, total=len(values), has_more=False)
    return None


# ----------------------------------------- handlers MCPServer does not register itself


async def _set_level(ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:
    _min_log_level[_session_key(ctx)] = params.level
    return types.EmptyResult()


async def _subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
    _subscriptions.setdefault(str(params.uri), {})[_session_key(ctx)] = ctx.session
    return types.EmptyResult()


async def _unsubscribe(ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
    _subscriptions.get(str(params.uri), {}).pop(_session_key(ctx), None)
    return types.EmptyResult()


_lowlevel = server._lowlevel_server
_lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, _set_level)
_lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, _subscribe)
_lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, _unsubscribe)

# resources/read: a one-minute cache hint on the resources in CACHED_RESOURCES only
# (`cache_hints` would give every resource the same hint).
_read_entry = _lowlevel.get_request_handler("resources/read")
assert _read_entry is not None


async def _read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> Any:
    result = await _read_entry.handler(ctx, params)
    if isinstance(result, types.ReadResourceResult) and str(params.uri) in CACHED_RESOURCES:
        result = result.model_copy(update={"ttl_ms": CACHE_TTL_MS, "cache_scope": CACHE_SCOPE})
    return result


_lowlevel.add_request_handler("resources/read", _read_entry.params_type, _read_resource)

# subscriptions/listen (2026-07-28): keep the SDK's handler, but remember each open
# stream's filter so `touch`, `change_tools` and `subscribers` can count it.
_listen_entry = _lowlevel.get_request_handler("subscriptions/listen")
assert _listen_entry is not None


async def _listen(ctx: Any, params: types.SubscriptionsListenRequestParams) -> Any:
    _listen_streams[ctx.request_id] = params.notifications
    try:
        return await _listen_entry.handler(ctx, params)
    finally:
        _listen_streams.pop(ctx.request_id, None)


_lowlevel.add_request_handler("subscriptions/listen", _listen_entry.params_type, _listen)


async def _remember_session(ctx: Any, call_next: Any) -> Any:
    """Keep a handle on every legacy session, for `change_tools`."""
    key = _session_key(ctx)
    if key and key not in _sessions and not _is_modern(ctx.protocol_version):
        _sessions[key] = ctx.session
    return await call_next(ctx)


_lowlevel.middleware.append(_remember_session)

# Advertise tools.listChanged to legacy clients too (`change_tools` sends it); the
# 2026-07-28 capabilities derive it from subscriptions/listen on their own.
_create_initialization_options = _lowlevel.create_initialization_options


def _initialization_options(notification_options: Any = None, *args: Any, **kwargs: Any) -> Any:
    if notification_options is None:
        notification_options = NotificationOptions(tools_changed=True)
    return _create_initialization_options(notification_options, *args, **kwargs)


_lowlevel.create_initialization_options = _initialization_options  # type: ignore[method-assign]


# ------------------------------------------------------------------------------ main


def _announce_when_listening(host: str, port: int, uv_server: "uvicorn.Server") -> None:
    """Print READY once uvicorn has bound the port and accepts connections."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not uv_server.should_exit:
        # `started` turns true only after this process bound its socket; a bare
        # connect could reach some other process that already holds the port.
        if uv_server.started:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    print(f"READY {port}", flush=True)
                    return
            except OSError:
                pass
        time.sleep(0.02)


class MemoryEventStore(EventStore):
    """Every SSE event the server sends, kept in memory so that a client can resume."""

    def __init__(self) -> None:
        self._events: list[tuple[str, str, Any]] = []  # (event id, stream id, message)
        self._ids = itertools.count(1)

    async def store_event(self, stream_id: str, message: Any) -> str:
        event_id = str(next(self._ids))
        self._events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: str, send_callback: Any) -> Optional[str]:
        position = next((i for i, e in enumerate(self._events) if e[0] == last_event_id), None)
        if position is None:
            return None
        stream_id = self._events[position][1]
        for event_id, stream, message in self._events[position + 1 :]:
            if stream == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


def main(argv: Optional[list[str]] = None) -> None:
    global JSON_RESPONSE, STDIO

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--json-response", action="store_true", help="answer POSTs with JSON, not SSE"
    )
    parser.add_argument("--stateless", action="store_true", help="no Mcp-Session-Id sessions")
    parser.add_argument(
        "--event-store",
        action="store_true",
        help="give SSE events ids and replay them to a GET with Last-Event-ID (resumability)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="serve over stdin/stdout instead of HTTP (--host, --port and the HTTP "
        "options are ignored)",
    )
    args = parser.parse_args(argv)

    JSON_RESPONSE = args.json_response
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)

    if args.stdio:
        STDIO = True
        JSON_RESPONSE = False
        # Returns once stdin reaches EOF (or the client stops reading).
        server.run(transport="stdio")
        return

    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=args.json_response,
        stateless_http=args.stateless,
        host=args.host,
        event_store=MemoryEventStore() if args.event_store else None,
    )
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        lifespan="on",
        # Open SSE streams would otherwise hold up a SIGTERM shutdown.
        timeout_graceful_shutdown=1,
    )
    uv_server = uvicorn.Server(config)
    threading.Thread(
        target=_announce_when_listening, args=(args.host, args.port, uv_server), daemon=True
    ).start()
    uv_server.run()
    # uvicorn returns (instead of raising) when it cannot bind; make that a failure.
    if not uv_server.started:
        sys.exit(1)


if __name__ == "__main__":
    main()
