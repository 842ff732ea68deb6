"""Fixtures that run the official MCP SDK server (tests/servers/everything_server.py).

The server needs Python >= 3.10, so it runs as a subprocess from its own virtualenv
(``tests/support/server_env.py``), whatever interpreter runs the tests.

Fixtures
--------
``mcp_server``            a fresh stateful server, SSE responses (function scope)
``mcp_server_json``       the same with ``--json-response`` (plain JSON POST answers)
``mcp_server_stateless``  the same with ``--stateless`` (no Mcp-Session-Id)
``mcp_server_factory``    ``factory(json_response=False, stateless=False, ...)`` starts
                          more servers; all are stopped at teardown
``mcp_server_python``     path of the server virtualenv's python (session scope)

Each server fixture yields a started ``ServerProcess``: ``.url``
(``http://127.0.0.1:PORT/mcp``), ``.base_url``, ``.host``, ``.port``, ``.stop()``,
``.start()``, ``.restart()`` (same port; every session is lost), ``.kill()``,
``.is_running``, ``.stderr_text()``, ``.stdout_text()``.

Every test in this directory gets the ``integration`` marker.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_TESTS_DIR = Path(__file__).resolve().parents[1]
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

from support.server_env import (  # noqa: E402
    mark_directory,
    prepare_after_collection,
    prepared_server_python,
)
from support.server_process import ServerError, ServerProcess  # noqa: E402

__all__ = ["ServerError", "ServerProcess"]

_SERVER_FIXTURES = {
    "mcp_server",
    "mcp_server_json",
    "mcp_server_stateless",
    "mcp_server_factory",
    "mcp_server_python",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_directory(items, Path(__file__).resolve().parent, pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    prepare_after_collection(session, _SERVER_FIXTURES)


@pytest.fixture(scope="session")
def mcp_server_python() -> str:
    """The python that runs the test servers (creates its virtualenv if needed)."""
    return prepared_server_python()


@pytest.fixture
def mcp_server_factory(mcp_server_python: str) -> Iterator[Callable[..., ServerProcess]]:
    """Start extra servers: ``factory(json_response=False, stateless=False, **kwargs)``.

    Keyword arguments go to ``ServerProcess`` (``port``, ``extra_args``,
    ``startup_timeout``, ``script`` ...). Every server started here is stopped at teardown.
    """
    servers: list[ServerProcess] = []

    def factory(
        json_response: bool = False, stateless: bool = False, **kwargs: Any
    ) -> ServerProcess:
        server = ServerProcess(json_response=json_response, stateless=stateless, **kwargs)
        servers.append(server)
        return server.start()

    try:
        yield factory
    finally:
        for server in reversed(servers):
            server.close()


@pytest.fixture
def mcp_server(mcp_server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A fresh stateful server answering POSTs with SSE streams."""
    return mcp_server_factory()


@pytest.fixture
def mcp_server_json(mcp_server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A fresh stateful server started with ``--json-response``."""
    return mcp_server_factory(json_response=True)


@pytest.fixture
def mcp_server_stateless(mcp_server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A fresh server started with ``--stateless`` (no sessions)."""
    return mcp_server_factory(stateless=True)


@pytest.fixture(params=["legacy", "modern"])
def era(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs once per protocol era."""
    return str(request.param)


@pytest.fixture
def connect(era: str) -> Iterator[Callable[..., Any]]:
    """``connect(url, **options)``: a connected client in the test's era, closed afterwards.

    The legacy era pins the 2025-11-25 handshake; the modern era pins nothing, so the
    client must find out by itself that the server speaks 2026-07-28.
    """
    import mcp_sync

    clients: list[mcp_sync.Client] = []

    def make(url: str, **options: Any) -> mcp_sync.Client:
        if era == "legacy":
            options.setdefault("protocol_version", "2025-11-25")
        client = mcp_sync.Client(url, **options)
        clients.append(client)
        client.connect()
        assert client.era == era
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.close()
