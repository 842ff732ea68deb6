"""Event-stream answers that break, and results kept for their ``ttlMs``."""

from __future__ import annotations

import threading

import pytest

import mcp_sync

TOOLS_60S = {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}], "ttlMs": 60000}


# --- event streams --------------------------------------------------------------------------


def test_event_stream_answer_is_read(server, client):
    server.script(
        "tools/call",
        lambda seen: server.sse_reply(server.result_message(seen.id, server.text_result("sse"))),
    )

    result = client.call_tool("echo", {"text": "x"})

    assert result.content[0].text == "sse"


def test_stream_that_ends_without_the_response_is_issued_again_with_a_new_id(server, client):
    server.script("tools/call", server.broken_stream)

    result = client.call_tool("echo", {"text": "again"})

    assert result.content[0].text == "again"
    first, second = server.posts("tools/call")
    assert second.id != first.id
    assert second.params == first.params


def test_stream_that_breaks_twice_raises_transport_error(server, client):
    server.script("tools/call", server.broken_stream, server.broken_stream, server.broken_stream)

    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("echo", {"text": "x"})

    assert len(server.posts("tools/call")) == 2


def test_broken_stream_of_a_list_request_is_issued_again(server, client):
    server.script("tools/list", server.broken_stream)

    tools = client.list_tools()

    assert [tool.name for tool in tools] == ["echo"]
    assert len(server.posts("tools/list")) == 2


# --- caching --------------------------------------------------------------------------------


def test_list_with_ttl_is_served_from_the_cache(server, client):
    server.on("tools/list", lambda seen: TOOLS_60S)

    first = client.list_tools()
    second = client.list_tools()

    assert [t.name for t in first] == [t.name for t in second] == ["echo"]
    assert len(server.posts("tools/list")) == 1


def test_list_with_cache_false_sends_a_request(server, client):
    server.on("tools/list", lambda seen: TOOLS_60S)
    client.list_tools()

    client.list_tools(cache=False)

    assert len(server.posts("tools/list")) == 2


def test_client_with_cache_false_never_caches(server, make_client):
    server.on("tools/list", lambda seen: TOOLS_60S)
    client = make_client(cache=False).connect()

    client.list_tools()
    client.list_tools()

    assert len(server.posts("tools/list")) == 2


def test_client_with_cache_false_sends_discover_for_ping(server, make_client):
    client = make_client(cache=False).connect()

    client.ping()

    assert len(server.posts("server/discover")) == 2


def test_ttl_zero_is_not_cached(server, client):
    server.on("tools/list", lambda seen: {**TOOLS_60S, "ttlMs": 0})

    client.list_tools()
    client.list_tools()

    assert len(server.posts("tools/list")) == 2


def test_result_without_ttl_is_not_cached(server, client):
    client.list_tools()
    client.list_tools()

    assert len(server.posts("tools/list")) == 2


def test_read_resource_with_ttl_is_cached_per_uri(server, client):
    server.on(
        "resources/read",
        lambda seen: {
            "contents": [{"uri": seen.params["uri"], "text": "cached"}],
            "ttlMs": 60000,
        },
    )

    client.read_resource("file:///a.txt")
    client.read_resource("file:///a.txt")
    client.read_resource("file:///b.txt")

    assert [s.params["uri"] for s in server.posts("resources/read")] == [
        "file:///a.txt",
        "file:///b.txt",
    ]


def test_input_required_round_is_never_cached(server, make_client):
    client = make_client(
        elicitation_handler=lambda p: {"action": "accept", "content": {}}
    ).connect()
    asks = server.input_required(
        {"ok": {"method": "elicitation/create", "params": {"message": "ok?"}}},
        "r-1",
        ttlMs=60000,
    )
    final = {"contents": [{"uri": "file:///a.txt", "text": "final"}]}
    server.script("resources/read", asks, final, asks, final)

    client.read_resource("file:///a.txt")
    second = client.read_resource("file:///a.txt")

    assert second.contents[0].text == "final"
    reads = server.posts("resources/read")
    assert len(reads) == 4
    assert "inputResponses" not in reads[2].params
    assert "requestState" not in reads[2].params


def test_logging_level_does_not_split_the_cache(server, client):
    server.on("tools/list", lambda seen: TOOLS_60S)
    client.list_tools()

    client.set_logging_level("error")
    client.list_tools()

    assert len(server.posts("tools/list")) == 1


def test_concurrent_calls_each_get_their_own_result(server, client):
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(5):
                text = f"{worker}-{n}"
                got = client.call_tool("echo", {"text": text}).content[0].text
                assert got == text
            results[worker] = "ok"
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)

    assert errors == []
    assert len(results) == 8
    ids = [seen.id for seen in server.posts("tools/call")]
    assert len(ids) == len(set(ids)) == 40
