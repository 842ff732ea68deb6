"""The old HTTP+SSE transport: where it may send messages."""

from __future__ import annotations

import json
import queue

import pytest
from support.local_oauth import REDIRECT_URI, LocalOAuthServer, send

import mcp_sync
from mcp_sync import engine
from mcp_sync.oauth import OAuth
from mcp_sync.transports._http import AbortHandle
from mcp_sync.transports.http_sse import HTTPSSETransport


@pytest.fixture
def transport():
    sse = HTTPSSETransport("http://mcp.test:8080/sse")
    yield sse
    sse.close()


def test_a_relative_endpoint_resolves_against_the_stream_url(transport):
    transport._take_endpoint("/messages?session=abc")
    assert transport._endpoint == "http://mcp.test:8080/messages?session=abc"
    assert transport._endpoint_error is None


def test_an_absolute_endpoint_of_the_same_origin_is_taken(transport):
    transport._take_endpoint("http://MCP.test:8080/other")
    assert transport._endpoint == "http://MCP.test:8080/other"


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://evil.example/messages",
        "https://mcp.test:8080/messages",
        "http://mcp.test:9090/messages",
        "//evil.example/x",
    ],
)
def test_an_endpoint_of_another_origin_is_refused(transport, endpoint):
    transport._take_endpoint(endpoint)
    assert transport._endpoint is None
    assert isinstance(transport._endpoint_error, mcp_sync.ProtocolError)
    assert "another origin" in str(transport._endpoint_error)


def test_sending_before_the_stream_opened_is_a_clear_error(transport):
    with pytest.raises(mcp_sync.TransportError):
        transport.send_message({"jsonrpc": "2.0", "method": "initialize"}, timeout=1)


def test_transport_option_must_name_a_known_transport():
    with pytest.raises(ValueError):
        mcp_sync.Client("http://mcp.test/sse", transport="carrier-pigeon")


def test_sse_cannot_carry_the_modern_protocol():
    with pytest.raises(ValueError):
        mcp_sync.Client("http://mcp.test/sse", transport="sse", protocol_version="2026-07-28")


def test_the_default_port_written_out_is_the_same_origin():
    sse = HTTPSSETransport("http://mcp.test/sse")
    try:
        sse._take_endpoint("http://mcp.test:80/messages")
        assert sse._endpoint == "http://mcp.test:80/messages"
    finally:
        sse.close()


def test_sse_needs_a_url_not_a_command():
    with pytest.raises(ValueError):
        mcp_sync.Client(["my-server"], transport="sse")


def test_waiting_for_a_person_while_sending_with_an_abort_handle_does_not_crash():
    # The SSE stream's GET has no call, only an AbortHandle: there is no timeout to shift.
    with engine.sending(AbortHandle()), engine.waiting_for_person():
        pass


def test_oauth_sign_in_works_over_the_sse_transport():
    streams: queue.Queue = queue.Queue()  # the answers for the open stream

    def app(handler, path, body):
        if not server.authorized(handler):
            server.unauthorized(handler)
        elif handler.command == "GET" and path == "/sse":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.end_headers()
            handler.wfile.write(b"event: endpoint\ndata: /messages\n\n")
            handler.wfile.flush()
            while (message := streams.get()) is not None:
                handler.wfile.write(f"event: message\ndata: {json.dumps(message)}\n\n".encode())
                handler.wfile.flush()
        elif path == "/messages":
            send(handler, 202)
            message = json.loads(body)
            results = {
                "initialize": {
                    "protocolVersion": "2024-11-05",
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "sse-server", "version": "1"},
                },
                "tools/list": {"tools": []},
            }
            if message.get("method") in results:
                streams.put(
                    {"jsonrpc": "2.0", "id": message["id"], "result": results[message["method"]]}
                )
        else:
            send(handler, 404)

    with LocalOAuthServer(app) as server:
        auth = OAuth(
            client_id="app", redirect_handler=server.redirect_handler, redirect_uri=REDIRECT_URI
        )
        client = mcp_sync.Client(server.origin + "/sse", transport="sse", auth=auth, timeout=5)
        try:
            client.connect()
            assert list(client.list_tools()) == []
        finally:
            client.close()
            streams.put(None)  # ends the server's side of the stream

    assert server.issued == ["token-1"]
