"""Compressed answers: a small body that inflates enormously (a "zip bomb") is not read
past the client's ``max_message_size``.

``requests`` asks for ``gzip, deflate`` (and ``br`` when brotli is installed) and urllib3
inflates transparently, with no limit of its own. The client must count what it reads
after inflation and give up with :class:`mcp_sync.MessageTooLarge` (a
:class:`~mcp_sync.ProtocolError`) instead of holding the whole message in memory.

urllib3 2.2 and later inflate a bounded amount per read; with older urllib3, mcp_sync
inflates gzip and deflate bodies itself, a bounded piece at a time. The bound holds on
every urllib3 the project supports.

Bombs are built by feeding a compressor one 64 KiB block at a time, so building them
costs little memory; the peak while the client reads one is measured with tracemalloc.
"""

from __future__ import annotations

import inspect
import json
import tracemalloc
import zlib
from typing import Any, Callable

import pytest
from support.local_http import LocalHTTPServer, send
from support.scripted_http import PROTOCOL_VERSION

import mcp_sync

MiB = 1024 * 1024
LIMIT = 1 * MiB
BOMB = 16 * MiB  # what the body inflates to
PEAK = 6 * MiB  # the most the client may allocate while it reads a bomb under LIMIT
BLOCK = b"A" * 65536


def _compressor(encoding: str) -> Any:
    if encoding == "gzip":
        return zlib.compressobj(9, zlib.DEFLATED, 31)
    assert encoding == "deflate", encoding
    return zlib.compressobj(9, zlib.DEFLATED, 15)


def bomb(encoding: str, head: bytes, size: int, tail: bytes = b"") -> bytes:
    """``head`` + ``size`` bytes of ``A`` + ``tail``, compressed."""
    compressor = _compressor(encoding)
    step = compressor.compress
    out = [step(head)]
    for _ in range(size // len(BLOCK)):
        out.append(step(BLOCK))
    out.append(step(tail))
    out.append(compressor.flush())
    return b"".join(out)


def _json_head(request_id: Any) -> bytes:
    return b'{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"' % (
        json.dumps(request_id).encode()
    )


JSON_TAIL = b'"}]}}'


def _peak(action: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _raises_too_large(call: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with pytest.raises(mcp_sync.MessageTooLarge) as info:
            call()
        assert isinstance(info.value, mcp_sync.ProtocolError)
        assert info.value.limit == LIMIT

    return run


# --- the option --------------------------------------------------------------------------


def test_the_limit_is_on_by_default_at_64_mib():
    option = inspect.signature(mcp_sync.Client).parameters["max_message_size"]
    assert option.default == 64 * MiB


def test_message_too_large_is_a_protocol_error():
    assert issubclass(mcp_sync.MessageTooLarge, mcp_sync.ProtocolError)


# --- bombs behind `responses` (urllib3 reads the body with read1) -------------------------


# requests asks for br only when brotli is installed, and mcp_sync does not need it.
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_json_answer_over_the_limit_raises_message_too_large(
    server, make_client, encoding
):
    def answer(seen):
        body = bomb(encoding, _json_head(seen.id), BOMB, JSON_TAIL)
        return server.Reply(
            200, body, {"Content-Type": "application/json", "Content-Encoding": encoding}
        )

    server.script("tools/call", answer)
    client = make_client(max_message_size=LIMIT).connect()

    peak = _peak(_raises_too_large(lambda: client.call_tool("add", {"a": 1, "b": 2})))

    assert peak < PEAK, f"{peak / MiB:.1f} MiB allocated to read a {BOMB // MiB} MiB bomb"
    # The client stays usable.
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_event_over_the_limit_raises_message_too_large(server, make_client, encoding):
    def answer(seen):
        body = bomb(encoding, b"data: ", BOMB, b"\n\n")
        return server.Reply(
            200, body, {"Content-Type": "text/event-stream", "Content-Encoding": encoding}
        )

    server.script("tools/call", answer)
    client = make_client(max_message_size=LIMIT).connect()

    peak = _peak(_raises_too_large(lambda: client.call_tool("add", {"a": 1, "b": 2})))

    assert peak < PEAK, f"{peak / MiB:.1f} MiB allocated to read a {BOMB // MiB} MiB bomb"


def test_a_compressed_error_body_is_read_only_as_far_as_its_excerpt(server, make_client):
    def answer(seen):
        body = bomb("gzip", b"", BOMB)
        return server.Reply(500, body, {"Content-Type": "text/plain", "Content-Encoding": "gzip"})

    server.script("tools/call", answer)
    client = make_client(max_message_size=LIMIT).connect()

    def call() -> None:
        with pytest.raises(mcp_sync.HTTPStatusError) as info:
            client.call_tool("add", {"a": 1, "b": 2})
        assert info.value.status == 500
        assert len(info.value.body_excerpt) < 1000

    peak = _peak(call)
    assert peak < PEAK, f"{peak / MiB:.1f} MiB allocated for an error excerpt"


@pytest.mark.parametrize("kind", ["application/json", "text/event-stream"])
def test_the_limit_holds_on_a_compressed_answer_with_any_urllib3(server, make_client, kind):
    # What every urllib3 gives: the message is refused, whatever it cost to inflate.
    def answer(seen):
        if kind == "application/json":
            body = bomb("gzip", _json_head(seen.id), 4 * LIMIT, JSON_TAIL)
        else:
            body = bomb("gzip", b"data: ", 4 * LIMIT, b"\n\n")
        return server.Reply(200, body, {"Content-Type": kind, "Content-Encoding": "gzip"})

    server.script("tools/call", answer)
    client = make_client(max_message_size=LIMIT).connect()
    _raises_too_large(lambda: client.call_tool("add", {"a": 1, "b": 2}))()
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"


def test_a_plain_json_answer_over_the_limit_raises_message_too_large(server, make_client):
    def answer(seen):
        text = b"A" * (2 * LIMIT)
        return server.Reply(
            200, _json_head(seen.id) + text + JSON_TAIL, {"Content-Type": "application/json"}
        )

    server.script("tools/call", answer)
    client = make_client(max_message_size=LIMIT).connect()
    _raises_too_large(lambda: client.call_tool("add", {"a": 1, "b": 2}))()


# --- a bomb over real sockets, in chunked framing (urllib3 reads it chunk by chunk) --------


def _mini_server(bomb_body: Callable[[Any], bytes], content_type: str) -> Callable:
    """A legacy MCP server on sockets that answers tools/call with a chunked gzip bomb."""

    def answer(handler, received):
        message = json.loads(received.body or b"null")
        if received.method != "POST" or not isinstance(message, dict):
            send(handler, 405)
            return
        method = message.get("method")
        if "id" not in message:
            send(handler, 202)
        elif method == "initialize":
            result = {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "bomb", "version": "1"},
            }
            body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result})
            send(
                handler,
                200,
                body,
                {"Content-Type": "application/json", "Mcp-Session-Id": "s-1"},
            )
        else:
            data = bomb_body(message["id"])
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Encoding", "gzip")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            # The whole compressed body in one HTTP chunk.
            handler.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
            handler.wfile.flush()

    return answer


@pytest.mark.parametrize("kind", ["application/json", "text/event-stream"])
def test_a_chunked_compressed_answer_over_the_limit_is_not_inflated_whole(kind):
    def body(request_id: Any) -> bytes:
        if kind == "application/json":
            return bomb("gzip", _json_head(request_id), BOMB, JSON_TAIL)
        return bomb("gzip", b"data: ", BOMB, b"\n\n")

    with LocalHTTPServer(_mini_server(body, kind)) as server:
        client = mcp_sync.Client(
            server.url("/mcp"),
            protocol_version=PROTOCOL_VERSION,
            listen=False,
            timeout=10,
            max_message_size=LIMIT,
        )
        try:
            client.connect()
            peak = _peak(_raises_too_large(lambda: client.call_tool("add", {"a": 1, "b": 2})))
        finally:
            client.close()
    assert peak < PEAK, f"{peak / MiB:.1f} MiB allocated to read a {BOMB // MiB} MiB bomb"
