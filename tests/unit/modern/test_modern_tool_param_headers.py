"""Tool parameters annotated with ``x-mcp-header`` travel as ``Mcp-Param-*`` headers."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

import mcp_sync


def _sentinel(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def _deploy_tool(region_header: str = "Region") -> dict[str, Any]:
    return {
        "name": "deploy",
        "inputSchema": {
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": region_header},
                "replicas": {"type": "integer", "x-mcp-header": "Replicas"},
                "dry_run": {"type": "boolean", "x-mcp-header": "Dry-Run"},
                "label": {"type": "string", "x-mcp-header": "Label"},
                "notes": {"type": "string"},
            },
        },
    }


BAD_TOOL = {
    "name": "scale",
    "inputSchema": {
        "type": "object",
        "properties": {"factor": {"type": "number", "x-mcp-header": "Factor"}},
    },
}


@pytest.fixture
def deploy_client(server, client):
    server.tools = [_deploy_tool()]
    client.list_tools()
    return client


def _param_headers(seen) -> dict[str, str]:
    return {k: v for k, v in seen.headers.items() if k.lower().startswith("mcp-param-")}


@pytest.mark.parametrize(
    ("argument", "value", "header", "expected"),
    [
        ("region", "us-west1", "Mcp-Param-Region", "us-west1"),
        ("replicas", 3, "Mcp-Param-Replicas", "3"),
        ("replicas", -42, "Mcp-Param-Replicas", "-42"),
        ("dry_run", True, "Mcp-Param-Dry-Run", "true"),
        ("dry_run", False, "Mcp-Param-Dry-Run", "false"),
        ("label", " padded", "Mcp-Param-Label", _sentinel(" padded")),
        ("label", "naïve", "Mcp-Param-Label", _sentinel("naïve")),
    ],
    ids=["string", "integer", "negative-integer", "true", "false", "leading-space", "non-ascii"],
)
def test_annotated_argument_is_mirrored_in_its_param_header(
    server, deploy_client, argument, value, header, expected
):
    deploy_client.call_tool("deploy", {argument: value})

    (call,) = server.posts("tools/call")
    assert call.headers.get(header) == expected
    assert call.params["arguments"] == {argument: value}


def test_none_argument_sends_no_param_header(server, deploy_client):
    deploy_client.call_tool("deploy", {"region": None, "replicas": 2})

    (call,) = server.posts("tools/call")
    assert _param_headers(call) == {"Mcp-Param-Replicas": "2"}


def test_missing_argument_sends_no_param_header(server, deploy_client):
    deploy_client.call_tool("deploy", {"notes": "x"})

    (call,) = server.posts("tools/call")
    assert _param_headers(call) == {}


def test_param_headers_are_only_sent_for_the_annotated_tool(server, deploy_client):
    deploy_client.call_tool("echo", {"region": "us-west1"})

    (call,) = server.posts("tools/call")
    assert _param_headers(call) == {}


def test_tool_with_invalid_annotation_is_left_out_of_list_tools(server, client):
    server.tools = [_deploy_tool(), BAD_TOOL]

    tools = client.list_tools()

    assert [tool.name for tool in tools] == ["deploy"]


def test_tool_with_invalid_annotation_logs_a_warning(server, client, caplog):
    server.tools = [_deploy_tool(), BAD_TOOL]

    with caplog.at_level(logging.WARNING, logger="mcp_sync"):
        client.list_tools()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "scale" in warnings[0].getMessage()


def test_header_mismatch_on_tools_call_relists_and_retries(server, client):
    server.tools = [_deploy_tool("Region")]
    server.script(
        "tools/list",
        {"tools": [_deploy_tool("Region")], "ttlMs": 60000},
        {"tools": [_deploy_tool("Zone")], "ttlMs": 60000},
    )
    client.list_tools()
    server.script("tools/call", server.RpcError(server.HEADER_MISMATCH, "Header mismatch"))

    result = client.call_tool("deploy", {"region": "eu-north1"})

    assert result.content[0].text == "called deploy"
    assert server.methods() == [
        "server/discover",
        "tools/list",
        "tools/call",
        "tools/list",
        "tools/call",
    ]
    first, retry = server.posts("tools/call")
    assert first.headers.get("Mcp-Param-Region") == "eu-north1"
    assert retry.headers.get("Mcp-Param-Zone") == "eu-north1"
    assert "Mcp-Param-Region" not in retry.headers
    assert retry.id != first.id


def test_header_mismatch_twice_on_tools_call_raises(server, deploy_client):
    mismatch = server.RpcError(server.HEADER_MISMATCH, "Header mismatch")
    server.script("tools/call", mismatch, mismatch, mismatch)

    with pytest.raises(mcp_sync.MCPError) as info:
        deploy_client.call_tool("deploy", {"region": "eu-north1"})

    assert info.value.code == server.HEADER_MISMATCH
    assert len(server.posts("tools/call")) == 2
    assert len(server.posts("tools/list")) == 2
