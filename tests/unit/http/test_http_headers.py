"""Headers: what every POST, GET and DELETE of the Streamable HTTP transport carries."""

from __future__ import annotations


def test_every_post_accepts_json_and_event_stream(server, client):
    client.ping()

    posts = server.posts()
    assert posts
    for seen in posts:
        accepted = [part.strip() for part in seen.headers["Accept"].split(",")]
        assert "application/json" in accepted
        assert "text/event-stream" in accepted


def test_every_post_declares_a_json_body(server, client):
    client.ping()

    for seen in server.posts():
        assert seen.headers["Content-Type"].split(";")[0].strip() == "application/json"


def test_initialize_carries_no_session_id(server, client):
    (initialize,) = server.initializes()
    assert initialize.session is None


def test_initialized_notification_is_sent_after_initialize(server, client):
    methods = [seen.method for seen in server.posts()]

    assert methods[:2] == ["initialize", "notifications/initialized"]
    (notification,) = server.posts("notifications/initialized")
    assert notification.is_notification


def test_every_post_after_initialize_carries_protocol_version_and_session_id(server, client):
    client.ping()
    client.list_tools()
    client.call_tool("add", {"a": 1, "b": 2})

    later = server.posts()[1:]
    assert [seen.method for seen in later] == [
        "notifications/initialized",
        "ping",
        "tools/list",
        "tools/call",
    ]
    for seen in later:
        assert seen.version == "2025-11-25"
        assert seen.session == "session-1"


def test_listener_get_carries_protocol_version_and_session_id(server, client):
    assert server.wait_for(lambda: len(server.gets()) >= 1)

    (get,) = server.gets()
    assert get.session == "session-1"
    assert get.version == "2025-11-25"
    assert "text/event-stream" in get.headers["Accept"]
