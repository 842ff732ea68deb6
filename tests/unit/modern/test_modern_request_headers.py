"""What every modern request carries: routing headers, ``_meta``, and no session."""

from __future__ import annotations

import base64

import pytest

import mcp_sync

META = "io.modelcontextprotocol/"


def _sentinel(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def _exercise(client: mcp_sync.Client) -> None:
    client.list_tools()
    client.call_tool("echo", {"text": "hi"})
    client.list_resources()
    client.read_resource("file:///notes.txt")
    client.list_prompts()
    client.get_prompt("greeting")
    client.ping()


def test_every_post_carries_the_modern_version_header(server, client):
    _exercise(client)

    assert len(server.posts()) == 8
    assert {seen.version for seen in server.posts()} == {server.MODERN}


def test_every_post_carries_mcp_method_equal_to_the_body_method(server, client):
    _exercise(client)

    for seen in server.posts():
        assert seen.headers.get("Mcp-Method") == seen.method


def test_every_post_carries_the_three_meta_keys(server, client):
    _exercise(client)

    for seen in server.posts():
        meta = seen.meta
        assert meta[META + "protocolVersion"] == server.MODERN, seen.method
        assert isinstance(meta[META + "clientCapabilities"], dict), seen.method
        assert meta[META + "clientInfo"]["name"] == "mcp_sync", seen.method


def test_no_post_carries_a_session_id(server, client):
    _exercise(client)

    for seen in server.posts():
        assert "Mcp-Session-Id" not in seen.headers, seen.method


def test_every_post_accepts_json_and_event_streams(server, client):
    _exercise(client)

    for seen in server.posts():
        accepted = [part.strip() for part in seen.headers.get("Accept", "").split(",")]
        assert "application/json" in accepted, seen.method
        assert "text/event-stream" in accepted, seen.method


def test_client_capabilities_in_meta_name_the_handlers(server, make_client):
    client = make_client(
        elicitation_handler=lambda params: {"action": "cancel"},
        sampling_handler=lambda params: {"role": "assistant", "content": {"type": "text"}},
        roots=["file:///srv"],
    ).connect()

    client.list_tools()

    caps = server.posts("tools/list")[0].meta[META + "clientCapabilities"]
    assert {"elicitation", "sampling", "roots"} <= set(caps)
    assert caps["roots"] == {}  # 2026-07-28 has no roots listChanged


def test_tools_call_carries_the_tool_name_in_mcp_name(server, client):
    client.call_tool("echo", {"text": "hi"})

    (call,) = server.posts("tools/call")
    assert call.headers.get("Mcp-Name") == "echo"


def test_non_ascii_tool_name_is_sent_base64_encoded_in_mcp_name(server, client):
    client.call_tool("météo", {})

    (call,) = server.posts("tools/call")
    assert call.headers.get("Mcp-Name") == _sentinel("météo")
    assert call.params["name"] == "météo"


def test_resources_read_carries_the_uri_in_mcp_name(server, client):
    client.read_resource("file:///notes.txt")

    (read,) = server.posts("resources/read")
    assert read.headers.get("Mcp-Name") == "file:///notes.txt"


def test_prompts_get_carries_the_prompt_name_in_mcp_name(server, client):
    client.get_prompt("greeting")

    (get,) = server.posts("prompts/get")
    assert get.headers.get("Mcp-Name") == "greeting"


def test_list_requests_carry_no_mcp_name(server, client):
    client.list_tools()
    client.list_prompts()

    for seen in server.posts()[1:]:
        assert "Mcp-Name" not in seen.headers, seen.method


def test_set_logging_level_sends_no_request(server, client):
    client.set_logging_level("warning")

    assert server.methods() == ["server/discover"]


def test_set_logging_level_puts_the_level_in_later_meta(server, client):
    client.set_logging_level("warning")

    client.list_tools()
    client.call_tool("echo", {"text": "hi"})

    for seen in server.posts()[1:]:
        assert seen.meta[META + "logLevel"] == "warning", seen.method


def test_requests_before_set_logging_level_carry_no_level(server, client):
    client.list_tools()

    assert META + "logLevel" not in server.posts("tools/list")[0].meta


def test_ping_sends_server_discover(server, client):
    client.ping()

    assert server.methods() == ["server/discover", "server/discover"]
    assert server.posts("ping") == []


def test_unknown_method_answered_404_raises_mcp_error(server, client):
    with pytest.raises(mcp_sync.MCPError) as info:
        client.request("vendor/unknown")

    assert info.value.code == server.METHOD_NOT_FOUND


def test_missing_capability_error_raises_mcp_error(server, client):
    server.script("tools/call", server.RpcError(server.MISSING_CAPABILITY, "Needs elicitation"))

    with pytest.raises(mcp_sync.MCPError) as info:
        client.call_tool("echo", {"text": "hi"})

    assert info.value.code == server.MISSING_CAPABILITY
    assert len(server.posts("tools/call")) == 1
