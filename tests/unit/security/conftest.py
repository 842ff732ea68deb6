"""Fixtures for the security tests.

``server``/``make_client``/``client``  the scripted Streamable HTTP MCP server of
    ``support.scripted_http`` on ``URL``; ``server.mock`` is its `responses` mock, so a
    test can add other origins to it. Its session ids are distinctive, so a test can
    look for one anywhere it should not be.
``trap``  a ``support.local_http.LocalHTTPServer`` no test expects the client to reach.
``self_signed``  a certificate for 127.0.0.1 and ``localhost`` and its key, as files.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from support.local_http import CertFiles, LocalHTTPServer, write_self_signed
from support.scripted_http import PROTOCOL_VERSION, URL, serve

import mcp_sync


@pytest.fixture
def server():
    """The scripted server, live for the duration of the test."""
    with serve() as scripted:
        scripted.session_ids = lambda n: f"sid-{n}-{secrets.token_hex(8)}"
        yield scripted


@pytest.fixture
def make_client(server):
    """Builds clients of the scripted server (legacy era, no GET listener unless
    ``listen=True``; ``url=`` for another address); each is closed after the test."""
    clients: list[mcp_sync.Client] = []

    def make(**options: Any) -> mcp_sync.Client:
        options.setdefault("timeout", 10.0)
        options.setdefault("protocol_version", PROTOCOL_VERSION)
        options.setdefault("listen", False)
        client = mcp_sync.Client(options.pop("url", URL), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    """A client connected to the scripted server."""
    return make_client().connect()


@pytest.fixture
def trap():
    """A local HTTP server that no test expects the client to reach; see ``trap.hits()``."""
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    """A self-signed CA certificate valid for 127.0.0.1 and localhost, with its key."""
    import cryptography  # noqa: F401  (a test dependency, through PyJWT[crypto])

    return write_self_signed(tmp_path_factory.mktemp("tls"))
