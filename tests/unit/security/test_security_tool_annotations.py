"""Tool annotations are untrusted hints: they never change what the client does.

The case that matters: a ``tools/call`` whose stream the server cut while it dropped the
session. Whether the call is sent again is the caller's ``RecoveryPolicy``, not the
tool's claim to be read-only or idempotent.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

import mcp_sync
from mcp_sync.testing import Context, MCPTestServer

LEGACY = "2025-11-25"

CLAIMS = {
    "lookup": {"readOnlyHint": True, "idempotentHint": True, "destructiveHint": False},
    "charge": {"readOnlyHint": False, "idempotentHint": False, "destructiveHint": True},
}


@pytest.fixture
def test_server():
    server = MCPTestServer()
    runs: Counter = Counter()
    server.runs = runs  # type: ignore[attr-defined]
    # Set once a tool's first run is over: the server runs it while it cuts the stream,
    # so the client may hear of the cut first.
    server.first_run_over = {name: threading.Event() for name in CLAIMS}  # type: ignore[attr-defined]

    def register(name: str) -> None:
        @server.tool(name=name, annotations=CLAIMS[name])
        def tool(ctx: Context) -> str:
            runs[name] += 1
            if runs[name] == 1 and ctx.era == "legacy":
                server.expire_sessions()  # the session goes with the cut stream
            server.first_run_over[name].set()  # type: ignore[attr-defined]
            return f"{name} ran"

    for name in CLAIMS:
        register(name)
    with server:
        yield server


def test_the_annotations_reach_the_caller_as_listed(test_server):
    with mcp_sync.Client(test_server.url, protocol_version=LEGACY, timeout=10) as client:
        tools = {tool.name: tool for tool in client.list_tools()}
    assert tools["lookup"].annotations == CLAIMS["lookup"]
    assert tools["charge"].annotations == CLAIMS["charge"]


@pytest.mark.parametrize("name", list(CLAIMS))
def test_a_cut_tool_call_is_not_resent_whatever_its_annotations_claim(test_server, name):
    with mcp_sync.Client(test_server.url, protocol_version=LEGACY, timeout=10) as client:
        client.list_tools()  # the client has seen the annotations
        test_server.drop_next_stream(method="tools/call")
        with pytest.raises(mcp_sync.TransportError) as info:
            client.call_tool(name)
        assert not isinstance(info.value, mcp_sync.SessionExpiredError)
        assert test_server.first_run_over[name].wait(5)
        assert test_server.runs[name] == 1
        assert test_server.count("tools/call") == 1
        # The client recovers for the next call, which runs once.
        assert client.call_tool(name).text == f"{name} ran"
    assert test_server.runs[name] == 2


@pytest.mark.parametrize("name", list(CLAIMS))
def test_the_recovery_policy_alone_allows_resending_a_cut_tool_call(test_server, name):
    policy = mcp_sync.RecoveryPolicy(resend_interrupted_calls=True)
    with mcp_sync.Client(
        test_server.url, protocol_version=LEGACY, recovery=policy, timeout=10
    ) as client:
        client.list_tools()
        test_server.drop_next_stream(method="tools/call")
        assert client.call_tool(name).text == f"{name} ran"
    assert test_server.runs[name] == 2  # destructive or not: the caller chose to resend


@pytest.mark.parametrize("name", list(CLAIMS))
def test_modern_tool_calls_lost_with_their_stream_are_treated_alike_whatever_they_claim(
    test_server, name
):
    # For the record: 2026-07-28 says a request lost with its stream is issued anew,
    # and mcp_sync does so once for every tool, read-only or destructive, whatever the
    # RecoveryPolicy says. The annotations play no part either way.
    with mcp_sync.Client(test_server.url, timeout=10) as client:
        assert client.era == "modern"
        client.list_tools()
        test_server.drop_next_stream(method="tools/call")
        assert client.call_tool(name).text == f"{name} ran"
    assert test_server.runs[name] == 2
