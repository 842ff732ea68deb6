"""MCPTestServer on the wire: the answers the spec asks for, seen with plain requests."""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

import pytest
import requests
from support.testing_server_helpers import LEGACY, MODERN

META = "io.modelcontextprotocol/"
ACCEPT = "application/json, text/event-stream"


def post(url: str, body: Any, headers: Optional[dict[str, str]] = None) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Accept": ACCEPT, "Content-Type": "application/json", **(headers or {})}
    return requests.post(url, data=data, headers=sent, timeout=10)


def initialize(url: str, version: str = LEGACY) -> str:
    params = {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    reply = post(url, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    assert reply.status_code == 200
    return reply.headers["Mcp-Session-Id"]


def modern(method: str, params: Optional[dict[str, Any]] = None, **meta: Any) -> dict[str, Any]:
    full = {
        META + "protocolVersion": MODERN,
        META + "clientCapabilities": {},
        META + "clientInfo": {"name": "t", "version": "1"},
        **meta,
    }
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": method,
        "params": {**(params or {}), "_meta": full},
    }


def modern_headers(
    method: str, name: Optional[str] = None, version: str = MODERN
) -> dict[str, str]:
    headers = {"MCP-Protocol-Version": version, "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    return headers


def test_invalid_json_is_a_parse_error(server):
    reply = post(server.url, b"{not json")
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == -32700


def test_a_legacy_session_lifecycle(server):
    session = initialize(server.url)
    assert all(0x21 <= ord(c) <= 0x7E for c in session)
    headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY}
    note = post(server.url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers)
    assert note.status_code == 202 and note.content == b""
    ping = post(server.url, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers)
    assert ping.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    unknown = post(server.url, {"jsonrpc": "2.0", "id": 3, "method": "nope"}, headers)
    assert unknown.status_code == 200 and unknown.json()["error"]["code"] == -32601
    assert requests.delete(server.url, headers=headers, timeout=10).status_code == 200
    gone = post(server.url, {"jsonrpc": "2.0", "id": 4, "method": "ping"}, headers)
    assert gone.status_code == 404


def test_legacy_requests_need_a_known_session(server):
    missing = post(server.url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert missing.status_code == 400
    unknown = post(
        server.url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"Mcp-Session-Id": "nope"}
    )
    assert unknown.status_code == 404
    assert (
        requests.get(server.url, headers={"Accept": "text/event-stream"}, timeout=10).status_code
        == 400
    )
    assert (
        requests.delete(server.url, headers={"Mcp-Session-Id": "nope"}, timeout=10).status_code
        == 404
    )


def test_an_unsupported_legacy_version_header_is_refused(server):
    session = initialize(server.url)
    reply = post(
        server.url,
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2024-01-01"},
    )
    assert reply.status_code == 400
    assert "session" not in reply.text.lower()  # not mistaken for an expired session


def test_initialize_offers_the_latest_legacy_version_for_an_unknown_one(server):
    params = {
        "protocolVersion": "2099-01-01",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    reply = post(server.url, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    assert reply.json()["result"]["protocolVersion"] == LEGACY


def test_batches_are_refused(server):
    reply = post(server.url, [{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == -32600


def test_modern_discover(server):
    reply = post(server.url, modern("server/discover"), modern_headers("server/discover"))
    result = reply.json()["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"][0] == MODERN
    assert result["_meta"][META + "serverInfo"]["name"] == "mcp_sync-testserver"
    assert result["ttlMs"] == 0 and result["cacheScope"] == "public"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (  # no _meta at all
            {"jsonrpc": "2.0", "id": 7, "method": "server/discover", "params": {}},
            modern_headers("server/discover"),
            400,
            -32602,
        ),
        (  # the version header disagrees with _meta
            modern("server/discover"),
            modern_headers("server/discover", version="2099-01-01"),
            400,
            -32020,
        ),
        (  # Mcp-Method disagrees with the body
            modern("tools/list"),
            modern_headers("prompts/list"),
            400,
            -32020,
        ),
        (  # Mcp-Name is missing
            modern("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}}),
            modern_headers("tools/call"),
            400,
            -32020,
        ),
        (  # removed in 2026-07-28
            modern("ping"),
            modern_headers("ping"),
            404,
            -32601,
        ),
        (
            modern("initialize"),
            modern_headers("initialize"),
            404,
            -32601,
        ),
    ],
    ids=["no-meta", "version-mismatch", "method-mismatch", "no-name", "ping", "initialize"],
)
def test_modern_validation(server, body, headers, status, code):
    reply = post(server.url, body, headers)
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code
    assert reply.json()["id"] == 7


def test_an_unsupported_modern_version_lists_the_supported_ones(server):
    body = modern("server/discover")
    body["params"]["_meta"][META + "protocolVersion"] = "2099-01-01"
    reply = post(server.url, body, modern_headers("server/discover", version="2099-01-01"))
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == -32022
    assert error["data"] == {
        "supported": [MODERN, "2025-11-25", "2025-06-18", "2025-03-26"],
        "requested": "2099-01-01",
    }


def test_mcp_name_may_be_base64_encoded(server):
    encoded = "=?base64?" + base64.b64encode(b"add").decode() + "?="
    body = modern("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})
    reply = post(server.url, body, modern_headers("tools/call", name=encoded))
    assert reply.json()["result"]["content"][0]["text"] == "3"


def test_x_mcp_header_parameters_are_checked(server):
    @server.tool(
        input_schema={
            "type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
        }
    )
    def routed(region: str = "") -> str:
        return region

    body = modern("tools/call", {"name": "routed", "arguments": {"region": "eu"}})
    headers = modern_headers("tools/call", name="routed")
    assert post(server.url, body, headers).json()["error"]["code"] == -32020
    good = post(server.url, body, {**headers, "Mcp-Param-Region": "eu"})
    assert good.json()["result"]["content"][0]["text"] == "eu"
    bad = post(server.url, body, {**headers, "Mcp-Param-Region": "=?base64?!!?="})
    assert bad.status_code == 400


def test_modern_get_and_delete_are_not_allowed(server):
    headers = {"MCP-Protocol-Version": MODERN, "Accept": "text/event-stream"}
    assert requests.get(server.url, headers=headers, timeout=10).status_code == 405


def test_a_foreign_origin_is_forbidden(server):
    reply = post(
        server.url,
        modern("server/discover"),
        {**modern_headers("server/discover"), "Origin": "http://evil.example"},
    )
    assert reply.status_code == 403


def test_tampered_request_state_is_refused(server):
    @server.tool()
    def ask(ctx) -> str:
        return ctx.elicit("name?", {"type": "object", "properties": {}})["action"]

    caps = {"elicitation": {}}
    body = modern("tools/call", {"name": "ask"})
    body["params"]["_meta"][META + "clientCapabilities"] = caps
    headers = modern_headers("tools/call", name="ask")
    first = post(server.url, body, headers).json()["result"]
    assert first["resultType"] == "input_required"
    assert list(first["inputRequests"]) == ["input-1"]
    body["params"]["inputResponses"] = {"input-1": {"action": "decline"}}
    body["params"]["requestState"] = first["requestState"] + "x"
    assert post(server.url, body, headers).json()["error"]["code"] == -32602
    body["params"]["requestState"] = first["requestState"]
    assert post(server.url, body, headers).json()["result"]["content"][0]["text"] == "decline"


def test_other_paths_are_not_found(server):
    assert requests.post(server.url + "x", data=b"{}", timeout=10).status_code == 404


def test_a_refused_request_leaves_its_connection_usable(server):
    with requests.Session() as http:
        headers = {
            **modern_headers("server/discover"),
            "Accept": ACCEPT,
            "Content-Type": "application/json",
        }
        body = json.dumps(modern("server/discover")).encode()
        evil = http.post(
            server.url, data=body, headers={**headers, "Origin": "http://evil.example"}, timeout=10
        )
        assert evil.status_code == 403
        assert http.post(server.url, data=body, headers=headers, timeout=10).status_code == 200
