"""Corners of the modern era: what is cached, what the era cache keeps, refusals, cancels."""

from __future__ import annotations

import threading
import time

import pytest

import mcp_sync
from mcp_sync import client as client_module

ELICIT = {
    "method": "elicitation/create",
    "params": {"message": "which?", "requestedSchema": {"type": "object"}},
}


def test_a_read_that_needed_input_is_never_cached(server, make_client):
    contents = {
        "resultType": "complete",
        "contents": [{"uri": "r://x", "text": "x"}],
        "ttlMs": 60000,
    }
    server.script("resources/read", server.input_required({"pick": ELICIT}, "s1"), contents)
    server.on("resources/read", lambda seen: contents)
    client = make_client(
        elicitation_handler=lambda params: {"action": "accept", "content": {}}
    ).connect()

    client.read_resource("r://x")
    client.read_resource("r://x")

    assert len(server.posts("resources/read")) == 3  # the first round, its retry, and again


def test_an_unauthorized_probe_is_raised_and_not_remembered_as_legacy(server, make_client):
    server.script("server/discover", server.Reply(401, b"login first"))

    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        make_client().connect()

    assert info.value.status == 401
    assert server.posts("initialize") == []
    assert client_module._era_cache == {}


def test_a_probe_that_times_out_falls_back_without_remembering_it(server, make_client):
    def slow(seen):
        time.sleep(0.4)
        return server.discover_result()

    server.script("server/discover", slow)
    client = make_client(timeout=0.2).connect()

    assert client.era == "legacy"
    assert client_module._era_cache == {}


def test_a_refused_listen_stream_does_not_hold_up_connecting(server, make_client):
    server.capabilities["tools"] = {"listChanged": True}
    server.on(
        "subscriptions/listen",
        lambda seen: server.RpcError(server.METHOD_NOT_FOUND, "no listening here"),
    )

    started = time.monotonic()
    make_client(notification_handler=lambda method, params: None).connect()

    assert time.monotonic() - started < 2


def test_set_roots_sends_no_list_changed_in_the_modern_era(server, make_client):
    client = make_client(roots=["file:///a"]).connect()

    client.set_roots(["file:///b"])

    assert server.posts("notifications/roots/list_changed") == []


def test_a_request_the_server_sends_on_a_stream_is_dropped_not_answered(server, client):
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(
            {"jsonrpc": "2.0", "id": "srv-1", "method": "ping"},
            server.result_message(seen.id, server.text_result("done")),
        ),
    )

    assert client.call_tool("echo", {"text": "x"}).text == "done"
    assert [s for s in server.posts() if s.is_response] == []


def test_cancelling_a_call_waiting_on_a_task_cancels_the_task(server, make_client):
    server.capabilities["extensions"] = {"io.modelcontextprotocol/tasks": {}}
    task = {
        "taskId": "t-7",
        "status": "working",
        "createdAt": "2026-11-25T10:00:00Z",
        "lastUpdatedAt": "2026-11-25T10:00:00Z",
        "ttlMs": None,
        "pollIntervalMs": 5000,
    }
    server.script("tools/call", {"resultType": "task", **task})
    server.on("tasks/get", lambda seen: {"resultType": "complete", **task})
    server.on("tasks/cancel", lambda seen: {"resultType": "complete"})
    client = make_client().connect()
    token = mcp_sync.CancelToken()
    threading.Timer(0.2, token.cancel, args=("stop",)).start()

    started = time.monotonic()
    with pytest.raises(mcp_sync.RequestCancelled):
        client.call_tool("echo", {"text": "x"}, cancel=token)

    assert time.monotonic() - started < 2
    assert server.posts("tasks/cancel")[0].params["taskId"] == "t-7"
