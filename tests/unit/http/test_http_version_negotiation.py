"""Protocol version negotiation in the initialize handshake."""

from __future__ import annotations

import pytest

import mcp_sync


def test_unknown_protocol_version_in_the_initialize_result_raises_at_connect(server, make_client):
    server.protocol_version = "2099-01-01"
    client = make_client()

    with pytest.raises(mcp_sync.UnsupportedProtocolVersion) as info:
        client.connect()

    assert info.value.version == "2099-01-01"
    assert server.posts("notifications/initialized") == []


def test_initialize_error_with_supported_versions_retries_with_a_mutual_version(
    server, make_client
):
    server.protocol_version = "2025-06-18"
    server.script(
        "initialize",
        server.RpcError(
            -32602,
            "Unsupported protocol version",
            {"supported": ["2025-06-18"], "requested": "2025-11-25"},
        ),
    )
    client = make_client().connect()

    offered = [seen.params["protocolVersion"] for seen in server.initializes()]
    assert offered == ["2025-11-25", "2025-06-18"]
    assert client.protocol_version == "2025-06-18"


def test_negotiated_older_version_is_sent_in_the_protocol_version_header(server, make_client):
    server.protocol_version = "2025-06-18"
    server.script(
        "initialize",
        server.RpcError(-32602, "Unsupported protocol version", {"supported": ["2025-06-18"]}),
    )
    client = make_client().connect()

    client.ping()

    later = server.posts()[server.posts().index(server.initializes()[-1]) + 1 :]
    assert [seen.method for seen in later] == ["notifications/initialized", "ping"]
    assert {seen.version for seen in later} == {"2025-06-18"}
