"""The GET listener, DELETE at close(), and the closed client."""

from __future__ import annotations

import time

import pytest

import mcp_sync

CLOSE_SENDS_NO_DELETE = (
    "Client.close() never calls transport.end_session(), so no DELETE is sent "
    "(its docstring promises 'End the session (DELETE)')"
)


def test_get_405_stops_the_listener_without_retries(server, client):
    assert server.wait_for(lambda: len(server.gets()) >= 1)

    time.sleep(0.3)

    assert len(server.gets()) == 1


def test_close_sends_delete_with_the_session_id(server, client):
    client.close()

    (delete,) = server.deletes()
    assert delete.session == "session-1"
    assert delete.version == "2025-11-25"


def test_delete_answered_405_at_close_raises_nothing(server, client):
    server.delete_reply = server.Reply(405)

    client.close()

    assert len(server.deletes()) == 1
    assert client.state == "closed"


def test_use_after_close_raises_client_closed_error(server, client):
    client.close()

    with pytest.raises(mcp_sync.ClientClosedError):
        client.call_tool("add", {"a": 1, "b": 2})
    with pytest.raises(mcp_sync.ClientClosedError):
        client.connect()


def test_close_twice_is_fine(server, client):
    client.close()
    client.close()

    assert client.state == "closed"
