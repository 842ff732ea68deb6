"""A body cut short of its Content-Length is a broken body on every urllib3.

urllib3 2 checks the length itself; under urllib3 1.26 mcp_sync reads through
``http.client``, which ends a short body as if it were whole.
"""

from __future__ import annotations

import gzip

import pytest
import requests
from support.local_http import LocalHTTPServer

import mcp_sync
from mcp_sync.transports._http import read_body


def _short_answer(body: bytes, declared: int, encoding: str = ""):
    def answer(handler, received):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if encoding:
            handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(declared))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.close_connection = True

    return answer


def _read(server: LocalHTTPServer) -> bytes:
    with requests.Session() as session:
        response = session.get(server.url("/mcp"), stream=True, timeout=5)
        try:
            return read_body(response, None)
        finally:
            response.close()


def test_a_body_shorter_than_its_content_length_is_a_transport_error():
    whole = b'{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}'
    with (
        LocalHTTPServer(_short_answer(whole[:20], len(whole))) as server,
        pytest.raises(mcp_sync.TransportError, match="broke off"),
    ):
        _read(server)


def test_a_compressed_body_shorter_than_its_content_length_is_a_transport_error():
    whole = gzip.compress(b'{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}')
    with (
        LocalHTTPServer(_short_answer(whole[:15], len(whole), "gzip")) as server,
        pytest.raises(mcp_sync.TransportError),
    ):
        _read(server)


def test_a_body_of_exactly_its_content_length_is_read_whole():
    whole = b'{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}'
    with LocalHTTPServer(_short_answer(whole, len(whole))) as server:
        assert _read(server) == whole
