"""How a client with no pinned version finds a server's era: server/discover, or the handshake."""

from __future__ import annotations

import pytest

import mcp_sync
from mcp_sync import client as client_module

URL = "http://modern.test/mcp"
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
LEGACY_HANDSHAKE = ["server/discover", "initialize", "notifications/initialized"]


def _assert_legacy(client: mcp_sync.Client, server) -> None:
    assert client.era == "legacy"
    assert client.session_id == "legacy-session-1"
    assert client.protocol_version == LEGACY
    assert client.server_info.name == server.LEGACY_SERVER_INFO["name"]
    assert server.methods() == LEGACY_HANDSHAKE


# --- a modern server ------------------------------------------------------------------------


def test_modern_server_is_found_by_discover_alone(server, make_client):
    client = make_client().connect()

    assert client.era == "modern"
    assert client.session_id is None
    assert server.methods() == ["server/discover"]


def test_modern_server_sends_no_initialize(server, make_client):
    make_client().connect()

    assert server.posts("initialize") == []


def test_server_info_comes_from_the_discover_result(server, make_client):
    client = make_client().connect()

    assert client.server_info.name == server.SERVER_INFO["name"]
    assert client.server_info.version == server.SERVER_INFO["version"]


def test_capabilities_come_from_the_discover_result(server, make_client):
    server.capabilities = {"tools": {}, "logging": {}}
    client = make_client().connect()

    assert client.server_capabilities.tools == {}
    assert client.server_capabilities.logging == {}
    assert client.server_capabilities.prompts is None


def test_instructions_come_from_the_discover_result(server, make_client):
    client = make_client().connect()

    assert client.instructions == server.INSTRUCTIONS


def test_protocol_version_is_the_modern_one(server, make_client):
    client = make_client().connect()

    assert client.protocol_version == MODERN


def test_discover_is_sent_with_the_modern_version_header(server, make_client):
    make_client().connect()

    (discover,) = server.posts("server/discover")
    assert discover.version == MODERN
    assert discover.meta[client_module._META + "protocolVersion"] == MODERN


def test_a_modern_era_is_remembered_for_the_origin(server, make_client):
    make_client().connect()

    assert client_module._era_cache[client_module._origin(URL)] == "modern"


# --- version negotiation on discover --------------------------------------------------------


def test_unsupported_version_naming_the_modern_version_is_retried_once(server, make_client):
    server.script(
        "server/discover",
        server.RpcError(
            server.UNSUPPORTED_VERSION,
            "Unsupported protocol version",
            {"supported": [MODERN], "requested": MODERN},
        ),
    )
    client = make_client().connect()

    assert client.era == "modern"
    assert server.methods() == ["server/discover", "server/discover"]
    assert server.posts("initialize") == []


def test_unsupported_version_twice_raises_instead_of_looping(server, make_client):
    refusal = server.RpcError(
        server.UNSUPPORTED_VERSION, "Unsupported protocol version", {"supported": [MODERN]}
    )
    server.script("server/discover", refusal, refusal, refusal)
    client = make_client()

    with pytest.raises(mcp_sync.UnsupportedProtocolVersion):
        client.connect()
    assert len(server.posts("server/discover")) == 2
    assert server.posts("initialize") == []


def test_unsupported_version_naming_only_legacy_versions_falls_back_to_initialize(
    server, make_client
):
    server.script(
        "server/discover",
        server.RpcError(
            server.UNSUPPORTED_VERSION, "Unsupported protocol version", {"supported": [LEGACY]}
        ),
    )
    client = make_client().connect()

    _assert_legacy(client, server)


# --- answers of a legacy server -------------------------------------------------------------

LEGACY_ANSWERS = {
    "empty-400": lambda s: s.Reply(400),
    "404-without-body": lambda s: s.Reply(404),
    "405": lambda s: s.Reply(405),
    "400-missing-session-error": lambda s: s.json_reply(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32600, "message": "Bad Request: Missing session ID"},
        },
        400,
    ),
    "200-method-not-found-error": lambda s: s.RpcError(-32601, "Method not found", status=200),
    "200-result-without-supported-versions": lambda s: {"capabilities": {"tools": {}}},
}


@pytest.mark.parametrize("answer", list(LEGACY_ANSWERS.values()), ids=list(LEGACY_ANSWERS))
def test_legacy_answer_to_discover_falls_back_to_the_handshake(server, make_client, answer):
    server.script("server/discover", answer(server))
    client = make_client().connect()

    _assert_legacy(client, server)


def test_legacy_fallback_sends_the_handshake_on_the_legacy_transport(server, make_client):
    server.script("server/discover", server.Reply(405))
    make_client().connect()

    (initialize,) = server.posts("initialize")
    assert initialize.params["protocolVersion"] == LEGACY
    assert "Mcp-Method" not in initialize.headers


def test_requests_after_a_legacy_fallback_carry_the_session(server, make_client):
    server.script("server/discover", server.Reply(405))
    client = make_client().connect()

    client.list_tools()

    (listing,) = server.posts("tools/list")
    assert listing.headers.get("Mcp-Session-Id") == "legacy-session-1"
    assert listing.version == LEGACY


def test_header_mismatch_on_discover_raises_without_fallback(server, make_client):
    server.script("server/discover", server.RpcError(server.HEADER_MISMATCH, "Header mismatch"))
    client = make_client()

    with pytest.raises(mcp_sync.MCPError) as info:
        client.connect()

    assert info.value.code == server.HEADER_MISMATCH
    assert server.methods() == ["server/discover"]


def test_legacy_era_is_remembered_per_origin(server, make_client):
    server.script("server/discover", server.Reply(405))
    make_client().connect()

    second = make_client().connect()

    assert second.era == "legacy"
    assert server.methods() == [*LEGACY_HANDSHAKE, "initialize", "notifications/initialized"]


# --- a pinned modern version ----------------------------------------------------------------


def test_pinned_modern_version_on_a_legacy_only_server_raises(server, make_client):
    server.script(
        "server/discover",
        server.json_reply(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32000, "message": "Bad Request: No valid session ID provided"},
            },
            400,
        ),
    )
    client = make_client(protocol_version=MODERN)

    with pytest.raises(mcp_sync.MCPSyncError):
        client.connect()

    assert server.posts("initialize") == []


def test_pinned_modern_version_on_a_server_refusing_discover_with_405_raises(server, make_client):
    server.script("server/discover", server.Reply(405))
    client = make_client(protocol_version=MODERN)

    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.connect()

    assert info.value.status == 405
    assert server.posts("initialize") == []


def test_pinned_modern_version_refused_for_legacy_versions_raises_unsupported_version(
    server, make_client
):
    server.script(
        "server/discover",
        server.RpcError(
            server.UNSUPPORTED_VERSION, "Unsupported protocol version", {"supported": [LEGACY]}
        ),
    )
    client = make_client(protocol_version=MODERN)

    with pytest.raises(mcp_sync.UnsupportedProtocolVersion):
        client.connect()

    assert server.posts("initialize") == []
