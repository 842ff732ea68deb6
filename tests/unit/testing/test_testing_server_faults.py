"""The fault switches of MCPTestServer, and how mcp_sync.Client copes with each."""

from __future__ import annotations

import threading
import time

import pytest
from support.testing_server_helpers import LEGACY, demo, server_threads, wait_for

import mcp_sync
from mcp_sync.testing import MCPTestServer


def test_expired_sessions_cost_exactly_one_new_initialize(server, client_for):
    resets = []
    client = client_for(server.url, LEGACY, on_session_reset=resets.append)
    old = client.session_id
    assert server.expire_sessions() == 1
    assert server.sessions == []
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    assert wait_for(lambda: len(resets) == 1)
    assert server.count("initialize") == 2
    assert client.session_id != old and client.session_id in server.sessions


def test_many_threads_hitting_an_expired_session_share_one_initialize(server, client_for):
    client = client_for(server.url, LEGACY, listen=False)
    server.expire_sessions()
    results = []
    threads = [
        threading.Thread(
            target=lambda i=i: results.append(client.call_tool("echo", {"text": str(i)}).text)
        )
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [str(i) for i in range(8)]
    assert server.count("initialize") == 2


def test_fail_next_surfaces_as_http_status_error(server, client_for):
    client = client_for(server.url, LEGACY, retry=mcp_sync.RetryPolicy(max_retries=0))
    server.fail_next(503, headers={"Retry-After": "1"}, body="try later")
    with pytest.raises(mcp_sync.HTTPStatusError) as caught:
        client.call_tool("add", {"a": 1, "b": 2})
    assert caught.value.status == 503
    assert caught.value.retry_after == 1.0
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"


def test_a_503_with_retry_after_is_waited_out_and_retried(server, client_for):
    client = client_for(server.url, LEGACY)
    server.fail_next(503, headers={"Retry-After": "0"}, body="try later")
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    assert server.count("tools/call") == 2


def test_fail_next_counts_and_filters_by_method(server, client_for):
    client = client_for(server.url, None)
    server.fail_next(500, count=2, method="tools/list")
    assert client.call_tool("echo", {"text": "x"}).text == "x"
    for _ in range(2):
        with pytest.raises(mcp_sync.HTTPStatusError):
            client.list_tools(cache=False)
    assert len(client.list_tools(cache=False)) == 6


def test_a_404_from_fail_next_makes_the_client_start_a_new_session(server, client_for):
    client = client_for(server.url, LEGACY, listen=False)
    server.fail_next(404, method="tools/call")
    assert client.call_tool("add", {"a": 1, "b": 1}).text == "2"
    assert server.count("initialize") == 2


def test_a_dropped_legacy_tool_call_raises_transport_error(server, client_for):
    client = client_for(server.url, LEGACY)
    server.drop_next_stream(method="tools/call")
    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("add", {"a": 1, "b": 2})
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"


def test_a_dropped_legacy_list_is_retried_on_its_living_session(server, client_for):
    client = client_for(server.url, LEGACY)
    server.drop_next_stream(method="tools/list")
    assert len(client.list_tools()) == 6
    assert server.count("initialize") == 1
    assert server.count("tools/list") == 2


def test_a_dropped_legacy_list_raises_when_retries_are_off(server, client_for):
    client = client_for(server.url, LEGACY, retry=mcp_sync.RetryPolicy(max_retries=0))
    server.drop_next_stream(method="tools/list")
    with pytest.raises(mcp_sync.TransportError):
        client.list_tools()
    assert server.count("initialize") == 1


def test_a_dropped_stream_after_progress_events(server, client_for):
    client = client_for(server.url, LEGACY)
    seen = []
    server.drop_next_stream(after_events=2, method="tools/call")
    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("slow", {"steps": 5}, progress=lambda *a: seen.append(a[0]))
    assert seen == [1, 2]


def test_a_dropped_modern_request_is_issued_again(server, client_for):
    client = client_for(server.url, None)
    server.drop_next_stream(method="tools/call")
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    calls = [r for r in server.requests if r.method == "tools/call"]
    assert len(calls) == 2


def test_delay_makes_a_short_timeout_run_out(server, client_for):
    client = client_for(server.url, None)
    server.delay(5)
    started = time.monotonic()
    with pytest.raises(mcp_sync.RequestTimeout):
        client.call_tool("add", {"a": 1, "b": 2}, timeout=0.2)
    assert time.monotonic() - started < 2.5
    server.delay(0)
    assert client.call_tool("add", {"a": 1, "b": 2}, timeout=5).text == "3"


def test_reset_faults_clears_everything(server, client_for):
    client = client_for(server.url, None)
    server.fail_next(500, count=3)
    server.drop_next_stream()
    server.delay(5)
    server.reset_faults()
    assert client.call_tool("add", {"a": 1, "b": 2}, timeout=2).text == "3"


def test_fault_arguments_are_checked():
    server = MCPTestServer()
    with pytest.raises(ValueError):
        server.fail_next(500, count=0)
    with pytest.raises(ValueError):
        server.drop_next_stream(after_events=-1)
    with pytest.raises(ValueError):
        server.delay(-1)
    with pytest.raises(ValueError):
        MCPTestServer(eras=("future",))


def test_stop_joins_every_thread_even_with_clients_connected(client_for):
    server = demo(MCPTestServer()).start()
    client = client_for(server.url, LEGACY)
    assert wait_for(lambda: any(r.http_method == "GET" for r in server.requests))
    assert any(t.name.startswith("mcp_sync-testserver-conn-") for t in server_threads())
    assert all(t.daemon for t in server_threads())
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    assert server_threads() == []
    with pytest.raises(mcp_sync.MCPSyncError):
        client.call_tool("add", {"a": 1, "b": 2}, timeout=2)
    server.stop()  # idempotent


def test_a_server_can_be_started_again_after_stop(client_for):
    server = demo(MCPTestServer())
    for _ in range(2):
        with server:
            assert client_for(server.url, None).call_tool("echo", {"text": "a"}).text == "a"
        assert server_threads() == []
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
