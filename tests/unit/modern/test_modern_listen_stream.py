"""The ``subscriptions/listen`` stream: resource subscriptions and list changes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

META = "io.modelcontextprotocol/"
URI = "file:///watched.txt"


class Notifications:
    """A notification handler that records what it gets."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, method: str, params: dict[str, Any]) -> None:
        with self.lock:
            self.got.append((method, params))

    def updates(self) -> list[str]:
        with self.lock:
            return [p.get("uri") for m, p in self.got if m == "notifications/resources/updated"]


def _updated(uri: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": uri},
    }


@pytest.fixture
def subscribing(server, make_client):
    """A client of a server that offers resource subscriptions, and its notifications."""
    server.capabilities["resources"] = {"subscribe": True}
    notes = Notifications()
    client = make_client(notification_handler=notes).connect()
    return client, notes


def test_no_listen_stream_opens_when_nothing_is_wanted(server, client):
    client.list_tools()
    time.sleep(0.1)

    assert server.listens() == []


def test_subscribe_resource_opens_a_listen_stream_for_the_uri(server, subscribing):
    client, _ = subscribing

    client.subscribe_resource(URI)

    listen = server.listens()[-1]
    assert listen.params["notifications"] == {"resourceSubscriptions": [URI]}


def test_listen_request_carries_the_modern_headers_and_meta(server, subscribing):
    client, _ = subscribing

    client.subscribe_resource(URI)

    listen = server.listens()[-1]
    assert listen.version == server.MODERN
    assert listen.headers.get("Mcp-Method") == "subscriptions/listen"
    assert "Mcp-Session-Id" not in listen.headers
    assert {META + "protocolVersion", META + "clientCapabilities", META + "clientInfo"} <= set(
        listen.meta
    )


def test_update_on_the_listen_stream_reaches_the_notification_handler(server, subscribing):
    client, notes = subscribing
    client.subscribe_resource(URI)

    server.stream().write_event(_updated(URI))

    assert server.wait_for(lambda: notes.updates() == [URI])


def test_update_on_the_listen_stream_drops_the_cached_read(server, subscribing):
    client, notes = subscribing
    server.on(
        "resources/read",
        lambda seen: {"contents": [{"uri": URI, "text": "v"}], "ttlMs": 60000},
    )
    client.subscribe_resource(URI)
    client.read_resource(URI)

    server.stream().write_event(_updated(URI))
    assert server.wait_for(lambda: notes.updates() == [URI])
    client.read_resource(URI)

    assert len(server.posts("resources/read")) == 2


def test_list_changed_on_the_listen_stream_drops_the_cached_list(server, make_client):
    server.capabilities["tools"] = {"listChanged": True}
    server.on("tools/list", lambda seen: {"tools": list(server.tools), "ttlMs": 60000})
    client = make_client().connect()
    client.list_tools()
    assert server.wait_for(lambda: len(server.streams) == 1)
    assert server.listens()[0].params["notifications"] == {"toolsListChanged": True}

    server.stream().write_event({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})

    def relisted() -> bool:
        client.list_tools()
        return len(server.posts("tools/list")) == 2

    assert server.wait_for(relisted)


def test_unsubscribing_the_last_resource_stops_its_updates(server, subscribing):
    client, notes = subscribing
    client.subscribe_resource(URI)
    server.stream().write_event(_updated(URI))
    assert server.wait_for(lambda: notes.updates() == [URI])

    client.unsubscribe_resource(URI)
    server.stream().write_event(_updated(URI))
    time.sleep(0.3)

    assert notes.updates() == [URI]


def test_subscribe_while_the_listen_request_is_in_flight_reaches_the_server(server, make_client):
    server.capabilities["tools"] = {"listChanged": True}
    server.capabilities["resources"] = {"subscribe": True}
    server.listen_gate.clear()  # the server holds the first listen request unanswered
    # connect() waits for the first acknowledgement only this long, then returns.
    client = make_client(timeout=1.5, connect_timeout=0.3).connect()
    assert server.wait_for(lambda: len(server.listens()) == 1)
    release = threading.Timer(0.2, server.listen_gate.set)
    release.start()
    try:
        client.subscribe_resource(URI)
    finally:
        release.cancel()
        server.listen_gate.set()

    asked = [s.params["notifications"].get("resourceSubscriptions") for s in server.listens()]
    assert [URI] in asked
