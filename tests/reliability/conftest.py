"""Servers behind a fault-injection proxy, and the leak checks every reliability test gets.

Fixtures
--------
``era``            "legacy" or "modern": each test that takes it runs in both
``testing_server`` an in-process ``MCPTestServer`` with ``echo``, ``add`` and ``slow``
``proxy``          a ``FaultProxy`` in front of ``testing_server``
``client_for``     ``client_for(url, **options)``: a connected client in the test's era
                   (closed at teardown); retries are quick unless ``retry=`` says otherwise
``official``       the official SDK's everything_server.py with ``--event-store``, so
                   that a cut legacy stream can be resumed (``Last-Event-ID``)

After each test, once everything it opened is closed, no ``mcp_sync-`` thread of the
client and no socket it opened may be left (``_no_leaks``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from support.fault_proxy import FaultProxy
from support.server_env import mark_directory, prepare_after_collection, prepared_server_python
from support.server_process import ServerProcess
from support.testing_server_helpers import wait_for

import mcp_sync
from mcp_sync.testing import MCPTestServer

ERAS = {"legacy": "2025-11-25", "modern": None}
QUICK_RETRIES = mcp_sync.RetryPolicy(backoff=0.01, backoff_max=0.05)
# Threads of the test's own servers, which these checks do not judge.
_SERVER_THREADS = ("mcp_sync-testserver", "mcp_sync-faultproxy")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_directory(items, Path(__file__).resolve().parent, pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    prepare_after_collection(session, {"official"})


def client_threads() -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith("mcp_sync-") and not t.name.startswith(_SERVER_THREADS)
    ]


def open_sockets() -> set[str]:
    """The inodes of the sockets this process has open (Linux)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    before = open_sockets()
    yield
    assert wait_for(lambda: not client_threads()), f"threads left: {client_threads()}"
    assert wait_for(lambda: not (open_sockets() - before)), (
        f"sockets left: {open_sockets() - before}"
    )


@pytest.fixture(params=sorted(ERAS))
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so that tools blocked on it end with the test."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def testing_server(release: threading.Event) -> Iterator[MCPTestServer]:
    server = MCPTestServer()

    @server.tool()
    def echo(text: str) -> str:
        return text

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    def slow(ctx: Any, steps: int = 3, delay: float = 0.05) -> str:
        for step in range(1, steps + 1):
            release.wait(delay)
            ctx.progress(step, steps, f"step {step}")
        return f"done after {steps} steps"

    with server:
        yield server


@pytest.fixture
def proxy(testing_server: MCPTestServer) -> Iterator[FaultProxy]:
    with FaultProxy(testing_server.url) as running:
        yield running


@pytest.fixture
def client_for(era: str) -> Iterator[Callable[..., mcp_sync.Client]]:
    clients: list[mcp_sync.Client] = []

    def make(url: str, **options: Any) -> mcp_sync.Client:
        options.setdefault("timeout", 10)
        options.setdefault("retry", QUICK_RETRIES)
        client = mcp_sync.Client(url, protocol_version=ERAS[era], **options)
        clients.append(client)
        client.connect()
        assert client.era == era
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def official() -> Iterator[ServerProcess]:
    prepared_server_python()
    server = ServerProcess(extra_args=["--event-store"])
    server.start()
    try:
        yield server
    finally:
        server.close()
