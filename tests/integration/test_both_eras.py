"""mcp_sync against the official Python SDK server, in each protocol era."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests

import mcp_sync
from mcp_sync import (
    CallToolResult,
    CancelToken,
    Client,
    ImageContent,
    LoggingMessage,
    RequestCancelled,
    RequestTimeout,
)


def _sampler(params: dict[str, Any]) -> dict[str, Any]:
    prompt = params["messages"][0]["content"]["text"]
    return {
        "role": "assistant",
        "content": {"type": "text", "text": f"echo: {prompt}"},
        "model": "test-model",
    }


def _elicitor(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "Ada"}}


def _mcp_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mcp_sync")]


def _delete_session(client: Client) -> None:
    response = requests.delete(
        client.url,
        headers={
            "Mcp-Session-Id": client.session_id or "",
            "MCP-Protocol-Version": client.protocol_version,
        },
        timeout=5,
    )
    assert response.status_code in (200, 204)


def test_tools_are_listed_and_called_with_structured_results(mcp_server, connect):
    with connect(mcp_server.url) as client:
        names = {tool.name for tool in client.list_tools()}
        assert {"add", "echo", "slow", "sample", "ask"} <= names
        result = client.call_tool("add", {"a": 2, "b": 40})
        assert isinstance(result, CallToolResult)
        assert result.structured_content == {"result": 42}
        assert result.text == "42"
        assert client.call_tool("echo", {"text": "héllo"}).text == "héllo"


def test_tool_error_is_a_result_not_an_exception(mcp_server, connect):
    with connect(mcp_server.url) as client:
        result = client.call_tool("fail")
        assert result.is_error
        assert "fails" in result.text


def test_image_result_decodes(mcp_server, connect):
    with connect(mcp_server.url) as client:
        block = client.call_tool("image").content[0]
        assert isinstance(block, ImageContent)
        assert block.raw.startswith(b"\x89PNG")


def test_large_result_arrives_whole(mcp_server, connect):
    with connect(mcp_server.url) as client:
        assert len(client.call_tool("big", {"size": 1_000_000}).text) == 1_000_000


def test_resources_list_read_and_templates(mcp_server, connect):
    with connect(mcp_server.url) as client:
        uris = {r.uri for r in client.list_resources()}
        assert {"test://static", "test://blob"} <= uris
        assert client.read_resource("test://static").text == "static resource text"
        assert client.read_resource("test://blob").contents[0].raw == bytes(range(256))
        templates = client.list_resource_templates()
        assert [t.uri_template for t in templates] == ["test://items/{id}"]
        assert client.read_resource("test://items/7").text == "item 7"


def test_resource_subscription_delivers_updates(mcp_server, connect):
    updates: list[str] = []
    got = threading.Event()

    def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/resources/updated":
            updates.append(params["uri"])
            got.set()

    with connect(mcp_server.url, notification_handler=on_notification) as client:
        client.subscribe_resource("test://static")
        client.call_tool("touch", {"uri": "test://static"})
        assert got.wait(10)
        assert updates == ["test://static"]


def test_prompts_and_completion(mcp_server, connect):
    with connect(mcp_server.url) as client:
        assert [p.name for p in client.list_prompts()] == ["greet"]
        prompt = client.get_prompt("greet", {"name": "Ada"})
        assert "Ada" in prompt.messages[0].content.text  # type: ignore[attr-defined]
        completion = client.complete({"type": "ref/prompt", "name": "greet"}, ("name", "Al"))
        assert completion.values and all(v.startswith("Al") for v in completion.values)


def test_progress_reaches_the_callback_in_order_before_the_result(mcp_server, connect):
    seen: list[Any] = []
    with connect(mcp_server.url) as client:
        result = client.call_tool(
            "slow", {"steps": 4, "delay": 0.02}, progress=lambda p, t, m: seen.append((p, t, m))
        )
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert all(s[1] == 4 for s in seen)
    assert seen[0][2] == "step 1 of 4"
    assert "4" in result.text


def test_log_messages_reach_the_logging_handler_at_the_level_set(mcp_server, connect):
    messages: list[LoggingMessage] = []
    got = threading.Event()

    def on_log(message: LoggingMessage) -> None:
        messages.append(message)
        got.set()

    with connect(mcp_server.url, logging_handler=on_log) as client:
        client.set_logging_level("warning")
        client.call_tool("log", {"level": "info", "message": "quiet"})
        client.call_tool("log", {"level": "error", "message": "loud"})
        assert got.wait(10)
        time.sleep(0.2)
    assert [m.data for m in messages] == ["loud"]
    assert messages[0].level == "error"


def test_sampling_round_trip(mcp_server, connect):
    with connect(mcp_server.url, sampling_handler=_sampler) as client:
        result = client.call_tool("sample", {"prompt": "hi", "standalone": False})
    assert result.text == "echo: hi"


def test_elicitation_round_trip_applies_schema_defaults(mcp_server, connect):
    with connect(mcp_server.url, elicitation_handler=_elicitor) as client:
        result = client.call_tool("ask", {"message": "who are you?", "standalone": False})
    answer = json.loads(result.text)
    assert answer["action"] == "accept"
    assert answer["content"] == {"name": "Ada", "age": 30}


def test_roots_round_trip(mcp_server, connect):
    with Client(
        mcp_server.url, roots=["file:///srv/data", mcp_sync.Root("file:///tmp", name="tmp")]
    ) as client:
        assert json.loads(client.call_tool("roots").text) == ["file:///srv/data", "file:///tmp"]


def test_ping(mcp_server, connect):
    with connect(mcp_server.url) as client:
        client.ping()


# --- session recovery ----------------------------------------------------------------------


def test_timeout_raises_and_the_client_stays_usable(mcp_server, connect):
    with connect(mcp_server.url) as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as info:
            client.call_tool("slow", {"steps": 1, "delay": 5}, timeout=0.5)
        assert time.monotonic() - started < 3
        assert isinstance(info.value, TimeoutError)
        assert client.call_tool("echo", {"text": "still here"}).text == "still here"


def test_progress_keeps_a_slow_call_alive_past_its_timeout(mcp_server, connect):
    with connect(mcp_server.url, max_timeout=30) as client:
        result = client.call_tool(
            "slow", {"steps": 6, "delay": 0.25}, timeout=0.6, progress=lambda *a: None
        )
    assert not result.is_error


def test_cancel_token_from_another_thread(mcp_server, connect):
    token = CancelToken()
    with connect(mcp_server.url) as client:
        threading.Timer(0.3, token.cancel, args=("user pressed stop",)).start()
        started = time.monotonic()
        with pytest.raises(RequestCancelled):
            client.call_tool("slow", {"steps": 1, "delay": 5}, cancel=token)
        assert time.monotonic() - started < 3
        assert client.call_tool("echo", {"text": "ok"}).text == "ok"
