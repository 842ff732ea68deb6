"""Helpers of the mcp_sync.testing tests: a demo server with a tool of each kind, and
waits."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from mcp_sync.testing import Context, MCPTestServer, ToolError

LEGACY = "2025-11-25"
MODERN = "2026-07-28"


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mcp_sync-testserver")]


def demo(server: MCPTestServer) -> MCPTestServer:
    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        return text

    @server.tool()
    def weather(city: str) -> dict[str, Any]:
        return {"city": city, "celsius": 21}

    @server.tool()
    def slow(ctx: Context, steps: int = 3, pause: float = 0.01) -> str:
        for i in range(1, steps + 1):
            threading.Event().wait(pause)
            ctx.progress(i, steps, f"step {i}")
        return f"done after {steps} steps"

    @server.tool()
    def shout(ctx: Context, level: str = "warning") -> str:
        ctx.log(level, {"said": "hello"}, logger="demo")
        return "ok"

    @server.tool()
    def broken() -> str:
        raise ToolError("it broke")

    @server.resource("test://static", mime_type="text/plain")
    def static() -> str:
        return "static text"

    @server.resource("test://blob", mime_type="application/octet-stream")
    def blob() -> bytes:
        return bytes(range(4))

    @server.resource_template("test://items/{id}", complete={"id": ["1", "10", "2"]})
    def item(id: str) -> str:
        return f"item {id}"

    @server.prompt(complete={"name": ["Alice", "Albert", "Bob"]})
    def greet(name: str) -> str:
        """Greet someone."""
        return f"Hello, {name}!"

    return server


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` runs out; its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
