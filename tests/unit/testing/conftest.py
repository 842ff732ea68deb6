"""A started MCPTestServer with a few demo tools, resources and prompts, per test.

``demo`` registers them; the ``server`` fixture is a started server with them, stopped
(and its threads joined) after the test. ``client_for`` opens mcp_sync clients that
are closed after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, Optional

import pytest
from support.testing_server_helpers import LEGACY, demo, server_threads

import mcp_sync
from mcp_sync.testing import MCPTestServer


@pytest.fixture
def server() -> Iterator[MCPTestServer]:
    with demo(MCPTestServer()) as started:
        yield started
    assert not server_threads(), "the server left threads behind"


@pytest.fixture
def client_for() -> Iterator[Callable[..., mcp_sync.Client]]:
    clients: list[mcp_sync.Client] = []

    def open_client(url: str, version: Optional[str] = LEGACY, **options: Any) -> mcp_sync.Client:
        options.setdefault("timeout", 10)
        client = mcp_sync.Client(url, protocol_version=version, **options)
        clients.append(client)
        return client.connect()

    yield open_client
    for client in clients:
        client.close()
