"""No call waits past its deadline, however the server's stream stalls.

Against the in-process test server on real sockets, in both eras: the deadline a call
has when its stream goes quiet is the one that ends it, not the read timeout the
request went out with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import mcp_sync
from mcp_sync.testing import MCPTestServer

ERAS = {"legacy": "2025-11-25", "modern": None}


@pytest.fixture(params=sorted(ERAS))
def stalling(request: pytest.FixtureRequest, release: threading.Event) -> Iterator[Any]:
    """``stalling(**client_options)``: a client of a server whose ``stall`` tool reports
    progress after ``before`` seconds and then says nothing until the test ends."""
    with MCPTestServer() as server:

        @server.tool()
        def stall(ctx: Any, before: float) -> str:
            time.sleep(before)
            ctx.progress(1, 2, "half way")
            release.wait(30)
            return "done"

        @server.tool()
        def steady(ctx: Any, steps: int, every: float) -> str:
            for step in range(steps):
                time.sleep(every)
                ctx.progress(step + 1, steps)
            return "done"

        clients: list[mcp_sync.Client] = []

        def make(**options: Any) -> mcp_sync.Client:
            client = mcp_sync.Client(
                server.url, protocol_version=ERAS[request.param], **options
            ).connect()
            clients.append(client)
            return client

        yield make
        release.set()
        for client in clients:
            client.close()


def _timed_out_after(client: mcp_sync.Client, **call: Any) -> float:
    started = time.monotonic()
    with pytest.raises(mcp_sync.RequestTimeout):
        client.call_tool(**call, progress=lambda *_: None)
    return time.monotonic() - started


def test_a_stream_that_stalls_after_progress_ends_at_the_first_deadline(stalling):
    client = stalling(timeout=1.0, reset_timeout_on_progress=False)
    elapsed = _timed_out_after(client, name="stall", arguments={"before": 0.5})
    assert 0.9 <= elapsed < 1.3  # not 1.5: half a second of progress, then a full timeout


def test_a_stream_that_stalls_after_progress_ends_at_max_timeout(stalling):
    client = stalling(timeout=0.8, max_timeout=1.0)
    elapsed = _timed_out_after(client, name="stall", arguments={"before": 0.5})
    assert 0.9 <= elapsed < 1.3  # progress moved the deadline to 1.3 s, the cap is 1.0 s


def test_progress_keeps_a_call_alive_past_its_first_deadline(stalling):
    client = stalling(timeout=0.6)
    result = client.call_tool("steady", {"steps": 5, "every": 0.3}, progress=lambda *_: None)
    assert result.text == "done"  # 1.5 s in all, never 0.6 s without progress


def test_the_client_is_usable_after_a_stalled_stream_timed_out(stalling):
    client = stalling(timeout=0.6, reset_timeout_on_progress=False)
    _timed_out_after(client, name="stall", arguments={"before": 0.1})
    result = client.call_tool("steady", {"steps": 1, "every": 0.01}, timeout=5)
    assert result.text == "done"


def test_a_new_session_counts_against_the_deadline_of_the_call_that_needed_it():
    with MCPTestServer() as server:
        server.tool()(lambda: "pong")  # a tool named <lambda> is enough to list
        with mcp_sync.Client(server.url, protocol_version="2025-11-25", timeout=10) as client:
            client.list_tools()
            first_session = client.session_id
            server.expire_sessions()
            server.delay(1.5, method="initialize")
            started = time.monotonic()
            with pytest.raises(mcp_sync.RequestTimeout):
                client.list_tools(timeout=0.5)
            assert time.monotonic() - started < 1.2  # not the 1.5 s the new session took
            server.delay(0)
            # Only that call ran out of time: the next one starts a new session as usual.
            assert len(client.list_tools(timeout=5)) == 1
            assert client.session_id not in (None, first_session)
