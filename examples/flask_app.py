"""mcp_sync in Flask: one client per process, created on first use and shared by threads.

Run it against the demo server of ``mcp-sync demo --serve``:

    MCP_SERVER_URL=http://127.0.0.1:8000/mcp flask --app examples/flask_app.py run

The Django example (examples/django) is the same pattern, with its reasons spelled out.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from typing import Any, Optional

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue

import mcp_sync

_lock = threading.Lock()
_client: Optional[mcp_sync.Client] = None


def get_client() -> mcp_sync.Client:
    """The process's client, created on first use."""
    global _client
    client = _client
    if client is not None:
        return client
    with _lock:
        client = _client
        if client is None:
            url = current_app.config["MCP_SERVER_URL"]
            client = _client = mcp_sync.Client(url, timeout=10.0)
        return client


def reset_client() -> None:
    """Close the client, if there is one; the next get_client() creates a new one."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()


atexit.register(reset_client)


def _after_fork_in_child() -> None:
    # mcp_sync resets the client itself in a forked child; a lock held at the fork is ours.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def create_app(config: Optional[Mapping[str, Any]] = None) -> Flask:
    app = Flask(__name__)
    app.config["MCP_SERVER_URL"] = os.environ.get("MCP_SERVER_URL", "http://127.0.0.1:8000/mcp")
    app.config.update(config or {})

    @app.get("/tools")
    def list_tools() -> ResponseReturnValue:
        try:
            tools = get_client().list_tools()
        except mcp_sync.MCPSyncError as exc:
            return no_answer(exc)
        return jsonify(tools=[{"name": t.name, "description": t.description} for t in tools])

    @app.get("/add")
    def add() -> ResponseReturnValue:
        a, b = request.args.get("a", type=int), request.args.get("b", type=int)
        if a is None or b is None:
            return jsonify(error="a and b must be integers"), 400
        try:
            result = get_client().call_tool("add", {"a": a, "b": b})
        except mcp_sync.MCPSyncError as exc:
            return no_answer(exc)
        if result.is_error:
            return jsonify(error=result.text), 502
        return jsonify(sum=result.text)

    return app


def no_answer(exc: mcp_sync.MCPSyncError) -> ResponseReturnValue:
    current_app.logger.warning("the MCP server gave no usable answer: %s", exc)
    if isinstance(exc, mcp_sync.RequestTimeout):
        return jsonify(error="the MCP server did not answer in time"), 504
    return jsonify(error="the MCP server is not available"), 502
