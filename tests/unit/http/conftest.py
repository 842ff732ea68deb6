"""Fixtures for the Streamable HTTP tests: the scripted MCP server behind `responses`.

The server itself lives in ``support.scripted_http``: it answers POST, GET and DELETE
on ``URL`` the way a Streamable HTTP server would (``initialize`` opens a session,
notifications and client responses get 202, requests on a forgotten session get 404,
GET is answered 405 by default) and records every request.

``server``       the scripted server, live for the duration of the test.
``make_client``  builds clients of it (legacy era), all closed after the test.
``client``       a client already connected to it.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.scripted_http import URL, serve

import mcp_sync


@pytest.fixture
def server():
    """The scripted server, live for the duration of the test."""
    with serve() as scripted:
        yield scripted


@pytest.fixture
def make_client(server):
    """Builds clients of the scripted server; every one is closed after the test."""
    clients: list[mcp_sync.Client] = []

    def make(**options: Any) -> mcp_sync.Client:
        options.setdefault("timeout", 10.0)
        # These tests cover the legacy transport; era detection has tests of its own.
        options.setdefault("protocol_version", "2025-11-25")
        client = mcp_sync.Client(URL, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    """A client connected to the scripted server."""
    return make_client().connect()
