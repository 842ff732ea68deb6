"""The 2026-07-28 tasks extension: a tool call answered with a task, polled to its end."""

from __future__ import annotations

import pytest

import mcp_sync

EXTENSION = "io.modelcontextprotocol/tasks"


def _task(status, **extra):
    return {
        "taskId": "task-9",
        "status": status,
        "createdAt": "2026-11-25T10:00:00Z",
        "lastUpdatedAt": "2026-11-25T10:00:01Z",
        "ttlMs": None,
        "pollIntervalMs": 20,
        **extra,
    }


@pytest.fixture
def task_server(server):
    server.capabilities["extensions"] = {EXTENSION: {}}
    server.script("tools/call", {"resultType": "task", **_task("working")})
    return server


def _polls(server, *states):
    server.script("tasks/get", *[{"resultType": "complete", **state} for state in states])


def test_client_declares_the_tasks_extension(task_server, client):
    (discover,) = task_server.posts("server/discover")
    assert EXTENSION in discover.meta[task_server.META + "clientCapabilities"]["extensions"]


def test_call_tool_answered_with_a_task_waits_for_its_result(task_server, client):
    _polls(
        task_server, _task("working"), _task("completed", result=task_server.text_result("done"))
    )

    result = client.call_tool("echo", {"text": "x"})

    assert result.text == "done"
    gets = task_server.posts("tasks/get")
    assert [g.params["taskId"] for g in gets] == ["task-9", "task-9"]
    assert gets[0].headers["Mcp-Name"] == "task-9"


def test_failed_task_raises_its_error(task_server, client):
    _polls(task_server, _task("failed", error={"code": -32603, "message": "disk full"}))

    with pytest.raises(mcp_sync.MCPError) as info:
        client.call_tool("echo", {"text": "x"})
    assert info.value.message == "disk full"


def test_cancelled_task_raises_request_cancelled(task_server, client):
    _polls(task_server, _task("cancelled"))

    with pytest.raises(mcp_sync.RequestCancelled):
        client.call_tool("echo", {"text": "x"})


def test_input_the_task_needs_goes_to_the_handler_and_back_with_tasks_update(
    task_server, make_client
):
    asked = {
        "method": "elicitation/create",
        "params": {"message": "sure?", "requestedSchema": {"type": "object"}},
    }
    _polls(
        task_server,
        _task("input_required", inputRequests={"confirm": asked}),
        _task("input_required", inputRequests={"confirm": asked}),
        _task("completed", result=task_server.text_result("confirmed")),
    )
    task_server.on("tasks/update", lambda seen: {"resultType": "complete"})
    client = make_client(
        elicitation_handler=lambda params: {"action": "accept", "content": {}}
    ).connect()

    assert client.call_tool("echo", {"text": "x"}).text == "confirmed"
    (update,) = task_server.posts("tasks/update")  # the same request is answered once
    assert update.params["taskId"] == "task-9"
    assert update.params["inputResponses"] == {"confirm": {"action": "accept", "content": {}}}


def test_start_tool_gives_a_handle_that_can_cancel(task_server, client):
    task_server.on("tasks/cancel", lambda seen: {"resultType": "complete"})

    handle = client.start_tool("echo", {"text": "x"})
    assert handle.task_id == "task-9"
    handle.cancel()

    assert task_server.posts("tasks/cancel")[0].params["taskId"] == "task-9"


def test_start_tool_on_a_server_without_the_extension_raises(server, client):
    with pytest.raises(mcp_sync.CapabilityNotSupported):
        client.start_tool("echo", {"text": "x"})


def test_task_result_type_is_refused_when_tasks_are_turned_off(task_server, make_client):
    client = make_client(tasks=False).connect()

    with pytest.raises(mcp_sync.ProtocolError):
        client.call_tool("echo", {"text": "x"})
