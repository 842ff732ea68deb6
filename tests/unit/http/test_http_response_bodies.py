"""The answer to a POST: a JSON body, an SSE stream, or 202."""

from __future__ import annotations

import threading

import pytest

import mcp_sync


def test_200_with_json_body_returns_the_result(server, client):
    server.script(
        "tools/call",
        lambda seen: server.json_reply(
            server.result_message(seen.id, {"content": [{"type": "text", "text": "json"}]})
        ),
    )

    result = client.call_tool("add", {"a": 1, "b": 2})

    assert result.text == "json"


def test_200_with_sse_body_delivers_progress_and_log_before_the_response(server, make_client):
    logged = []
    log_arrived = threading.Event()

    def on_log(message):
        logged.append(message)
        log_arrived.set()

    client = make_client(logging_handler=on_log)

    def stream(seen):
        token = seen.params["_meta"]["progressToken"]
        return server.sse_reply(
            {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {
                    "progressToken": token,
                    "progress": 1,
                    "total": 2,
                    "message": "half way",
                },
            },
            {
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": {"level": "info", "logger": "adder", "data": "adding"},
            },
            server.result_message(seen.id, {"content": [{"type": "text", "text": "3"}]}),
        )

    server.script("tools/call", stream)
    progress = []

    result = client.call_tool(
        "add", {"a": 1, "b": 2}, progress=lambda p, t, m: progress.append((p, t, m))
    )

    assert result.text == "3"
    assert progress == [(1, 2, "half way")]
    assert log_arrived.wait(2.0)
    assert [(m.level, m.logger, m.data) for m in logged] == [("info", "adder", "adding")]


def test_sse_priming_event_with_empty_data_is_skipped(server, client):
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(
            "id: 1\ndata:\n\n",
            server.result_message(seen.id, {"content": [{"type": "text", "text": "primed"}]}),
        ),
    )

    assert client.call_tool("add", {"a": 1, "b": 2}).text == "primed"


def test_202_to_a_notification_is_accepted_quietly(server, client):
    client.notify("notifications/roots/list_changed")

    (seen,) = server.posts("notifications/roots/list_changed")
    assert seen.is_notification
    assert seen.session == "session-1"


def test_server_request_inside_a_post_stream_is_answered_by_a_separate_post(server, client):
    def stream(seen):
        reply, body = server.live_reply()
        body.write_event({"jsonrpc": "2.0", "id": "srv-1", "method": "ping"}, event_id="1")

        def finish(answer):
            # The server answers the tool call only once the client answered its ping.
            body.write_event(
                server.result_message(seen.id, {"content": [{"type": "text", "text": "pong"}]}), "2"
            )
            body.end()

        server.when_answered("srv-1", finish)
        return reply

    server.script("tools/call", stream)

    result = client.call_tool("add", {"a": 1, "b": 2})

    assert result.text == "pong"
    (answer,) = [seen for seen in server.posts() if seen.is_response]
    assert answer.message == {"jsonrpc": "2.0", "id": "srv-1", "result": {}}
    assert answer.session == "session-1"
    assert answer.version == "2025-11-25"


def test_jsonrpc_error_response_raises_mcp_error_with_code_message_and_data(server, client):
    server.script("tools/call", server.RpcError(-32602, "Unknown tool: nope", {"tool": "nope"}))

    with pytest.raises(mcp_sync.MCPError) as info:
        client.call_tool("nope", {})

    assert info.value.code == -32602
    assert info.value.message == "Unknown tool: nope"
    assert info.value.data == {"tool": "nope"}


def test_tool_result_with_is_error_is_returned_not_raised(server, client):
    server.script(
        "tools/call", {"content": [{"type": "text", "text": "division by zero"}], "isError": True}
    )

    result = client.call_tool("add", {"a": 1, "b": 0})

    assert isinstance(result, mcp_sync.CallToolResult)
    assert result.is_error is True
    assert result.text == "division by zero"
