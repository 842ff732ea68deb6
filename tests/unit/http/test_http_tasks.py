"""Tasks of 2025-11-25: task-augmented tool calls, polled and waited on."""

from __future__ import annotations

import pytest

import mcp_sync

TASK_CAPS = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
SLOW_TOOL = {
    "name": "report",
    "inputSchema": {"type": "object"},
    "execution": {"taskSupport": "required"},
}
RESULT = {"content": [{"type": "text", "text": "the report"}]}


def _task(status, **extra):
    return {
        "taskId": "t-1",
        "status": status,
        "createdAt": "2026-11-25T10:00:00Z",
        "lastUpdatedAt": "2026-11-25T10:00:01Z",
        "ttl": None,
        "pollInterval": 20,
        **extra,
    }


@pytest.fixture
def task_server(server):
    server.capabilities["tasks"] = TASK_CAPS
    server.on(
        "tools/list",
        lambda seen: {"tools": [SLOW_TOOL, {"name": "add", "inputSchema": {"type": "object"}}]},
    )
    server.on("tools/call", lambda seen: {"task": _task("working")})
    polls = []

    def get(seen):
        polls.append(seen)
        return _task("working" if len(polls) == 1 else "completed")

    server.on("tasks/get", get)
    server.on("tasks/result", lambda seen: RESULT)
    return server


def test_tool_that_requires_a_task_is_called_as_one_and_waited_on(task_server, client):
    client.list_tools()

    result = client.call_tool("report", {"month": "11"})

    assert result.text == "the report"
    (call,) = task_server.posts("tools/call")
    assert call.params["task"] == {}
    assert [s.params["taskId"] for s in task_server.posts("tasks/get")] == ["t-1", "t-1"]
    assert len(task_server.posts("tasks/result")) == 1


def test_start_tool_returns_a_handle_to_poll_and_wait_on(task_server, client):
    client.list_tools()

    handle = client.start_tool("report", ttl=60000)
    assert handle.task_id == "t-1"
    assert handle.task.status == "working"
    assert task_server.posts("tools/call")[0].params["task"] == {"ttl": 60000}
    assert handle.refresh().status == "working"
    assert handle.wait(timeout=5).text == "the report"


def test_input_required_fetches_the_result_at_once(task_server, client):
    task_server.on("tasks/get", lambda seen: _task("input_required"))
    client.list_tools()

    handle = client.start_tool("report")
    handle.refresh()
    assert handle.wait(timeout=5).text == "the report"
    assert len(task_server.posts("tasks/get")) == 1


def test_cancelled_task_raises_request_cancelled(task_server, client):
    task_server.on("tasks/get", lambda seen: _task("cancelled"))
    client.list_tools()

    handle = client.start_tool("report")
    handle.refresh()
    with pytest.raises(mcp_sync.RequestCancelled):
        handle.wait(timeout=5)


def test_cancel_sends_tasks_cancel_with_the_task_id(task_server, client):
    task_server.on("tasks/cancel", lambda seen: _task("cancelled"))
    client.list_tools()

    handle = client.start_tool("report")

    assert handle.cancel().status == "cancelled"
    assert task_server.posts("tasks/cancel")[0].params == {"taskId": "t-1"}


def test_waiting_past_the_timeout_raises_request_timeout(task_server, client):
    task_server.on("tasks/get", lambda seen: _task("working"))
    client.list_tools()

    with pytest.raises(mcp_sync.RequestTimeout):
        client.start_tool("report").wait(timeout=0.2)


def test_list_tasks_follows_cursors(task_server, client):
    task_server.script(
        "tasks/list",
        {"tasks": [_task("working")], "nextCursor": "c2"},
        {"tasks": [{**_task("completed"), "taskId": "t-2"}]},
    )

    assert [t.task_id for t in client.list_tasks()] == ["t-1", "t-2"]


def test_server_without_task_support_refuses_start_tool(server, client):
    with pytest.raises(mcp_sync.CapabilityNotSupported):
        client.start_tool("add")


def test_tool_whose_task_support_is_forbidden_is_not_started_as_a_task(task_server, client):
    client.list_tools()

    with pytest.raises(ValueError):
        client.start_tool("add")


def test_malformed_task_raises_protocol_error(task_server, client):
    task_server.on("tools/call", lambda seen: {"task": {"status": "working"}})
    client.list_tools()

    with pytest.raises(mcp_sync.ProtocolError):
        client.start_tool("report")
