"""Malformed bodies and streams raise ProtocolError and leave the client usable."""

from __future__ import annotations

import threading

import pytest

import mcp_sync


def test_malformed_json_body_raises_protocol_error(server, client):
    server.script(
        "tools/call",
        server.Reply(200, '{"jsonrpc": "2.0", "id": ', {"Content-Type": "application/json"}),
    )

    with pytest.raises(mcp_sync.ProtocolError, match="malformed JSON"):
        client.call_tool("add", {"a": 1, "b": 2})


def test_client_still_works_after_a_malformed_json_body(server, client):
    server.script(
        "tools/call", server.Reply(200, "{not json", {"Content-Type": "application/json"})
    )
    with pytest.raises(mcp_sync.ProtocolError):
        client.call_tool("add", {"a": 1, "b": 2})

    assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"sum": 3}
    assert len(server.initializes()) == 1


def test_sse_data_with_invalid_json_raises_protocol_error_and_client_still_works(server, client):
    server.script("tools/call", server.sse_reply('data: {"jsonrpc": "2.0", "id": 2, "res\n\n'))

    with pytest.raises(mcp_sync.ProtocolError, match="malformed JSON"):
        client.call_tool("add", {"a": 1, "b": 2})

    assert client.call_tool("add", {"a": 2, "b": 2}).structured_content == {"sum": 4}


def test_sse_with_invalid_utf8_raises_protocol_error_and_client_still_works(server, client):
    # A well-formed response but for one byte that is not UTF-8.
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(
            b'data: {"jsonrpc": "2.0", "id": %d, "result": {"content": [{"type": "text", "text": "\xff"}]}}\n\n'
            % seen.id
        ),
    )

    with pytest.raises(mcp_sync.ProtocolError, match="UTF-8"):
        client.call_tool("add", {"a": 1, "b": 2})

    assert client.call_tool("add", {"a": 3, "b": 2}).structured_content == {"sum": 5}


def _batch_stream(server):
    return lambda seen: server.sse_reply(
        [
            {
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": {"level": "info", "data": "batched"},
            },
            server.result_message(seen.id, {"content": [{"type": "text", "text": "from a batch"}]}),
        ]
    )


def test_batch_in_an_sse_event_is_accepted_under_2025_03_26(server, make_client):
    server.protocol_version = "2025-03-26"
    logged = threading.Event()
    client = make_client(
        logging_handler=lambda message: logged.set() if message.data == "batched" else None
    )
    server.script("tools/call", _batch_stream(server))

    assert client.call_tool("add", {"a": 1, "b": 2}).text == "from a batch"
    assert client.protocol_version == "2025-03-26"
    assert logged.wait(2.0)


def test_batch_in_an_sse_event_is_a_protocol_error_under_2025_11_25(server, client):
    server.script("tools/call", _batch_stream(server))

    with pytest.raises(mcp_sync.ProtocolError, match="batch"):
        client.call_tool("add", {"a": 1, "b": 2})


# --- max_message_size ------------------------------------------------------------------------


def _big_result(seen, size):
    return {
        "jsonrpc": "2.0",
        "id": seen.id,
        "result": {"content": [{"type": "text", "text": "x" * size}]},
    }


def test_a_json_answer_over_max_message_size_raises_message_too_large(server, make_client):
    import json

    client = make_client(max_message_size=4096).connect()
    server.script(
        "tools/call",
        lambda seen: server.Reply(
            200, json.dumps(_big_result(seen, 5000)), {"Content-Type": "application/json"}
        ),
    )
    with pytest.raises(mcp_sync.MessageTooLarge) as info:
        client.call_tool("add", {"a": 1, "b": 2})
    assert info.value.limit == 4096
    assert "max_message_size (4096 bytes)" in str(info.value)
    assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"sum": 3}


def test_an_sse_event_over_max_message_size_raises_message_too_large(server, make_client):
    import json

    client = make_client(max_message_size=4096).connect()
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(f"data: {json.dumps(_big_result(seen, 5000))}\n\n"),
    )
    with pytest.raises(mcp_sync.MessageTooLarge):
        client.call_tool("add", {"a": 1, "b": 2})
    assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"sum": 3}


def test_answers_under_max_message_size_pass(server, make_client):
    import json

    client = make_client(max_message_size=8192).connect()
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(f"data: {json.dumps(_big_result(seen, 5000))}\n\n"),
    )
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "x" * 5000


@pytest.mark.parametrize("value", [0, -1, 1.5, "16M", True])
def test_max_message_size_must_be_a_positive_integer_or_none(value):
    with pytest.raises(ValueError, match="max_message_size"):
        mcp_sync.Client("http://127.0.0.1:9/mcp", max_message_size=value)


def test_max_message_size_none_means_no_limit(server, make_client):
    import json

    client = make_client(max_message_size=None).connect()
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(f"data: {json.dumps(_big_result(seen, 17 * 2**20))}\n\n"),
    )
    assert len(client.call_tool("add", {"a": 1, "b": 2}).text) == 17 * 2**20
