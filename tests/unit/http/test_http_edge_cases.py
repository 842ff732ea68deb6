"""Edge cases: odd server answers and recovery corners, each with a clear outcome."""

from __future__ import annotations

import socket
import time

import pytest

import mcp_sync


def test_json_answer_without_the_response_raises_protocol_error_at_once(server, client):
    server.script(
        "tools/call",
        server.json_reply(
            {
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": {"level": "info", "data": "x"},
            }
        ),
    )

    started = time.monotonic()
    with pytest.raises(mcp_sync.ProtocolError):
        client.call_tool("add", {"a": 1, "b": 1})
    assert time.monotonic() - started < 2


def test_initialize_result_with_null_capabilities_declares_nothing(server, make_client):
    server.capabilities = None  # type: ignore[assignment]
    client = make_client().connect()

    with pytest.raises(mcp_sync.CapabilityNotSupported):
        client.list_tools()
    client.ping()


def test_initialize_result_without_server_info_raises_protocol_error(server, make_client):
    server.on("initialize", lambda seen: {"protocolVersion": "2025-11-25", "capabilities": {}})

    with pytest.raises(mcp_sync.ProtocolError):
        make_client().connect()


def test_unsupported_version_error_with_a_malformed_supported_list_is_raised_as_is(
    server, make_client
):
    server.script(
        "initialize", server.RpcError(-32602, "Unsupported protocol version", {"supported": 7})
    )

    with pytest.raises(mcp_sync.MCPError) as info:
        make_client().connect()
    assert info.value.code == -32602


def test_empty_session_id_header_means_no_session(server, make_client):
    server.issue_sessions = False
    server.script(
        "initialize",
        lambda seen: server.json_reply(
            server.result_message(seen.id, server.initialize_result()),
            headers={"Mcp-Session-Id": ""},
        ),
    )
    client = make_client().connect()

    assert client.session_id is None
    client.ping()
    assert server.posts("ping")[0].session is None


def test_failed_reinitialize_is_raised_and_the_next_call_starts_a_session(server, client):
    server.expire_session()
    server.script("initialize", server.Reply(500, b"overloaded"))

    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.ping()
    assert info.value.status == 500

    client.ping()
    assert len(server.initializes()) == 3
    assert client.session_id == "session-2"


def _cut_stream_then_forget_session(server):
    def cut(seen):
        server.expire_session()
        return server.sse_reply(": the server went away\n\n")

    server.script("tools/call", cut)


def test_tool_call_cut_off_with_its_session_is_not_resent_by_default(server, client):
    _cut_stream_then_forget_session(server)

    with pytest.raises(mcp_sync.TransportError) as info:
        client.call_tool("add", {"a": 1, "b": 2})
    assert not isinstance(info.value, mcp_sync.SessionExpiredError)
    assert len(server.posts("tools/call")) == 1


def test_tool_call_cut_off_with_its_session_is_resent_when_the_policy_allows(server, make_client):
    client = make_client(recovery=mcp_sync.RecoveryPolicy(resend_interrupted_calls=True)).connect()
    _cut_stream_then_forget_session(server)

    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    assert len(server.posts("tools/call")) == 2
    assert len(server.initializes()) == 2


def test_list_cut_off_with_its_session_is_resent_on_a_new_session(server, client):
    def cut(seen):
        server.expire_session()
        return server.sse_reply(": bye\n\n")

    server.script("tools/list", cut)

    assert [tool.name for tool in client.list_tools()] == ["add"]
    assert len(server.initializes()) == 2


def test_resume_get_answered_404_keeps_a_live_session(server, client):
    # The POST stream breaks after an event id; the resume GET gets 404, as from a
    # server without GET support. The session is alive, so it is kept.
    server.script("tools/call", server.sse_reply("id: e1\nretry: 10\ndata:\n\n"))
    server.get_reply = server.Reply(404)

    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("add", {"a": 1, "b": 2})
    assert len(server.initializes()) == 1
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"


def test_huge_retry_value_is_ignored(server, client):
    result = {"content": [{"type": "text", "text": "ok"}]}
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(
            "retry: 99999999999999999999\n\n", server.result_message(seen.id, result)
        ),
    )

    assert client.call_tool("add", {"a": 1, "b": 2}).text == "ok"


@pytest.mark.parametrize("version", [None, "2025-11-25"])
def test_a_refused_connection_is_a_transport_error_at_once_not_a_timeout(version):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    client = mcp_sync.Client(f"http://127.0.0.1:{port}/mcp", timeout=30, protocol_version=version)
    started = time.monotonic()

    with pytest.raises(mcp_sync.TransportError, match="could not connect"):
        client.connect()

    assert time.monotonic() - started < 5
    client.close()
