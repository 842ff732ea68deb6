"""Values from a server or from the environment cannot add headers or make the client fetch."""

from __future__ import annotations

import pytest
from support.scripted_http import PROTOCOL_VERSION, URL

import mcp_sync
from mcp_sync.headers import tool_param_headers
from mcp_sync.schema import validate_structured_content

INJECTION = "x\r\nX-Injected: 1"


def _injected(server) -> bool:
    return any("X-Injected" in seen.headers for seen in server.requests())


def test_a_header_value_with_a_line_break_is_refused_not_sent(server):
    client = mcp_sync.Client(
        URL, headers={"X-Team": INJECTION}, protocol_version=PROTOCOL_VERSION, listen=False
    )
    try:
        with pytest.raises(mcp_sync.TransportError):
            client.connect()
    finally:
        client.close()
    assert not _injected(server)


def test_an_expanded_config_variable_cannot_add_a_header(server, monkeypatch):
    monkeypatch.setenv("MCP_TEAM", INJECTION)
    config = {"mcpServers": {"s": {"url": URL, "headers": {"X-Team": "${MCP_TEAM}"}}}}
    client = mcp_sync.Client.from_config(
        config, "s", protocol_version=PROTOCOL_VERSION, listen=False
    )
    try:
        with pytest.raises(mcp_sync.TransportError):
            client.connect()
    finally:
        client.close()
    assert not _injected(server)


def test_an_expanded_config_variable_cannot_change_the_url_scheme(monkeypatch):
    monkeypatch.setenv("MCP_BASE", "file:///etc/passwd#")
    config = {"mcpServers": {"s": {"url": "${MCP_BASE}/mcp"}}}
    with pytest.raises(mcp_sync.ConfigError):
        mcp_sync.Client.from_config(config, "s")


@pytest.mark.parametrize("name", ["Authorization", "Cookie", "Mcp-Session-Id", "Host"])
def test_a_tool_cannot_name_a_credential_header_for_its_parameters(name):
    # x-mcp-header names become Mcp-Param-<name>: never a header the client relies on.
    schema = {
        "type": "object",
        "properties": {"value": {"type": "string", "x-mcp-header": name}},
    }
    [(_path, header)] = tool_param_headers(schema)
    assert header == f"Mcp-Param-{name}"


def test_an_output_schema_reference_is_never_fetched(trap):
    import jsonschema  # noqa: F401  (a test dependency: checking needs it)

    schema = {"$ref": trap.url("/schema.json")}
    assert validate_structured_content("t", schema, {"x": 1}) is None
    nested = {
        "type": "object",
        "properties": {"x": {"$ref": trap.url("/x.json#/defs/x")}},
    }
    assert validate_structured_content("t", nested, {"x": 1}) is None
    dialect = {"$schema": trap.url("/dialect"), "type": "object"}
    assert validate_structured_content("t", dialect, {"x": 1}) is None
    assert trap.hits() == []
