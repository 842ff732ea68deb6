"""An in-process MCP server for demos and for your own tests.

::

    from mcp_sync.testing import MCPTestServer

    server = MCPTestServer()

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    with server, mcp_sync.Client(server.url) as client:
        assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"

It runs on the standard library alone (``http.server`` and threads), speaks both eras
of Streamable HTTP (legacy sessions and stateless 2026-07-28), and has switches to make
it misbehave: :meth:`~MCPTestServer.expire_sessions`,
:meth:`~MCPTestServer.drop_next_stream`, :meth:`~MCPTestServer.delay` and
:meth:`~MCPTestServer.fail_next`. The pytest plugin (``mcp_server`` fixture) lives in
:mod:`mcp_sync.testing.pytest_plugin`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._conformance import conformance_fixtures
    from ._content import (
        PNG_1X1,
        WAV_SILENCE,
        ToolError,
        ToolResult,
        audio,
        embedded_resource,
        image,
        resource_link,
        text,
    )
    from ._server import (
        LEGACY_VERSIONS,
        MODERN_VERSIONS,
        Context,
        MCPTestServer,
        ReceivedRequest,
        RPCError,
    )

    TestServer = MCPTestServer

# Where each public name lives: the package imports its modules on first use, so that
# loading the pytest plugin (a submodule) costs nothing more.
_WHERE = {
    "conformance_fixtures": "_conformance",
    "PNG_1X1": "_content",
    "WAV_SILENCE": "_content",
    "ToolError": "_content",
    "ToolResult": "_content",
    "audio": "_content",
    "embedded_resource": "_content",
    "image": "_content",
    "resource_link": "_content",
    "text": "_content",
    "LEGACY_VERSIONS": "_server",
    "MODERN_VERSIONS": "_server",
    "Context": "_server",
    "MCPTestServer": "_server",
    "ReceivedRequest": "_server",
    "RPCError": "_server",
}

__all__ = [
    "LEGACY_VERSIONS",
    "MODERN_VERSIONS",
    "PNG_1X1",
    "WAV_SILENCE",
    "Context",
    "MCPTestServer",
    "RPCError",
    "ReceivedRequest",
    "TestServer",
    "ToolError",
    "ToolResult",
    "audio",
    "conformance_fixtures",
    "embedded_resource",
    "image",
    "resource_link",
    "text",
]


def __getattr__(name: str) -> Any:
    if name == "TestServer":  # a short alias of MCPTestServer
        name = "MCPTestServer"
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
