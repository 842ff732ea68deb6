"""FaultProxy (tests/support/fault_proxy.py) in front of an in-process MCPTestServer.

Plain ``requests`` and ``http.client`` check the bytes on the wire; ``mcp_sync.Client``
checks what each fault does to a real caller.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

import pytest
import requests
from support.fault_proxy import INJECT_KINDS, FaultProxy
from support.testing_server_helpers import wait_for

import mcp_sync
from mcp_sync.testing import Context, MCPTestServer

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
_META = "io.modelcontextprotocol/"


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mcp_sync-faultproxy")]


@pytest.fixture
def gate() -> threading.Event:
    """Holds the ``gated`` tool until the test sets it."""
    return threading.Event()


@pytest.fixture
def server(gate: threading.Event) -> Iterator[MCPTestServer]:
    upstream = MCPTestServer()

    @upstream.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @upstream.tool()
    def chatty(ctx: Context, text: str) -> str:
        """Answers on an SSE stream: a log notification, then the result."""
        ctx.notify("notifications/message", {"level": "info", "data": f"echoing {text}"})
        return text

    @upstream.tool()
    def gated(ctx: Context) -> str:
        ctx.notify("notifications/message", {"level": "info", "data": "waiting"})
        gate.wait(5)
        return "opened"

    with upstream:
        try:
            yield upstream
        finally:
            gate.set()  # no tool may hold the server's stop


@pytest.fixture
def proxy(server: MCPTestServer) -> Iterator[FaultProxy]:
    with FaultProxy(server.url) as started:
        yield started
    assert not proxy_threads(), "the proxy left threads behind"


@pytest.fixture
def client_for(proxy: FaultProxy) -> Iterator[Callable[..., mcp_sync.Client]]:
    clients: list[mcp_sync.Client] = []

    def open_client(version: Optional[str] = LEGACY, **options: Any) -> mcp_sync.Client:
        options.setdefault("timeout", 5)
        options.setdefault("listen", False)
        # One fault, one failure: a retry would hide what the fault did to the call.
        options.setdefault("retry", mcp_sync.RetryPolicy(max_retries=0))
        client = mcp_sync.Client(proxy.url, protocol_version=version, **options)
        clients.append(client)
        return client.connect()

    yield open_client
    for client in clients:
        client.close()


def modern_request(
    method: str, params: Optional[dict[str, Any]] = None, request_id: int = 1
) -> tuple[bytes, dict[str, str]]:
    """A stateless 2026-07-28 POST: its body and headers."""
    params = dict(params or {})
    meta = {_META + "protocolVersion": MODERN, _META + "clientCapabilities": {}}
    params["_meta"] = {**meta, **params.get("_meta", {})}
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
    }
    if "name" in params:
        headers["Mcp-Name"] = params["name"]
    return json.dumps(body).encode(), headers


def post(
    url: str, method: str, params: Optional[dict[str, Any]] = None, via: Any = requests
) -> requests.Response:
    """A modern POST with ``requests`` (or through the ``requests.Session`` ``via``)."""
    body, headers = modern_request(method, params)
    response: requests.Response = via.post(url, data=body, headers=headers, timeout=5)
    return response


@contextlib.contextmanager
def exchange(
    port: int, method: str, params: Optional[dict[str, Any]] = None
) -> Iterator[tuple[http.client.HTTPConnection, http.client.HTTPResponse]]:
    """A modern POST on a connection of its own, its answer's body left to the test."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        body, headers = modern_request(method, params)
        conn.request("POST", "/mcp", body, headers)
        answer = conn.getresponse()
        try:
            yield conn, answer
        finally:
            answer.close()  # a body that ends with the connection holds its socket
    finally:
        conn.close()


def events(body: bytes) -> list[bytes]:
    """The whole event blocks of an SSE body (a cut-off last block is left out)."""
    return [block + b"\n\n" for block in body.split(b"\n\n")[:-1]]


def data_of(block: bytes) -> Any:
    return json.loads(
        b"".join(line[5:] for line in block.split(b"\n") if line.startswith(b"data:"))
    )


# --- passing through --------------------------------------------------------------------------


def test_json_answers_are_relayed_byte_for_byte(server, proxy):
    assert proxy.url == server.url.replace(str(server.port), str(proxy.port))
    direct = post(server.url, "server/discover")
    relayed = post(proxy.url, "server/discover")
    assert relayed.status_code == direct.status_code == 200
    assert relayed.headers["Content-Type"] == direct.headers["Content-Type"]
    assert relayed.content == direct.content
    [record] = proxy.requests
    assert (record.http_method, record.path, record.method) == ("POST", "/mcp", "server/discover")
    assert (record.status, record.fault) == (200, None)
    assert record.headers["mcp-method"] == "server/discover"


def test_sse_answers_stream_through_as_they_arrive(server, proxy, gate):
    with exchange(proxy.port, "tools/call", {"name": "gated", "arguments": {}}) as (_, answer):
        assert answer.status == 200
        assert answer.getheader("Content-Type") == "text/event-stream"
        first = answer.read1(65536)  # the tool is still waiting: only its first event is out
        assert b"waiting" in first and b"opened" not in first
        gate.set()
        relayed = first + answer.read()
    with exchange(server.port, "tools/call", {"name": "gated", "arguments": {}}) as (_, answer):
        assert relayed == answer.read()  # the same bytes as from the server itself


@pytest.mark.parametrize("version", [LEGACY, MODERN])
def test_the_client_works_through_the_proxy(server, proxy, client_for, version):
    logs: list[Any] = []
    heard: list[str] = []
    client = client_for(
        version,
        listen=True,
        logging_handler=lambda m: logs.append(m.data),
        notification_handler=lambda method, params: heard.append(method),
    )
    assert client.era == ("legacy" if version == LEGACY else "modern")
    assert {t.name for t in client.list_tools()} == {"add", "chatty", "gated"}
    assert client.call_tool("add", {"a": 2, "b": 3}).text == "5"
    assert client.call_tool("chatty", {"text": "hi"}).text == "hi"
    assert wait_for(lambda: logs == ["echoing hi"])  # handlers run on a worker thread
    if version == LEGACY:  # the GET listener stream passes through too
        assert wait_for(
            lambda: server.notify("notifications/custom") > 0 and "notifications/custom" in heard
        )
    posts = [r for r in proxy.requests if r.http_method == "POST"]
    assert [r.method for r in posts].count("tools/call") == 2
    assert all(r.status in (200, 202) and r.fault is None for r in posts)


def test_keep_alive_connections_carry_many_requests(proxy):
    with requests.Session() as http:
        for _ in range(3):
            assert post(proxy.url, "tools/list", via=http).status_code == 200
        assert proxy.connections == 1
        # An SSE answer of MCPTestServer ends with its connection, so the next needs a new one.
        call = post(
            proxy.url, "tools/call", {"name": "chatty", "arguments": {"text": "x"}}, via=http
        )
        assert call.headers["Connection"] == "close"
        assert post(proxy.url, "tools/list", via=http).status_code == 200
    assert proxy.connections == 2


def test_concurrent_connections_each_have_a_thread(proxy, gate):
    answers: list[str] = []

    def call() -> None:
        answer = post(proxy.url, "tools/call", {"name": "gated", "arguments": {}})
        answers.append(data_of(events(answer.content)[-1])["result"]["content"][0]["text"])

    callers = [threading.Thread(target=call) for _ in range(5)]
    for caller in callers:
        caller.start()
    assert wait_for(lambda: len(proxy_threads()) == 6)  # the accept thread and one per connection
    assert all(
        t.daemon and re.match(r"mcp_sync-faultproxy-(accept|conn-\d+)$", t.name)
        for t in proxy_threads()
    )
    gate.set()
    for caller in callers:
        caller.join(5)
    assert answers == ["opened"] * 5


# --- a chunked upstream -----------------------------------------------------------------------

CHUNKED_EVENTS = [
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"one"}}\n\n',
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"two"}}\n\n',
    b'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n\n',
]


class _ChunkedSSE(BaseHTTPRequestHandler):
    """Answers every POST with CHUNKED_EVENTS, chunked; waits for the gate after the first."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for number, event in enumerate(CHUNKED_EVENTS):
            if number == 1:
                self.server.gate.wait(5)  # type: ignore[attr-defined]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def chunked_proxy(gate: threading.Event) -> Iterator[FaultProxy]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _ChunkedSSE)
    upstream.daemon_threads = True
    upstream.gate = gate  # type: ignore[attr-defined]
    serving = threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    try:
        with FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}/mcp") as proxy:
            yield proxy
    finally:
        gate.set()
        upstream.shutdown()
        upstream.server_close()
        serving.join(5)
    assert not proxy_threads()


def test_chunked_answers_pass_through_piece_by_piece(chunked_proxy, gate):
    with exchange(chunked_proxy.port, "tools/call", {"name": "x"}) as (conn, answer):
        assert answer.getheader("Transfer-Encoding") == "chunked"
        assert answer.read1(65536) == CHUNKED_EVENTS[0]  # before the upstream sent the rest
        gate.set()
        assert answer.read() == b"".join(CHUNKED_EVENTS[1:])
        body, headers = modern_request("tools/call", {"name": "x"})
        conn.request("POST", "/mcp", body, headers)  # the same connection again
        assert conn.getresponse().read() == b"".join(CHUNKED_EVENTS)
    assert chunked_proxy.connections == 1


def test_drop_and_truncate_leave_a_chunked_body_unfinished(chunked_proxy, gate):
    gate.set()
    chunked_proxy.drop(mid_event=True, after_events=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        post(chunked_proxy.url, "tools/call", {"name": "x"})
    chunked_proxy.truncate(10)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        post(chunked_proxy.url, "tools/call", {"name": "x"})
    assert post(chunked_proxy.url, "tools/call", {"name": "x"}).content == b"".join(CHUNKED_EVENTS)


# --- drop, delay, trickle ---------------------------------------------------------------------


def test_a_dropped_legacy_call_raises_transport_error(proxy, client_for):
    client = client_for(LEGACY)
    fault = proxy.drop(method="tools/call")
    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("chatty", {"text": "x"})
    assert client.call_tool("chatty", {"text": "y"}).text == "y"
    calls = [r for r in proxy.requests if r.method == "tools/call"]
    assert [(r.fault, r.status) for r in calls] == [("drop", 200), (None, 200)]
    assert fault.applied == 1 and fault.remaining == 0


@pytest.mark.parametrize("mid_event", [False, True])
def test_drop_cuts_between_or_inside_events(proxy, gate, mid_event):
    gate.set()
    whole = post(proxy.url, "tools/call", {"name": "gated", "arguments": {}}).content
    first, second = events(whole)
    proxy.drop(mid_event=mid_event, after_events=1)
    with exchange(proxy.port, "tools/call", {"name": "gated", "arguments": {}}) as (_, answer):
        cut = answer.read()
    assert cut.startswith(first)
    assert cut[len(first) :] == (second[: len(second) // 2] if mid_event else b"")


def test_a_modern_call_is_issued_anew_once_after_a_drop(server, proxy, client_for):
    client = client_for(MODERN)
    proxy.drop(method="tools/call", after_events=1)
    assert client.call_tool("chatty", {"text": "again"}).text == "again"
    # The tool ran twice upstream: the first stream was cut after its log event.
    assert server.count("tools/call") == 2
    proxy.drop(method="tools/call", count=2)
    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("chatty", {"text": "lost"})


def test_a_dropped_json_answer_is_cut_before_its_status_line(proxy, client_for):
    client = client_for(LEGACY)
    proxy.drop(method="tools/list")
    with pytest.raises(mcp_sync.TransportError):
        client.list_tools(cache=False)
    [record] = [r for r in proxy.requests if r.fault == "drop"]
    assert record.status is None


def test_delay_holds_a_request_before_forwarding_it(server, proxy, client_for):
    client = client_for(LEGACY)
    proxy.delay(0.3, method="tools/call")
    started = time.monotonic()
    assert client.call_tool("add", {"a": 1, "b": 1}).text == "2"
    assert time.monotonic() - started >= 0.3
    proxy.delay(0.4, method="tools/call")
    before = server.count("tools/call")
    with pytest.raises(mcp_sync.RequestTimeout):
        client.call_tool("add", {"a": 1, "b": 1}, timeout=0.2)
    time.sleep(0.35)  # past the delay: the client left, so nothing was forwarded
    assert server.count("tools/call") == before
    delayed = [r.status for r in proxy.requests if r.fault == "delay"]
    assert delayed == [200, None]  # then the client said notifications/cancelled


def test_trickle_sends_the_same_body_slowly(proxy):
    whole = post(proxy.url, "server/discover").content
    proxy.trickle(64, 0.02)
    started = time.monotonic()
    slow = post(proxy.url, "server/discover").content
    assert slow == whole
    assert time.monotonic() - started >= (len(whole) - 1) // 64 * 0.02


# --- answers made by the proxy ----------------------------------------------------------------


def test_status_answers_without_the_upstream(server, proxy, client_for):
    client = client_for(LEGACY)
    seen = len(server.requests)
    proxy.status(503, retry_after=2, body="busy")
    answer = post(proxy.url, "tools/list")
    assert (answer.status_code, answer.headers["Retry-After"], answer.text) == (503, "2", "busy")
    proxy.status(500, body={"error": "boom"})
    answer = post(proxy.url, "tools/list")
    assert (answer.status_code, answer.json()) == (500, {"error": "boom"})
    proxy.status(503, retry_after=1, method="tools/call")
    with pytest.raises(mcp_sync.HTTPStatusError) as caught:
        client.call_tool("add", {"a": 1, "b": 1})
    assert caught.value.status == 503
    assert len(server.requests) == seen  # none of them reached the server
    assert [r.status for r in proxy.requests if r.fault == "status"] == [503, 500, 503]
    proxy.status(404, method="tools/call")  # the session is gone: the client starts another
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    assert server.count("initialize") == 2


def test_truncate_cuts_a_body_after_n_bytes(proxy):
    proxy.truncate(10)
    with exchange(proxy.port, "tools/list") as (_, answer):
        with pytest.raises(http.client.IncompleteRead) as caught:
            answer.read()  # Content-Length promised more
        assert len(caught.value.partial) == 10
    proxy.truncate(25)
    sse = post(proxy.url, "tools/call", {"name": "chatty", "arguments": {"text": "x"}})
    assert sse.content == b'event: message\ndata: {"js'  # a stream that ends with its connection


def test_a_truncated_json_answer_is_a_transport_error(proxy, client_for):
    client = client_for(LEGACY)
    proxy.truncate(10, method="tools/list")
    with pytest.raises(mcp_sync.TransportError):
        client.list_tools(cache=False)


# --- altered answers --------------------------------------------------------------------------


def test_inject_alters_a_json_answer(proxy, client_for):
    for kind in INJECT_KINDS:
        proxy.inject(kind, method="tools/list")
        raw = post(proxy.url, "tools/list")
        assert raw.headers["Content-Length"] == str(len(raw.content))
        if kind == "invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                raw.content.decode("utf-8")
        elif kind == "invalid_json":
            with pytest.raises(ValueError):
                json.loads(raw.content)
        else:
            body = json.loads(raw.content)
            if kind == "not_jsonrpc":
                assert "jsonrpc" not in body
            elif kind == "unknown_id":
                assert body["id"] != 1 and "result" in body
            else:
                assert isinstance(body, list) and body[0] == body[1]
    client = client_for(LEGACY)
    for kind in INJECT_KINDS:  # 2025-11-25 forbids batches, so a duplicate fails too
        proxy.inject(kind, method="tools/list")
        with pytest.raises(mcp_sync.ProtocolError):
            client.list_tools(cache=False)


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("invalid_utf8", mcp_sync.ProtocolError),
        ("invalid_json", mcp_sync.ProtocolError),
        ("not_jsonrpc", mcp_sync.ProtocolError),
        ("unknown_id", mcp_sync.TransportError),  # the stream ends unanswered
        ("duplicate", None),  # the second copy is ignored
    ],
)
def test_inject_into_an_sse_answer(proxy, client_for, kind, outcome):
    client = client_for(LEGACY)
    proxy.inject(kind, method="tools/call")
    if outcome is None:
        assert client.call_tool("chatty", {"text": "x"}).text == "x"
    else:
        with pytest.raises(outcome):
            client.call_tool("chatty", {"text": "x"})
    assert client.call_tool("chatty", {"text": "y"}).text == "y"


@pytest.mark.parametrize("version", [LEGACY, MODERN])
def test_a_stray_response_before_the_real_one_is_ignored(proxy, client_for, version):
    proxy.inject("unknown_id", keep_original=True, method="tools/call")
    raw = post(proxy.url, "tools/call", {"name": "chatty", "arguments": {"text": "x"}}).content
    log, stray, real = (data_of(block) for block in events(raw))
    assert log["method"] == "notifications/message"
    assert stray["id"] != real["id"] == 1 and stray["result"] == real["result"]
    client = client_for(version)
    proxy.inject("unknown_id", keep_original=True, method="tools/call")
    assert client.call_tool("chatty", {"text": "x"}).text == "x"


def test_hang_ends_in_a_request_timeout(proxy, client_for):
    client = client_for(LEGACY)
    for keepalive in (None, 0.1):  # comments do not count as an answer
        proxy.hang(keepalive, method="tools/call")
        started = time.monotonic()
        with pytest.raises(mcp_sync.RequestTimeout):
            client.call_tool("add", {"a": 1, "b": 1}, timeout=0.5)
        assert time.monotonic() - started < 1.5
    assert client.call_tool("add", {"a": 1, "b": 1}).text == "2"
    assert [r.status for r in proxy.requests if r.fault == "hang"] == [200, 200]


def test_hang_holds_the_stream_until_the_client_leaves(proxy):
    proxy.hang(0.05)
    with exchange(proxy.port, "tools/list") as (_, answer):
        assert (answer.status, answer.getheader("Content-Type")) == (200, "text/event-stream")
        assert answer.read1(65536).startswith(b":\n\n")
        assert len(proxy_threads()) == 2
    assert wait_for(lambda: len(proxy_threads()) == 1)  # only the accept thread is left


@pytest.mark.parametrize("response", [False, True])
def test_huge_event_has_the_size_asked_for(proxy, client_for, response):
    size = 1_000_000
    proxy.huge_event(size, response=response)
    raw = post(proxy.url, "tools/call", {"name": "chatty", "arguments": {"text": "x"}}).content
    blocks = events(raw)
    if response:
        assert [len(b) for b in blocks][-1] == size
        assert data_of(blocks[-1])["result"]["content"][0]["text"] == "x"
    else:
        assert len(blocks[0]) == size and len(blocks) == 3
        assert data_of(blocks[0])["method"] == "notifications/message"
    logs: list[Any] = []
    client = client_for(LEGACY, logging_handler=lambda m: logs.append(m.data))
    proxy.huge_event(size, response=response, method="tools/call")
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"  # a JSON answer made SSE
    if response:
        assert logs == []
    else:
        assert wait_for(lambda: len(logs) == 1)
        assert size - 200 < len(logs[0]) < size


@pytest.mark.parametrize("version", [LEGACY, MODERN])
def test_flood_sends_notifications_before_the_response(proxy, client_for, version):
    logs: list[Any] = []
    client = client_for(version, logging_handler=lambda m: logs.append(m.data))
    proxy.flood(200, method="tools/call")
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    assert wait_for(lambda: len(logs) == 200)
    assert logs == [f"flood {i}" for i in range(1, 201)]
    progress: list[float] = []
    proxy.flood(20, "progress", method="tools/call")
    result = client.call_tool(
        "chatty", {"text": "x"}, progress=lambda p, total, m: progress.append(p)
    )
    assert result.text == "x" and progress == list(range(1, 21))


# --- connections refused, restarts --------------------------------------------------------------


def test_refuse_resets_the_connection(proxy, client_for):
    proxy.refuse()
    with pytest.raises(requests.exceptions.ConnectionError):
        post(proxy.url, "tools/list")
    [record] = proxy.requests
    assert (record.fault, record.status) == ("refuse", None)
    client = client_for(LEGACY)
    proxy.refuse(method="tools/call")
    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("add", {"a": 1, "b": 2})
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"


def test_stop_and_start_keep_the_port(proxy, client_for):
    client = client_for(LEGACY)
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    port, session = proxy.port, client.session_id
    proxy.stop()
    assert not proxy_threads()
    started = time.monotonic()
    with pytest.raises(mcp_sync.TransportError):
        client.call_tool("add", {"a": 1, "b": 2})
    assert time.monotonic() - started < 1.0  # refused at once
    with pytest.raises(requests.exceptions.ConnectionError):
        post(proxy.url, "tools/list")
    proxy.start()
    assert proxy.port == port
    assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
    assert client.session_id == session  # the server never went away


def test_an_unreachable_upstream_gets_a_502():
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]  # nothing listens there once it is closed
    with FaultProxy(f"http://127.0.0.1:{port}/mcp") as proxy:
        answer = post(proxy.url, "tools/list")
        assert answer.status_code == 502
        assert proxy.requests[0].status == 502
    assert not proxy_threads()


# --- matching and counting --------------------------------------------------------------------


def test_count_limits_how_often_a_fault_applies(proxy):
    fault = proxy.status(500, count=2)
    assert [post(proxy.url, "tools/list").status_code for _ in range(3)] == [500, 500, 200]
    assert (fault.applied, fault.remaining, proxy.faults) == (2, 0, [])


def test_every_kth_matching_request(proxy):
    fault = proxy.status(503, every=3, count=None, method="tools/list")
    statuses = []
    for _ in range(9):
        statuses.append(post(proxy.url, "tools/list").status_code)
        post(proxy.url, "server/discover")  # matches nothing: does not count
    assert statuses == [200, 200, 503] * 3
    assert (fault.applied, fault.remaining) == (3, None)
    fault.disarm()
    assert [post(proxy.url, "tools/list").status_code for _ in range(3)] == [200] * 3


def test_faults_match_http_and_jsonrpc_methods(proxy):
    proxy.status(500, method="tools/list")
    proxy.status(502, http_method="GET")
    assert post(proxy.url, "server/discover").status_code == 200
    assert (
        requests.get(proxy.url, headers={"Accept": "text/event-stream"}, timeout=5).status_code
        == 502
    )
    assert post(proxy.url, "tools/list").status_code == 500
    any_request = proxy.status(418, http_method=None)
    assert requests.delete(proxy.url, timeout=5).status_code == 418
    assert any_request.applied == 1
    assert [(r.http_method, r.method, r.status) for r in proxy.requests] == [
        ("POST", "server/discover", 200),
        ("GET", None, 502),
        ("POST", "tools/list", 500),
        ("DELETE", None, 418),
    ]


def test_faults_apply_in_arming_order_and_reset_disarms_them(proxy):
    first = proxy.status(500)
    second = proxy.status(502, count=None)
    assert [post(proxy.url, "tools/list").status_code for _ in range(3)] == [500, 502, 502]
    assert (first.applied, second.applied) == (1, 2)
    proxy.reset()
    assert proxy.faults == [] and second.remaining == 0
    assert post(proxy.url, "tools/list").status_code == 200


def test_arming_rejects_bad_arguments(proxy):
    for arm in (
        lambda: proxy.drop(after_events=-1),
        lambda: proxy.delay(-1),
        lambda: proxy.trickle(0, 0.1),
        lambda: proxy.status(99),
        lambda: proxy.truncate(-1),
        lambda: proxy.inject("garbage"),
        lambda: proxy.hang(0),
        lambda: proxy.huge_event(10),
        lambda: proxy.flood(1, "gossip"),
        lambda: proxy.refuse(count=0),
        lambda: proxy.refuse(every=0),
    ):
        with pytest.raises(ValueError):
            arm()
    assert proxy.faults == []


# --- closing ----------------------------------------------------------------------------------


def test_close_joins_every_thread_even_mid_exchange(server):
    proxy = FaultProxy(server.url)
    proxy.hang(method="tools/list")
    proxy.delay(30, method="server/discover")
    failures: list[BaseException] = []

    def delayed() -> None:
        try:
            post(proxy.url, "server/discover")
        except requests.exceptions.RequestException as exc:
            failures.append(exc)

    caller = threading.Thread(target=delayed)
    # A connection with no request yet, one hanging answer, one delayed request.
    idle = socket.create_connection(("127.0.0.1", proxy.port))
    try:
        with exchange(proxy.port, "tools/list") as (_, answer):
            assert answer.status == 200
            caller.start()
            assert wait_for(lambda: len(proxy.requests) == 2 and len(proxy_threads()) == 4)
            started = time.monotonic()
            proxy.close()
            assert time.monotonic() - started < 2.0
            assert not proxy_threads()
    finally:
        proxy.close()
        idle.close()
    caller.join(5)
    assert len(failures) == 1
    with pytest.raises(RuntimeError):
        proxy.start()
    proxy.close()  # idempotent
