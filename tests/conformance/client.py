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

import requests

import mcp_sync
import mcp_sync.oauth

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


# --- authorization -------------------------------------------------------------------

# The suite's mock authorization server accepts any redirect URI and this CIMD URL.
REDIRECT_URI = "http://localhost:3000/callback"
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"


def follow_authorization(url: str) -> str:
    """Headless sign-in: the mock approves at once, so the redirect's Location is the answer."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    location = response.headers.get("Location")
    if response.status_code not in (301, 302, 303, 307, 308) or not location:
        raise mcp_sync.AuthorizationError(
            "the authorization endpoint did not redirect", status=response.status_code
        )
    return location


def _oauth(context: dict[str, Any], **options: Any) -> mcp_sync.oauth.OAuth:
    return mcp_sync.oauth.OAuth(
        redirect_handler=follow_authorization,
        redirect_uri=REDIRECT_URI,
        client_name="mcp_sync conformance client",
        client_metadata_url=CLIENT_METADATA_URL,
        client_id=context.get("client_id"),
        client_secret=context.get("client_secret"),
        **options,
    )


def _use_server(client: mcp_sync.Client) -> None:
    if client.server_capabilities.tools is not None:
        for tool in client.list_tools():
            client.call_tool(tool.name, {})


def run_oauth(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version, auth=_oauth(context)) as client:
        _use_server(client)


def run_dpop(url: str, version: str, context: dict[str, Any]) -> None:
    with _client(url, version, auth=_oauth(context, dpop=True)) as client:
        _use_server(client)


def run_client_credentials(url: str, version: str, context: dict[str, Any]) -> None:
    if context.get("private_key_pem"):
        key = mcp_sync.oauth.SigningKey.from_pem(
            context["private_key_pem"], alg=context.get("signing_algorithm")
        )
        auth = mcp_sync.oauth.ClientCredentials(context["client_id"], private_key=key)
    else:
        auth = mcp_sync.oauth.ClientCredentials(context["client_id"], context["client_secret"])
    with _client(url, version, auth=auth) as client:
        _use_server(client)


def run_workload_identity(url: str, version: str, context: dict[str, Any]) -> None:
    auth = mcp_sync.oauth.WorkloadIdentity(context["valid_jwt"])
    with _client(url, version, auth=auth) as client:
        _use_server(client)


def run_enterprise(url: str, version: str, context: dict[str, Any]) -> None:
    auth = mcp_sync.oauth.EnterpriseAuth(
        id_token=context["idp_id_token"],
        idp_token_endpoint=context["idp_token_endpoint"],
        idp_client_id=context["idp_client_id"],
        client_id=context["client_id"],
        client_secret=context.get("client_secret"),
    )
    with _client(url, version, auth=auth) as client:
        _use_server(client)


SCENARIOS: dict[str, Callable[[str, str, dict[str, Any]], None]] = {
    "auth/dpop": run_dpop,
    "auth/dpop-nonce": run_dpop,
    "auth/client-credentials-jwt": run_client_credentials,
    "auth/client-credentials-basic": run_client_credentials,
    "auth/wif-jwt-bearer": run_workload_identity,
    "auth/enterprise-managed-authorization": run_enterprise,
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
    runner = SCENARIOS.get(scenario) or (run_oauth if scenario.startswith("auth/") else run_default)
    try:
        runner(url, version, context)
    except mcp_sync.MCPSyncError as exc:
        log.error("scenario %s failed: %s: %s", scenario, type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
