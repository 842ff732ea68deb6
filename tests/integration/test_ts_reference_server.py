"""mcp_sync against the TypeScript reference server, ``@modelcontextprotocol/server-everything``.

The server (pinned in tests/conformance/package.json, run on the pinned Node 22) is
started over stdio, over Streamable HTTP (``/mcp``) and over the old HTTP+SSE
transport (``/sse``). It speaks the handshake protocol only (up to 2025-11-25) and
answers ``server/discover`` with an error, so an unpinned client falls back to it.

Tools used: ``echo`` ("Echo: <message>"), ``get-sum`` ("The sum of A and B is S."),
``get-structured-content`` (structured output with an ``outputSchema``) and
``trigger-long-running-operation`` (progress notifications).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Optional, Union

import pytest
import requests
from support.ts_servers import (
    ensure_node_modules,
    ts_everything_http,
    ts_everything_stdio_command,
)

import mcp_sync

SERVER_NAME = "mcp-servers/everything"
# The newest version the server speaks; an unpinned client ends up there.
SERVER_LATEST = "2025-11-25"
DOCUMENT = "demo://resource/static/document/features.md"


@pytest.fixture(scope="session")
def ts_installed() -> None:
    try:
        ensure_node_modules()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def streamable_url(ts_installed: None) -> Iterator[str]:
    with ts_everything_http("streamableHttp") as url:
        yield url


@pytest.fixture(scope="module")
def sse_url(ts_installed: None) -> Iterator[str]:
    with ts_everything_http("sse") as url:
        yield url


@dataclass
class Target:
    """One way of reaching the reference server, with the version the client pins."""

    transport: str  # "stdio", "streamableHttp" or "sse"
    where: Union[str, list[str]]  # URL, or the stdio command
    version: Optional[str]

    def client(self, **options: Any) -> mcp_sync.Client:
        options.setdefault("timeout", 30)
        if self.transport == "sse":
            options["transport"] = "sse"
        return mcp_sync.Client(self.where, protocol_version=self.version, **options)

    @property
    def expected_version(self) -> Optional[str]:
        """The version the server must agree to (None: any legacy version will do)."""
        if self.version is not None:
            return self.version
        return None if self.transport == "sse" else SERVER_LATEST


TARGETS = [
    pytest.param(("stdio", None), id="stdio"),
    pytest.param(("stdio", "2025-11-25"), id="stdio-2025-11-25"),
    pytest.param(("streamableHttp", None), id="http"),
    pytest.param(("streamableHttp", "2025-11-25"), id="http-2025-11-25"),
    pytest.param(("sse", None), id="sse"),
    pytest.param(("sse", "2024-11-05"), id="sse-2024-11-05"),
]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, ts_installed: None) -> Target:
    transport, version = request.param
    if transport == "stdio":
        return Target(transport, ts_everything_stdio_command(), version)
    url = request.getfixturevalue("streamable_url" if transport == "streamableHttp" else "sse_url")
    return Target(transport, url, version)


def _assert_closed(client: mcp_sync.Client, target: Target, session_id: Optional[str]) -> None:
    assert client.state == "closed"
    if target.transport == "stdio":
        # The client started the server: closing it must have ended the process.
        assert client._stdio is not None and client._stdio._process is not None
        assert client._stdio._process.poll() is not None, "the stdio server is still running"
    elif target.transport == "streamableHttp":
        # Closing sends DELETE: the server must have forgotten the session.
        assert session_id is not None
        reply = requests.post(
            str(target.where),
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Accept": "application/json, text/event-stream",
                "Mcp-Session-Id": session_id,
                "Mcp-Protocol-Version": client._init.protocol_version if client._init else "",
            },
            timeout=10,
        )
        assert reply.status_code in (400, 404), reply.text


@contextmanager
def _open(target: Target, **options: Any) -> Iterator[mcp_sync.Client]:
    """A connected client of ``target``, closed (and checked closed) at exit."""
    client = target.client(**options)
    session_id = None
    try:
        client.connect()
        session_id = client.session_id
        yield client
    finally:
        client.close()
    _assert_closed(client, target, session_id)


def _text(result: Any) -> str:
    assert not result.is_error, result
    return "".join(block.text for block in result.content if block.type == "text")


# --- tests ----------------------------------------------------------------------------------


def test_connect(target: Target) -> None:
    with _open(target) as client:
        assert client.era == "legacy"
        if target.expected_version is None:
            assert client.protocol_version in mcp_sync.LEGACY_VERSIONS
        else:
            assert client.protocol_version == target.expected_version
        assert client.server_info.name == SERVER_NAME
        caps = client.server_capabilities
        assert caps.tools is not None and caps.resources is not None and caps.prompts is not None
        assert client.instructions and "Everything Server" in client.instructions
        if target.transport == "stdio":
            assert client.session_id is None
        elif target.transport == "streamableHttp":
            assert client.session_id
        client.ping()


def test_tools(target: Target) -> None:
    with _open(target) as client:
        names = {tool.name for tool in client.list_tools()}
        assert {"echo", "get-sum", "trigger-long-running-operation"} <= names
        assert _text(client.call_tool("echo", {"message": "héllo"})) == "Echo: héllo"
        assert (
            _text(client.call_tool("get-sum", {"a": 2, "b": 3.5})) == "The sum of 2 and 3.5 is 5.5."
        )


def test_tool_error_is_a_result(target: Target) -> None:
    with _open(target) as client:
        result = client.call_tool("get-sum", {"a": "two", "b": 3})
        assert result.is_error


def test_structured_content(target: Target) -> None:
    with _open(target) as client:
        client.list_tools()  # learn the outputSchema the result is checked against
        result = client.call_tool("get-structured-content", {"location": "Chicago"})
        assert not result.is_error
        assert set(result.structured_content or {}) == {"temperature", "conditions", "humidity"}


def test_resources(target: Target) -> None:
    with _open(target) as client:
        uris = {resource.uri for resource in client.list_resources()}
        assert DOCUMENT in uris
        templates = {t.uri_template for t in client.list_resource_templates()}
        assert "demo://resource/dynamic/text/{resourceId}" in templates
        document = client.read_resource(DOCUMENT)
        assert document.contents[0].uri == DOCUMENT
        assert (document.contents[0].text or "").startswith("# Everything Server - Features")
        dynamic = client.read_resource("demo://resource/dynamic/text/7")
        assert (dynamic.contents[0].text or "").startswith("Resource 7:")


def test_prompts(target: Target) -> None:
    with _open(target) as client:
        names = {prompt.name for prompt in client.list_prompts()}
        assert {"simple-prompt", "args-prompt"} <= names
        simple = client.get_prompt("simple-prompt")
        assert simple.messages[0].role == "user"
        assert simple.messages[0].content.text == "This is a simple prompt without arguments."
        args = client.get_prompt("args-prompt", {"city": "Paris", "state": "Texas"})
        assert "Paris" in args.messages[0].content.text


def test_progress(target: Target) -> None:
    seen: list[tuple[Any, ...]] = []
    with _open(target) as client:
        started = time.monotonic()
        result = client.call_tool(
            "trigger-long-running-operation",
            {"duration": 0.6, "steps": 3},
            progress=lambda *update: seen.append(update),
        )
        assert time.monotonic() - started < 20
        assert _text(result).startswith("Long running operation completed.")
    assert [(update[0], update[1]) for update in seen] == [(1, 3), (2, 3), (3, 3)]


def test_two_clients_at_once(target: Target) -> None:
    with _open(target) as first, _open(target) as second:
        assert _text(first.call_tool("echo", {"message": "one"})) == "Echo: one"
        assert _text(second.call_tool("echo", {"message": "two"})) == "Echo: two"
        if target.transport == "streamableHttp":
            assert first.session_id != second.session_id


def test_stdio_oldest_legacy_version(ts_installed: None) -> None:
    target = Target("stdio", ts_everything_stdio_command(), "2024-11-05")
    with _open(target) as client:
        assert client.protocol_version == "2024-11-05"
        assert _text(client.call_tool("echo", {"message": "old"})) == "Echo: old"


def test_stdio_closed_before_connect_starts_no_server(ts_installed: None) -> None:
    """A client closed before it connected never started the server."""
    client = mcp_sync.Client(ts_everything_stdio_command())
    client.close()
    assert client._stdio is not None and client._stdio._process is None
