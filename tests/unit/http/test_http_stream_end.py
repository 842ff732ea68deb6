"""Once a call's answer arrived, the rest of its stream is read briefly, never waited on.

A stream that ends at once gives its connection back to the pool; one that stays
open is cut as it was, after a short wait at most.
"""

from __future__ import annotations

import threading
import time

from support.local_http import LocalHTTPServer

from mcp_sync.transports._http import STREAM_END_WAIT, chunks, finish_stream, new_http

EVENT = b'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'


def _chunked_stream(*, ends: bool, release: threading.Event, trickle: bool = False):
    ports = []

    def answer(handler, received):
        ports.append(handler.client_address[1])
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(EVENT), EVENT))
        handler.wfile.flush()
        if trickle:
            while not release.wait(0.01):  # a comment line, a byte at a time, for ever
                handler.wfile.write(b"1\r\n:\r\n")
                handler.wfile.flush()
            handler.close_connection = True
            return
        if not ends:
            release.wait(10)
            handler.close_connection = True
            return
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    return answer, ports


def _time_finishing(http, url):
    """Read a stream's first piece, then time finish_stream on it."""
    response, piece = _first_piece(http, url)
    assert piece == EVENT
    started = time.monotonic()
    finish_stream(response)
    waited = time.monotonic() - started
    response.close()
    return waited


def _first_piece(http, url):
    """The response and its first piece, read as a call reads it (the reader stays open)."""
    response = http.get(url, stream=True, timeout=5)
    reader = chunks(response, None)
    response.reader = reader
    return response, next(reader)


def test_a_stream_that_ends_after_its_answer_leaves_its_connection_for_the_next_request():
    release = threading.Event()
    answer, ports = _chunked_stream(ends=True, release=release)
    with LocalHTTPServer(answer) as server, new_http() as http:
        for _ in range(3):
            response, piece = _first_piece(http, server.url("/mcp"))
            assert piece == EVENT
            finish_stream(response)
            response.close()

    assert len(ports) == 3
    assert len(set(ports)) == 1


def test_a_stream_that_stays_open_after_its_answer_is_cut_after_a_short_wait():
    release = threading.Event()
    answer, ports = _chunked_stream(ends=False, release=release)
    with LocalHTTPServer(answer) as server, new_http() as http:
        try:
            waited = _time_finishing(http, server.url("/mcp"))
            response, _ = _first_piece(http, server.url("/mcp"))
            response.close()
        finally:
            release.set()

    assert waited < STREAM_END_WAIT + 0.5
    assert len(set(ports)) == 2


def test_finishing_a_stream_that_already_broke_raises_nothing():
    release = threading.Event()
    answer, _ = _chunked_stream(ends=False, release=release)
    with LocalHTTPServer(answer) as server, new_http() as http:
        try:
            response, _ = _first_piece(http, server.url("/mcp"))
            response.raw.close()
            finish_stream(response)
        finally:
            release.set()


def test_a_stream_that_trickles_after_its_answer_is_cut_after_a_short_wait():
    release = threading.Event()
    answer, _ = _chunked_stream(ends=False, release=release, trickle=True)
    with LocalHTTPServer(answer) as server, new_http() as http:
        try:
            waited = _time_finishing(http, server.url("/mcp"))
        finally:
            release.set()

    assert waited < STREAM_END_WAIT + 0.5
