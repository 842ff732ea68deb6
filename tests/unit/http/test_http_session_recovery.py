"""Session expiry: 404 (or a 400 that speaks of the session) starts one new session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import mcp_sync

SESSION_400 = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32000, "message": "Bad Request: No valid session ID provided"},
}


def test_404_to_a_request_with_session_reinitializes_once_without_session_id(server, client):
    server.expire_session()

    client.ping()

    initializes = server.initializes()
    assert len(initializes) == 2
    assert initializes[1].session is None


def test_404_to_a_request_with_session_resends_the_request_and_succeeds(server, client):
    server.expire_session()

    result = client.call_tool("add", {"a": 2, "b": 3})

    assert result.structured_content == {"sum": 5}
    first, resent = server.posts("tools/call")
    assert (first.session, resent.session) == ("session-1", "session-2")
    assert first.params == resent.params


def test_404_to_a_request_with_session_calls_on_session_reset_once(server, make_client):
    resets = []
    client = make_client(on_session_reset=resets.append).connect()
    server.expire_session()

    client.ping()

    assert resets == [client]


def test_new_session_id_is_used_after_reinitialize(server, client):
    server.expire_session()
    client.ping()

    client.ping()
    client.list_tools()

    after = server.posts()[server.posts().index(server.initializes()[1]) + 1 :]
    assert after
    assert {seen.session for seen in after} == {"session-2"}
    assert {seen.version for seen in after} == {"2025-11-25"}
    assert client.session_id == "session-2"


def test_404_to_a_request_without_session_raises_http_status_error(server, make_client):
    server.issue_sessions = False
    server.script("tools/call", server.json_reply({"error": "no such thing"}, status=404))
    client = make_client().connect()

    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.call_tool("add", {"a": 1, "b": 2})

    assert info.value.status == 404
    assert not isinstance(info.value, mcp_sync.SessionExpiredError)
    assert len(server.initializes()) == 1


def test_404_again_after_reinitialize_raises_session_expired_error(server, client):
    server.on("tools/call", lambda seen: server.Reply(404, "gone", {"Content-Type": "text/plain"}))

    with pytest.raises(mcp_sync.SessionExpiredError) as info:
        client.call_tool("add", {"a": 1, "b": 2})

    assert type(info.value) is mcp_sync.SessionExpiredError  # not an internal subclass
    assert info.value.status == 404 and info.value.body_excerpt == "gone"
    assert "again after starting a new one" in str(info.value)
    assert len(server.initializes()) == 2
    assert len(server.posts("tools/call")) == 2


def test_400_whose_error_speaks_of_the_session_is_treated_like_404(server, client):
    server.expired_reply = lambda: server.json_reply(SESSION_400, status=400)
    server.expire_session()

    result = client.call_tool("add", {"a": 4, "b": 5})

    assert result.structured_content == {"sum": 9}
    assert len(server.initializes()) == 2
    assert [seen.session for seen in server.posts("tools/call")] == ["session-1", "session-2"]


def test_plain_400_raises_http_status_error_and_keeps_the_session(server, client):
    server.script(
        "tools/call",
        server.json_reply(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32602, "message": "Bad Request: bad params"},
            },
            400,
        ),
    )

    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.call_tool("add", {"a": 1, "b": 2})
    client.ping()

    assert info.value.status == 400
    assert len(server.initializes()) == 1
    assert server.posts("ping")[-1].session == "session-1"


def test_500_raises_http_status_error_with_body_excerpt_and_keeps_the_session(server, client):
    server.script(
        "tools/call", server.Reply(500, "internal kaboom", {"Content-Type": "text/plain"})
    )

    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.call_tool("add", {"a": 1, "b": 2})
    client.ping()

    assert info.value.status == 500
    assert "internal kaboom" in info.value.body_excerpt
    assert len(server.initializes()) == 1
    assert server.posts("ping")[-1].session == "session-1"


def test_subscriptions_and_logging_level_are_restored_on_the_new_session(server, client):
    client.subscribe_resource("mem://notes")
    client.set_logging_level("warning")
    server.expire_session()

    client.ping()

    renewed = [seen for seen in server.posts() if seen.session == "session-2"]
    subscribe = [seen.params for seen in renewed if seen.method == "resources/subscribe"]
    set_level = [seen.params for seen in renewed if seen.method == "logging/setLevel"]
    assert subscribe == [{"uri": "mem://notes"}]
    assert set_level == [{"level": "warning"}]


def test_request_made_while_reinitializing_waits_for_the_new_session(server, client):
    bodies = []

    def slow_initialize(seen):
        # The new session's initialize result is held back until the test releases it.
        reply, body = server.live_reply()
        reply.headers["Mcp-Session-Id"] = server.open_session()
        bodies.append((body, seen.id))
        return reply

    server.script("initialize", slow_initialize)
    server.expire_session()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.ping)
        try:
            assert server.wait_for(lambda: len(server.initializes()) == 2)
            # Give the client a moment to take in the new session's headers.
            server.wait_for(lambda: client.session_id == "session-2", timeout=0.2)
            second = pool.submit(client.list_tools)
            server.wait_for(lambda: len(server.posts("tools/list")) == 1, timeout=0.3)
        finally:
            for body, init_id in bodies:
                body.write_event(server.result_message(init_id, server.initialize_result()))
                body.end()
        first.result(5)
        second.result(5)

    (tools_list,) = server.posts("tools/list")
    methods = [seen.method for seen in server.posts()]
    assert tools_list.version == "2025-11-25"
    assert methods.index("tools/list") > methods.index(
        "notifications/initialized", methods.index("initialize", 1)
    )
