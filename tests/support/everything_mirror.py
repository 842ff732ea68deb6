"""The parts of tests/servers/everything_server.py that the CLI tests use, built on
``mcp_sync.testing`` instead of the official SDK: the same names, arguments and answers.

The CLI tests run once against each, so that ``mcp-sync`` is checked against a server
in another process (the official SDK) and against the in-process test server that
users test their own code with.
"""

from __future__ import annotations

import json
import time
from typing import Any

from mcp_sync.testing import PNG_1X1, MCPTestServer, ToolError, ToolResult, image, text


def everything_mirror() -> MCPTestServer:
    """A not yet started ``MCPTestServer`` that answers like everything_server.py."""
    server = MCPTestServer(
        name="everything-server",
        version="1.0.0",
        instructions="Test server for MCP client integration tests.",
    )

    @server.tool(
        description="Add two integers.",
        output_schema={
            "type": "object",
            "properties": {"result": {"type": "integer"}},
            "required": ["result"],
        },
    )
    def add(a: int, b: int) -> ToolResult:
        return ToolResult(content=[text(str(a + b))], structured_content={"result": a + b})

    @server.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(
        description="Take `steps` steps of `delay` seconds, reporting progress after each."
    )
    def slow(ctx: Any, steps: int = 3, delay: float = 0.1) -> str:
        for i in range(1, steps + 1):
            time.sleep(delay)
            ctx.progress(i, steps, f"step {i} of {steps}")
        return f"done after {steps} steps"

    @server.tool(description="Always fails with an isError tool result.")
    def fail(message: str = "this tool always fails") -> str:
        raise ToolError(message)

    server.tool(name="image", description="Return a 1x1 PNG image.")(lambda: image(PNG_1X1))

    header = {"type": "string", "x-mcp-header": "Region"}
    server.tool(
        name="headers_tool",
        description="Echo arguments that 2026-07-28 calls also carry as Mcp-Param-* headers.",
        input_schema={
            "type": "object",
            "properties": {
                "region": header,
                "priority": {"type": "integer", "x-mcp-header": "Priority"},
                "verbose": {"type": "boolean", "x-mcp-header": "Verbose", "default": False},
            },
            "required": ["region", "priority"],
        },
    )(
        lambda region, priority, verbose=False: json.dumps(
            {"region": region, "priority": priority, "verbose": verbose}, sort_keys=True
        )
    )

    @server.resource(
        "test://static",
        name="static",
        description="A static text resource.",
        mime_type="text/plain",
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

    @server.resource_template(
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
        return "0"

    @server.prompt(description="Greet someone by name.")
    def greet(name: str) -> str:
        return f"Hello, {name}! Please greet me back."

    return server
