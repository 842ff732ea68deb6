"""A conformance-suite client built on mcp_sync.

The suite runs ``python client.py <server-url>`` with ``MCP_CONFORMANCE_SCENARIO``,
``MCP_CONFORMANCE_PROTOCOL_VERSION`` and, for some scenarios,
``MCP_CONFORMANCE_CONTEXT`` (JSON) set, then grades what the client did on the wire.
Exit status 0 means the client finished its part without an error.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Callable

import mcp_sync

log = logging.getLogger("conformance-client")


def _accept_with_defaults(params: dict[str, Any]) -> dict[str, Any]:
    # Accept with nothing filled in: mcp_sync fills the schema's defaults (SEP-1034).
    return {"action": "accept", "content": {}}


def _client(url: str, version: str, **options: Any) -> mcp_sync.Client:
    pinned = version if version in mcp_sync.SUPPORTED_VERSIONS else None
    return mcp_sync.Client(url, protocol_version=pinned, timeout=20, **options)


def _confirm(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"confirmed": True}}


def run_initialize(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version) as client:
        # The mock declares no capabilities, so the spec forbids asking it for tools.
        if client.server_capabilities.tools is not None:
            client.list_tools()


def run_tools_call(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version) as client:
        names = [tool.name for tool in client.list_tools()]
        if "add_numbers" in names:
            result = client.call_tool("add_numbers", {"a": 5, "b": 3})
            log.info("add_numbers -> %s", result.text)


def run_elicitation_defaults(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version, elicitation_handler=_accept_with_defaults) as client:
        result = client.call_tool("test_client_elicitation_defaults", {})
        log.info("elicitation tool -> %s", result.text)


def run_sse_retry(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version) as client:
        client.list_tools()
        result = client.call_tool("test_reconnection", {})
        log.info("test_reconnection -> %s", result.text)


def run_json_schema_preservation(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version) as client:
        tools = {tool.name: tool for tool in client.list_tools()}
        source = tools.get("json_schema_2020_12_tool")
        if source is not None and "json_schema_echo" in tools:
            client.call_tool("json_schema_echo", {"schema": source.input_schema})


def run_default(url: str, version: str, context: dict[str, Any]) -> None:
    """Scenarios without special steps: connect and list what the server offers."""
    with _client(url, version) as client:
        if client.server_capabilities.tools is not None:
            client.list_tools()


def run_request_state(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version, elicitation_handler=_confirm) as client:
        for tool in client.list_tools():
            result = client.call_tool(tool.name, {})
            log.info("%s -> %s", tool.name, result.text)


def run_standard_headers(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version) as client:
        caps = client.server_capabilities
        if caps.tools is not None:
            for tool in client.list_tools():
                client.call_tool(tool.name, {})
        if caps.resources is not None:
            for resource in client.list_resources():
                client.read_resource(resource.uri)
        if caps.prompts is not None:
            for prompt in client.list_prompts():
                client.get_prompt(prompt.name, {})


def run_custom_headers(url: str, version: str, context: dict[str, Any]) -> None:
    calls = context.get("toolCalls") or []
    if isinstance(calls, dict):
        calls = [{"name": name, "arguments": args} for name, args in calls.items()]
    with _client(url, version) as client:
        client.list_tools()
        for call in calls:
            client.call_tool(call["name"], call.get("arguments") or {})


def run_invalid_tool_headers(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version) as client:
        names = [tool.name for tool in client.list_tools()]  # invalid tools are left out
        log.info("tools kept: %s", names)
        if "valid_tool" in names:
            client.call_tool("valid_tool", {"region": "us-west1"})


SCENARIOS: dict[str, Callable[[str, str, dict[str, Any]], None]] = {
    "initialize": run_initialize,
    "tools_call": run_tools_call,
    "elicitation-sep1034-client-defaults": run_elicitation_defaults,
    "sse-retry": run_sse_retry,
    "json-schema-2020-12-preservation": run_json_schema_preservation,
    "sep-2322-client-request-state": run_request_state,
    "http-standard-headers": run_standard_headers,
    "http-custom-headers": run_custom_headers,
    "http-invalid-tool-headers": run_invalid_tool_headers,
}


def main(argv: list) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if len(argv) < 2:
        print("usage: client.py <server-url>", file=sys.stderr)
        return 2
    url = argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION", mcp_sync.LATEST_LEGACY_VERSION)
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    runner = SCENARIOS.get(scenario, run_default)
    try:
        runner(url, version, context)
    except mcp_sync.MCPSyncError as exc:
        log.error("scenario %s failed: %s: %s", scenario, type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
