"""The old HTTP+SSE transport: where it may send messages."""

from __future__ import annotations

import pytest

import mcp_sync
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
