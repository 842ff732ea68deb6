"""The modern era (2026-07-28) against the official Python SDK server, with no version pinned."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from mcp_sync import Client


def _events():
    """A notification handler that records what arrives and wakes waiters."""
    seen: list[tuple[str, dict[str, Any]]] = []
    arrived = threading.Condition()

    def handler(method: str, params: dict[str, Any]) -> None:
        with arrived:
            seen.append((method, params))
            arrived.notify_all()

    def wait_for(method: str, timeout: float = 10.0) -> bool:
        with arrived:
            return arrived.wait_for(lambda: any(m == method for m, _ in seen), timeout)

    return handler, seen, wait_for


def test_unpinned_client_chooses_the_modern_era_and_has_no_session(mcp_server):
    with Client(mcp_server.url) as client:
        assert client.era == "modern"
        assert client.protocol_version == "2026-07-28"
        assert client.session_id is None
        assert client.server_info.name == "everything-server"
        assert client.server_capabilities.tools is not None


def test_tool_parameters_marked_for_headers_are_mirrored(mcp_server):
    # The server rejects a call whose Mcp-Param-* headers do not match its arguments.
    with Client(mcp_server.url) as client:
        client.list_tools()
        result = client.call_tool(
            "headers_tool", {"region": "eu-west 1", "priority": 5, "verbose": True}
        )
    assert json.loads(result.text) == {"region": "eu-west 1", "priority": 5, "verbose": True}


def test_cached_read_is_served_until_an_update_makes_it_stale(mcp_server):
    handler, _, wait_for = _events()
    with Client(mcp_server.url, notification_handler=handler) as client:
        client.subscribe_resource("test://counter")
        first = client.read_resource("test://counter").text
        client.call_tool("bump")
        assert client.read_resource("test://counter").text == first  # fresh for 60 s
        assert client.read_resource("test://counter", cache=False).text != first
        client.call_tool("touch", {"uri": "test://counter"})
        assert wait_for("notifications/resources/updated")
        assert client.read_resource("test://counter").text != first


def test_list_changed_arrives_on_the_listen_stream(mcp_server):
    handler, _, wait_for = _events()
    with Client(mcp_server.url, notification_handler=handler) as client:
        client.list_tools()
        client.call_tool("change_tools")
        assert wait_for("notifications/tools/list_changed")
        assert "change_tools" in {tool.name for tool in client.list_tools()}


def test_server_restart_mid_run_does_no_harm(mcp_server):
    handler, _, wait_for = _events()
    with Client(mcp_server.url, notification_handler=handler) as client:
        client.subscribe_resource("test://static")
        assert client.call_tool("echo", {"text": "before"}).text == "before"
        mcp_server.restart()
        assert client.call_tool("echo", {"text": "after"}).text == "after"
        # The listen stream comes back by itself on the new process.

        def touched_until_seen() -> bool:
            for _ in range(40):
                client.call_tool("touch", {"uri": "test://static"})
                if wait_for("notifications/resources/updated", 0.25):
                    return True
            return False

        assert touched_until_seen()


def test_log_level_rides_in_each_request(mcp_server):
    logs: list[Any] = []
    with Client(mcp_server.url, logging_handler=logs.append) as client:
        assert client.call_tool("log", {"level": "error", "message": "unasked"}).text == "filtered"
        client.set_logging_level("warning")
        assert client.call_tool("log", {"level": "info", "message": "quiet"}).text == "filtered"
        assert client.call_tool("log", {"level": "error", "message": "loud"}).text == "logged"
    assert [m.data for m in logs] == ["loud"]


@pytest.mark.parametrize(
    "tool, handler_kind", [("sample", "sampling"), ("ask", "elicitation"), ("roots", "roots")]
)
def test_input_required_without_a_handler_names_the_missing_capability(
    mcp_server, tool, handler_kind
):
    import mcp_sync

    arguments = {"sample": {"prompt": "hi"}, "ask": {"message": "who?"}, "roots": {}}[tool]
    with (
        Client(mcp_server.url) as client,
        pytest.raises((mcp_sync.MissingHandlerError, mcp_sync.MCPError)) as info,
    ):
        client.call_tool(tool, arguments)
    # A server that checks capabilities first answers -32021; otherwise the client names it.
    error = info.value
    if isinstance(error, mcp_sync.MissingHandlerError):
        assert error.capability == handler_kind
    else:
        assert error.code == -32021
