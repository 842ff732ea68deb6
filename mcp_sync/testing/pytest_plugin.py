"""pytest plugin of mcp_sync: the ``mcp_server`` and ``mcp_server_url`` fixtures.

Installed with mcp_sync (a ``pytest11`` entry point), so the fixtures are there in any
project that has mcp_sync installed. Loading the plugin imports the ``mcp_sync`` package
(it lives inside it); the server itself is imported when a test first asks for it.
Turn the plugin off with ``-p no:mcp_sync``.

::

    def test_add(mcp_server):
        @mcp_server.tool()
        def add(a: int, b: int) -> int:
            return a + b

        with mcp_sync.Client(mcp_server.url) as client:
            assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"

``@pytest.mark.mcp_server(**options)`` passes constructor options (``eras=("legacy",)``,
``json_response=True``...) to the test's server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

# The type-check environment may lack pytest; the ignores are then needed, else unused.
import pytest  # type: ignore[import-not-found,unused-ignore]

if TYPE_CHECKING:
    from mcp_sync.testing import MCPTestServer

__all__ = ["mcp_server", "mcp_server_url"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mcp_server(**options): options for the MCPTestServer of the mcp_server fixture",
    )


@pytest.fixture  # type: ignore[untyped-decorator,unused-ignore]
def mcp_server(request: pytest.FixtureRequest) -> Iterator[MCPTestServer]:
    """A started, empty :class:`~mcp_sync.testing.MCPTestServer`; stopped after the test.

    Register tools, resources and prompts on it in the test, then connect to
    ``mcp_server.url``.
    """
    from mcp_sync.testing import MCPTestServer

    marker = request.node.get_closest_marker("mcp_server")
    options = dict(marker.kwargs) if marker is not None else {}
    server = MCPTestServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture  # type: ignore[untyped-decorator,unused-ignore]
def mcp_server_url(mcp_server: MCPTestServer) -> str:
    """The URL of the ``mcp_server`` fixture's server."""
    return mcp_server.url
