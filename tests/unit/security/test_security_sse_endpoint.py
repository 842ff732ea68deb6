"""The old HTTP+SSE transport: the ``endpoint`` event cannot send messages to another origin.

What counts is where ``requests`` would really connect, so each endpoint the transport
takes is also run through ``requests``' own URL preparation and urllib3's parser.
"""

from __future__ import annotations

import threading

import pytest
import requests
import urllib3
from support.local_http import LocalHTTPServer, send

import mcp_sync
from mcp_sync.transports.http_sse import HTTPSSETransport

STREAM = "http://mcp.test:8080/sse"
TOKEN = "tok-77d1e0a4"


@pytest.fixture
def transport():
    sse = HTTPSSETransport(STREAM)
    yield sse
    sse.close()


def _where_requests_connects(url: str) -> tuple[str, str, int]:
    prepared = requests.Request("POST", url).prepare()
    parts = urllib3.util.parse_url(prepared.url)
    port = parts.port or {"http": 80, "https": 443}[parts.scheme]
    return parts.scheme, (parts.host or "").lower(), port


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://mcp.test:8080/messages",  # scheme change
        "https://mcp.test/messages",  # scheme change, default port
        "http://mcp.test:9090/messages",  # port change
        "http://mcp.test/messages",  # default port instead of 8080
        "http://mcp.test:8080@evil.example/messages",  # the stream's origin as userinfo
        "http://evil@evil.example/messages",  # userinfo on another host
        "http://mcp.test:8080%2f@evil.example/x",  # an encoded slash in the userinfo
        "//evil.example/x",  # protocol-relative
        "http://evil.example#@mcp.test:8080/x",  # the stream's host after a fragment
        "http://evil.example?@mcp.test:8080/x",  # ... after a query
        "http://mcp.test.:8080/x",  # a trailing dot: another name
        "http://[::1]:8080/x",
        "\x00http://evil.example/x",
        "ht\ttp://evil.example/x",
    ],
)
def test_an_endpoint_on_another_origin_is_refused(transport, endpoint):
    transport._take_endpoint(endpoint)
    assert transport._endpoint is None
    assert isinstance(transport._endpoint_error, mcp_sync.ProtocolError)


@pytest.mark.parametrize(
    "endpoint",
    [
        "/messages?session=1",
        "http://MCP.TEST:8080/messages",
        "http://evil@mcp.test:8080/messages",  # userinfo, but the stream's host
        "/\\evil.example/x",
        "\\\\evil.example/x",
        "http:\\\\evil.example/x",
        "http:/\\evil.example/x",
        "\\/evil.example/x",
        "///evil.example/x",
        "http:evil.example/x",
        "http://mcp.test:8080\\@evil.example/x",
        "http://mcp.test:8080#@evil.example/x",
        "http://evil.example%2f@mcp.test:8080/x",
        "http://evil.example\x00@mcp.test:8080/x",
    ],
)
def test_every_endpoint_taken_is_one_requests_sends_to_the_streams_origin(transport, endpoint):
    transport._take_endpoint(endpoint)
    if transport._endpoint is None:
        assert isinstance(transport._endpoint_error, mcp_sync.ProtocolError)
        return
    assert _where_requests_connects(transport._endpoint) == ("http", "mcp.test", 8080)


@pytest.mark.parametrize(
    "endpoint",
    ["http://evil.example\\@mcp.test:8080/x", "http://evil.example:80\\@mcp.test:8080/x"],
)
def test_a_backslash_before_userinfo_cannot_send_messages_to_another_host(transport, endpoint):
    # urlsplit() reads the host after the backslash (mcp.test); requests and urllib3 stop
    # the authority at the backslash and would connect to evil.example.
    transport._take_endpoint(endpoint)
    if transport._endpoint is None:
        assert isinstance(transport._endpoint_error, mcp_sync.ProtocolError)
        return
    assert _where_requests_connects(transport._endpoint) == ("http", "mcp.test", 8080)


def _stream_naming(endpoint: str, done: threading.Event):
    def answer(handler, received):
        if received.method != "GET":
            send(handler, 404)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(f"event: endpoint\ndata: {endpoint}\n\n".encode())
        handler.wfile.flush()
        done.wait(5)

    return answer


def test_the_bearer_token_never_reaches_the_host_a_backslash_endpoint_names(trap):
    done = threading.Event()
    stream = LocalHTTPServer()
    with stream:
        # The stream's own host and port after the backslash; the trap's before it.
        endpoint = f"http://127.0.0.1:{trap.port}\\@127.0.0.1:{stream.port}/messages"
        stream.answer = _stream_naming(endpoint, done)
        client = mcp_sync.Client(
            stream.url("/sse"), transport="sse", auth=TOKEN, timeout=2, connect_timeout=2
        )
        try:
            with pytest.raises(mcp_sync.MCPSyncError):
                client.connect()
        finally:
            done.set()
            client.close()
    assert trap.hits() == []
