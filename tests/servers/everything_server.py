"""MCP test server built on the official ``mcp`` SDK (2.3.0), Streamable HTTP at ``/mcp``.

Run it from the server virtualenv (see ``tests/support/server_env.py``)::

    python everything_server.py --host 127.0.0.1 --port 8765 [--json-response] [--stateless]

Once the socket accepts connections it prints ``READY <port>`` on stdout.

Exposed surface (legacy initialize handshake, 2025-03-26 .. 2025-11-25):

tools
    add(a: int, b: int) -> int          structured output {"result": a + b}
    echo(text: str) -> str
    slow(steps: int = 3, delay: float = 0.1)
                                        one notifications/progress per step, with a message
    log(level: str, message: str, logger: str = "everything")
                                        one notifications/message, filtered by logging/setLevel
    sample(prompt: str, max_tokens: int = 100, standalone: bool = False)
                                        sampling/createMessage -> the sampled text
    ask(message: str, standalone: bool = False)
                                        form-mode elicitation/create (name: string,
                                        age: integer, default 30) -> JSON {"action", "content"}
    roots(standalone: bool = False)     roots/list -> JSON list of root URIs
    fail(message: str = ...)            a tool result with isError=true
    image()                             one image content block (a 1x1 PNG)
    big(size: int)                      text of exactly ``size`` bytes
    touch(uri: str)                     notifications/resources/updated to every session
                                        subscribed to ``uri`` (sent on their GET stream)
    subscribers(uri: str)               how many sessions are subscribed to ``uri``

resources
    test://static                       text/plain "static resource text"
    test://blob                         application/octet-stream, bytes 0..255
    test://items/{id}                   template -> text "item <id>"
    resources/subscribe, resources/unsubscribe

prompts
    greet(name: str)                    completion/complete offers names for ``name``

logging/setLevel                        per-session minimum level for the ``log`` tool

Server-to-client requests (sample, ask, roots) ride the POST response stream of the
tool call by default; ``standalone=True`` sends them on the session's GET stream
instead. With ``--json-response`` a POST body carries nothing but the response, so
those requests and ``log`` always go to the GET stream; progress is dropped then.

The mcp 2.x ``MCPServer`` registers no handlers for ``logging/setLevel``,
``resources/subscribe`` or ``resources/unsubscribe``; they are added on its
low-level server, which also makes the matching capabilities appear in the
initialize result.
"""

import argparse
import json
import logging
import socket
import sys
import threading
import time
import warnings
from typing import Any, Optional

import mcp.types as types
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.message import ServerMessageMetadata

# Logging, sampling and roots are deprecated in the 2026-07-28 protocol revision; the
# legacy-handshake behaviour they provide is exactly what this server exists to test.
warnings.filterwarnings("ignore", category=DeprecationWarning)
try:
    from mcp.shared.exceptions import MCPDeprecationWarning

    warnings.filterwarnings("ignore", category=MCPDeprecationWarning)
except ImportError:  # pragma: no cover - older SDKs
    pass

# How long a tool waits for the client to answer a server-to-client request.
CLIENT_REQUEST_TIMEOUT = 30.0

# 1x1 transparent PNG.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000005000157e1e5b2"
    "0000000049454e44ae426082"
)

LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

COMPLETION_NAMES = ["Alice", "Albert", "Alfred", "Bob", "Bella", "Carol", "Charlie"]

server = MCPServer(
    name="everything-server",
    version="1.0.0",
    instructions="Test server for MCP client integration tests.",
    log_level="WARNING",
)

# Set from the command line before the app is built.
JSON_RESPONSE = False

# Per-session state, keyed by the Mcp-Session-Id header ("" when there is none).
_min_log_level: dict[str, str] = {}
# uri -> {session id -> ServerSession proxy of the subscribe request}. The proxy keeps
# a handle on the session's connection, whose standalone channel is the GET stream.
_subscriptions: dict[str, dict[str, Any]] = {}


def _session_key(request_context: Any) -> str:
    request = getattr(request_context, "request", None)
    headers = getattr(request, "headers", None)
    if headers is None:
        return ""
    return headers.get("mcp-session-id") or ""


def _related_id(ctx: Context, standalone: bool = False) -> Optional[Any]:
    """The request id that ties an outgoing message to this tool call's POST stream.

    ``None`` sends it on the session's standalone (GET) stream instead.
    """
    if standalone or JSON_RESPONSE:
        return None
    return ctx.request_id


async def _client_request(ctx: Context, request: Any, result_type: Any, standalone: bool) -> Any:
    related = _related_id(ctx, standalone)
    return await ctx.session.send_request(
        request,
        result_type,
        request_read_timeout_seconds=CLIENT_REQUEST_TIMEOUT,
        metadata=ServerMessageMetadata(related_request_id=related),
    )


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
async def sample(ctx: Context, prompt: str, max_tokens: int = 100, standalone: bool = False) -> str:
    request = types.CreateMessageRequest(
        params=types.CreateMessageRequestParams(
            messages=[
                types.SamplingMessage(
                    role="user", content=types.TextContent(type="text", text=prompt)
                ),
            ],
            max_tokens=max_tokens,
        )
    )
    result = await _client_request(ctx, request, types.CreateMessageResult, standalone)
    content = result.content
    if isinstance(content, types.TextContent):
        return content.text
    return json.dumps(content.model_dump(by_alias=True, mode="json", exclude_none=True))


ASK_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "description": "Your name"},
        "age": {"type": "integer", "title": "Age", "description": "Your age", "default": 30},
    },
    "required": ["name"],
}


@server.tool(description="Elicit a name and an age from the user (form mode).")
async def ask(ctx: Context, message: str, standalone: bool = False) -> str:
    request = types.ElicitRequest(
        params=types.ElicitRequestFormParams(message=message, requested_schema=ASK_SCHEMA),
    )
    result = await _client_request(ctx, request, types.ElicitResult, standalone)
    return json.dumps({"action": result.action, "content": result.content}, sort_keys=True)


@server.tool(description="List the client's roots; returns a JSON list of URIs.")
async def roots(ctx: Context, standalone: bool = False) -> str:
    result = await _client_request(ctx, types.ListRootsRequest(), types.ListRootsResult, standalone)
    return json.dumps([str(root.uri) for root in result.roots])


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


@server.tool(description="Notify sessions subscribed to `uri` that it was updated.")
async def touch(uri: str) -> int:
    sent = 0
    for key, session in list(_subscriptions.get(uri, {}).items()):
        try:
            await session.send_resource_updated(uri)
            sent += 1
        except Exception:  # the session is gone
            _subscriptions.get(uri, {}).pop(key, None)
    return sent


@server.tool(description="How many sessions are subscribed to `uri`.")
def subscribers(uri: str) -> int:
    return len(_subscriptions.get(uri, {}))


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


def main(argv: Optional[list[str]] = None) -> None:
    global JSON_RESPONSE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--json-response", action="store_true", help="answer POSTs with JSON, not SSE"
    )
    parser.add_argument("--stateless", action="store_true", help="no Mcp-Session-Id sessions")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    args = parser.parse_args(argv)

    JSON_RESPONSE = args.json_response
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)

    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=args.json_response,
        stateless_http=args.stateless,
        host=args.host,
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
