"""What the client declares, how it answers server requests, and stream resumption."""

from __future__ import annotations

import threading
import time

import pytest

import mcp_sync

SAMPLED = {"role": "assistant", "content": {"type": "text", "text": "hi"}, "model": "m"}


def _declared(server):
    (initialize,) = server.initializes()[-1:]
    return initialize.params["capabilities"]


def test_client_without_handlers_declares_no_capabilities(server, client):
    assert _declared(server) == {}


def test_client_declares_exactly_the_features_it_has_handlers_for(server, make_client):
    make_client(
        sampling_handler=lambda params: SAMPLED,
        elicitation_handler=lambda params: {"action": "decline"},
        roots=["file:///srv"],
    ).connect()

    assert _declared(server) == {
        "sampling": {},
        "elicitation": {"form": {}},
        "roots": {"listChanged": True},
    }


@pytest.mark.parametrize(
    ("version", "declared"),
    [("2025-11-25", {"form": {}}), ("2025-06-18", {}), ("2025-03-26", None)],
)
def test_elicitation_is_declared_in_the_shape_of_the_offered_version(
    server, make_client, version, declared
):
    server.protocol_version = version
    make_client(
        protocol_version=version, elicitation_handler=lambda params: {"action": "decline"}
    ).connect()

    assert _declared(server).get("elicitation") == declared


def _tool_call_that_asks(server, request):
    """Answer tools/call with a stream carrying ``request`` and then the tool's result."""

    def stream(seen):
        return server.sse_reply(
            {"jsonrpc": "2.0", "id": "srv-1", **request},
            server.result_message(seen.id, {"content": []}),
        )

    server.script("tools/call", stream)


def _answer_to(server, request_id):
    assert server.wait_for(lambda: any(s.id == request_id for s in server.posts() if s.is_response))
    return next(s.message for s in server.posts() if s.is_response and s.id == request_id)


def test_server_request_without_a_handler_is_answered_method_not_found(server, client):
    _tool_call_that_asks(server, {"method": "sampling/createMessage", "params": {"messages": []}})

    client.call_tool("add", {"a": 1, "b": 1})

    assert _answer_to(server, "srv-1")["error"]["code"] == -32601


def test_ping_from_the_server_is_answered_with_an_empty_result(server, client):
    _tool_call_that_asks(server, {"method": "ping"})

    client.call_tool("add", {"a": 1, "b": 1})

    assert _answer_to(server, "srv-1")["result"] == {}


def test_elicitation_in_an_undeclared_mode_is_refused_with_invalid_params(server, make_client):
    client = make_client(elicitation_handler=lambda params: {"action": "accept"})
    _tool_call_that_asks(
        server,
        {
            "method": "elicitation/create",
            "params": {"mode": "url", "message": "go", "url": "https://x", "elicitationId": "e"},
        },
    )

    client.call_tool("add", {"a": 1, "b": 1})

    assert _answer_to(server, "srv-1")["error"]["code"] == -32602


def test_elicitation_answer_is_completed_with_schema_defaults(server, make_client):
    client = make_client(
        elicitation_handler=lambda params: {"action": "accept", "content": {"name": "Ada"}}
    )
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "default": "John"},
            "age": {"type": "integer", "default": 30},
            "admin": {"type": "boolean"},
        },
    }
    _tool_call_that_asks(
        server,
        {"method": "elicitation/create", "params": {"message": "who?", "requestedSchema": schema}},
    )

    client.call_tool("add", {"a": 1, "b": 1})

    assert _answer_to(server, "srv-1")["result"] == {
        "action": "accept",
        "content": {"name": "Ada", "age": 30},
    }


def test_sampling_with_tools_is_refused_unless_sampling_tools_was_declared(server, make_client):
    client = make_client(sampling_handler=lambda params: SAMPLED)
    _tool_call_that_asks(
        server,
        {
            "method": "sampling/createMessage",
            "params": {"messages": [], "maxTokens": 5, "tools": [{"name": "t"}]},
        },
    )

    client.call_tool("add", {"a": 1, "b": 1})

    assert _answer_to(server, "srv-1")["error"]["code"] == -32602


def test_handler_that_returns_a_wrong_type_is_answered_internal_error(server, make_client):
    client = make_client(sampling_handler=lambda params: "not a result")
    _tool_call_that_asks(server, {"method": "sampling/createMessage", "params": {"messages": []}})

    client.call_tool("add", {"a": 1, "b": 1})

    assert _answer_to(server, "srv-1")["error"]["code"] == -32603


def test_broken_stream_resumes_with_last_event_id_after_the_retry_delay(server, client):
    closed_at = []

    def stream(seen):
        # The answer will come on the resumed stream, as a server that polls sends it.
        server.get_reply = server.sse_reply(
            server.event(server.result_message(seen.id, {"content": []}), "e2")
        )
        closed_at.append(time.monotonic())
        return server.sse_reply("id: e1\nretry: 200\ndata:\n\n")

    server.script("tools/call", stream)

    result = client.call_tool("add", {"a": 1, "b": 1})

    assert result.content == []
    resume = server.gets()[-1]
    assert resume.headers["Last-Event-ID"] == "e1"
    assert resume.session == "session-1"
    assert resume.version == "2025-11-25"
    assert resume.at - closed_at[0] >= 0.2


def test_stream_that_ends_unanswered_without_an_event_id_raises_transport_error(server, client):
    server.script("tools/call", server.sse_reply(": nothing to see\n\n"))

    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("add", {"a": 1, "b": 1})
    assert client.call_tool("add", {"a": 2, "b": 2}).text == "4"


def test_get_404_confirmed_by_a_working_ping_stops_the_listener_quietly(server, make_client):
    server.get_reply = server.Reply(404)

    make_client().connect()

    assert server.wait_for(lambda: len(server.posts("ping")) == 1)
    time.sleep(0.3)
    assert len(server.gets()) == 1
    assert len(server.initializes()) == 1


def test_get_404_confirmed_by_a_failing_ping_starts_a_new_session(server, make_client):
    server.get_reply = server.Reply(404)
    server.script(
        "ping", server.json_reply(server.error_message(None, -32600, "Session not found"), 404)
    )
    renewed = threading.Event()

    make_client(on_session_reset=lambda client: renewed.set()).connect()

    assert renewed.wait(5)
    assert len(server.initializes()) == 2
    assert server.initializes()[-1].session is None


def _tool_with_output_schema(server):
    tool = {
        "name": "add",
        "inputSchema": {"type": "object"},
        "outputSchema": {
            "type": "object",
            "properties": {"sum": {"type": "integer"}},
            "required": ["sum"],
        },
    }
    server.on("tools/list", lambda seen: {"tools": [tool]})


def test_structured_result_is_checked_against_the_listed_output_schema(server, client):
    _tool_with_output_schema(server)
    server.script("tools/call", {"content": [], "structuredContent": {"sum": "three"}})
    client.list_tools()

    with pytest.raises(mcp_sync.OutputSchemaError) as info:
        client.call_tool("add", {"a": 1, "b": 2})
    assert info.value.path == "/sum"


def test_matching_structured_result_passes_the_output_schema(server, client):
    _tool_with_output_schema(server)
    client.list_tools()

    assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"sum": 3}


def test_tool_error_results_are_not_checked_against_the_output_schema(server, client):
    _tool_with_output_schema(server)
    server.script("tools/call", {"content": [], "structuredContent": {"oops": 1}, "isError": True})
    client.list_tools()

    assert client.call_tool("add", {"a": 1, "b": 2}).is_error
