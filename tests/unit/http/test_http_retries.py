"""Transient failures are retried as the client's RetryPolicy says, within the call's time."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import urllib3

import mcp_sync


def refused() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    )


def unavailable(server, retry_after=None):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return server.Reply(503, "busy", headers)


FAST = mcp_sync.RetryPolicy(backoff=0.01, backoff_max=0.02)


def test_a_503_is_retried_and_the_call_succeeds(server, make_client):
    client = make_client(retry=FAST).connect()
    server.script("tools/list", unavailable(server), unavailable(server))
    assert [tool.name for tool in client.list_tools()] == ["add"]
    assert len(server.posts("tools/list")) == 3


def test_retries_stop_after_max_retries_with_the_last_error(server, make_client):
    client = make_client(retry=mcp_sync.RetryPolicy(max_retries=2, backoff=0.01)).connect()
    server.script("tools/list", *[unavailable(server)] * 5)
    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.list_tools()
    assert info.value.status == 503
    assert len(server.posts("tools/list")) == 3


def test_a_tool_call_that_never_reached_the_server_is_retried(server, make_client):
    client = make_client(retry=FAST).connect()
    server.script("tools/call", refused())
    assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"sum": 3}


def test_a_tool_call_a_gateway_failed_is_not_retried(server, make_client):
    client = make_client(retry=FAST).connect()
    server.script("tools/call", server.Reply(502, "bad gateway"))
    with pytest.raises(mcp_sync.HTTPStatusError):
        client.call_tool("add", {"a": 1, "b": 2})
    assert len(server.posts("tools/call")) == 1


def test_retry_tool_calls_lets_a_gateway_failure_be_retried(server, make_client):
    policy = mcp_sync.RetryPolicy(backoff=0.01, retry_tool_calls=True)
    client = make_client(retry=policy).connect()
    server.script("tools/call", server.Reply(502, "bad gateway"))
    assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"sum": 3}


def test_retry_after_is_honoured(server, make_client):
    client = make_client().connect()
    server.script("tools/list", unavailable(server, "1"))
    started = time.monotonic()
    client.list_tools()
    assert time.monotonic() - started >= 0.95


def test_no_retry_waits_past_the_calls_deadline(server, make_client):
    client = make_client().connect()
    server.script("tools/list", unavailable(server, "30"))
    started = time.monotonic()
    with pytest.raises(mcp_sync.HTTPStatusError):
        client.list_tools(timeout=2)
    assert time.monotonic() - started < 0.5
    assert len(server.posts("tools/list")) == 1


def test_a_cancel_ends_the_wait_before_a_retry(server, make_client):
    client = make_client().connect()
    server.script("tools/call", unavailable(server, "30"))
    token = mcp_sync.CancelToken()
    threading.Timer(0.2, token.cancel, args=("stop",)).start()
    started = time.monotonic()
    with pytest.raises(mcp_sync.RequestCancelled):
        client.call_tool("add", {"a": 1, "b": 2}, cancel=token, timeout=None)
    assert time.monotonic() - started < 1.0


def test_closing_the_client_ends_the_wait_before_a_retry(server, make_client):
    client = make_client().connect()
    server.script("tools/list", unavailable(server, "30"))
    threading.Timer(0.2, client.close).start()
    started = time.monotonic()
    with pytest.raises(mcp_sync.ClientClosedError):
        client.list_tools(timeout=None)
    assert time.monotonic() - started < 1.0


def test_the_handshake_is_retried_too(server, make_client):
    server.script("initialize", unavailable(server))
    client = make_client(retry=FAST).connect()
    assert client.session_id is not None
    assert len(server.initializes()) == 2


def test_max_retries_zero_raises_at_once(server, make_client):
    client = make_client(retry=mcp_sync.RetryPolicy(max_retries=0)).connect()
    server.script("tools/list", unavailable(server))
    with pytest.raises(mcp_sync.HTTPStatusError):
        client.list_tools()
    assert len(server.posts("tools/list")) == 1


def test_a_retry_is_logged_at_info(server, make_client, caplog):
    client = make_client(retry=FAST).connect()
    server.script("tools/list", unavailable(server))
    with caplog.at_level("INFO", logger="mcp_sync"):
        client.list_tools()
    assert "tools/list failed (HTTP 503" in caplog.text and "retry 1 of 3" in caplog.text
