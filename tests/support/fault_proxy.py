"""A fault-injection HTTP proxy in front of an MCP server, for reliability tests.

::

    from support.fault_proxy import FaultProxy

    with MCPTestServer() as server, FaultProxy(server.url) as proxy:
        proxy.drop(method="tools/call", after_events=1)
        with mcp_sync.Client(proxy.url) as client:
            ...  # the next tools/call loses its stream after one event

``FaultProxy(upstream_url)`` listens on ``127.0.0.1`` (a free port unless ``port`` is
given) as soon as it is made, and forwards every request to the upstream server (plain
``http://`` only), one fresh upstream connection per request. ``proxy.url`` is the
upstream URL with the proxy's host and port. Answers stream through as they arrive:
a ``Content-Length`` body, a chunked one (re-chunked piece by piece, same bytes) or
one that ends with the connection (the proxy then closes the client's connection
too); client connections are kept alive otherwise. Each client connection has its own
daemon thread, ``mcp_sync-faultproxy-conn-<n>``; ``mcp_sync-faultproxy-accept``
accepts them. Standard library only.

Faults. Every arming method returns a :class:`Fault` (``applied``, ``remaining``,
``disarm()``) and takes the same matching keywords:

- ``method``: the JSON-RPC method of the request body (``"tools/call"``); None: any;
- ``http_method``: ``"POST"`` (the default), ``"GET"``, ``"DELETE"``; None: any;
- ``count``: how many requests it applies to (default 1; None: until disarmed);
- ``every``: apply to every ``every``-th matching request only (soak tests).

Faults are tried in the order they were armed; the first whose turn it is takes the
request, which then counts for no later fault. A fault is spent on the request it
took, whatever the answer turns out to be.

- ``drop(mid_event=False, after_events=0)``: pass ``after_events`` SSE events through
  (comments do not count), then cut the connection, between two events or halfway
  through the next one (``mid_event=True``). A non-SSE answer is cut before its status
  line, or halfway through its body with ``mid_event=True``.
- ``delay(seconds)``: hold the request this long before forwarding it (and forward
  nothing if the client left meanwhile).
- ``trickle(bytes_per_chunk, interval)``: send the answer's body in pieces of
  ``bytes_per_chunk`` bytes, ``interval`` seconds apart.
- ``status(code, retry_after=None, body=None, headers=None)``: answer ``code`` at once,
  without contacting the upstream (``body``: bytes, str, or JSON for a dict or list).
- ``truncate(after_bytes)``: cut the connection once ``after_bytes`` bytes of the body
  have gone through (the headers still announce the whole body).
- ``inject(kind, keep_original=False)``: alter the JSON-RPC response to the request,
  in a JSON body or in its SSE event (other events pass untouched). ``kind`` is one
  of :data:`INJECT_KINDS`: ``invalid_utf8`` (the response with bytes that are not
  UTF-8), ``invalid_json`` (its first half), ``not_jsonrpc`` (valid JSON, not a
  JSON-RPC message), ``unknown_id`` (the response with an id nobody asked for),
  ``duplicate`` (the response twice; a JSON body becomes a batch of both). On SSE,
  ``keep_original=True`` sends the real response after the altered one.
- ``hang(keepalive=None)``: answer 200 ``text/event-stream`` without contacting the
  upstream and never send an event (an SSE comment every ``keepalive`` seconds, if
  given), until the client disconnects or the proxy stops.
- ``huge_event(size, response=False)``: an SSE event of ``size`` bytes, a
  ``notifications/message`` before the response, or (``response=True``) the response
  itself padded in ``result._meta``.
- ``flood(n, kind="message")``: ``n`` notifications (``notifications/message``, or
  ``notifications/progress`` with ``kind="progress"``) before the response.
  ``huge_event`` and ``flood`` turn a JSON answer into an SSE stream when the client
  accepts one, and leave other answers alone.
- ``refuse()``: reset the connection (TCP RST) as soon as the request has arrived.

An upstream that cannot be reached, or that closes without answering, gets the client
a 502 from the proxy itself.

Lifecycle: ``stop()`` closes the listener (new connections are refused) and every open
connection, ``start()`` listens again on the same port, ``reset()`` disarms every
fault, ``close()`` stops for good and joins every thread the proxy started; the proxy
is also a context manager. ``requests`` lists what passed through, as
:class:`ProxiedRequest` records (HTTP method, path, JSON-RPC method, headers, the
status the proxy answered, the fault applied); ``connections`` counts the client
connections accepted.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import re
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, Optional, Union
from urllib.parse import urlsplit

__all__ = ["INJECT_KINDS", "Fault", "FaultProxy", "ProxiedRequest"]

log = logging.getLogger("tests.faultproxy")

#: What ``inject`` can do to a response.
INJECT_KINDS = ("invalid_utf8", "invalid_json", "not_jsonrpc", "unknown_id", "duplicate")

_THREAD_PREFIX = "mcp_sync-faultproxy"
_READ_SIZE = 65536
_MAX_HEAD = 64 * 1024  # bytes of a request or response head (start line and headers)
_MAX_BODY = 64 * 1024 * 1024
_CONNECT_TIMEOUT = 5.0
_JOIN_TIMEOUT = 5.0
_POLL = 0.25  # how often a hanging answer looks at the stop flag (seconds)
# Headers that belong to one connection, never forwarded (RFC 9110, section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Faults that read the answer's body, which must then not be compressed.
_READS_BODY = frozenset({"drop", "inject", "huge_event", "flood"})
_LINE_END = re.compile(rb"\r\n|\r|\n")
_NO_ID: Any = object()  # the request carried no JSON-RPC id


@dataclasses.dataclass
class ProxiedRequest:
    """One request that reached the proxy, for assertions in tests.

    The proxy's connection thread fills ``fault`` and ``status`` in under the proxy's
    lock; ``FaultProxy.requests`` hands out copies.
    """

    http_method: str
    path: str
    method: Optional[str]  # the JSON-RPC method of the body, if any
    headers: dict[str, str]  # as the client sent them, names in lower case
    fault: Optional[str] = None  # the kind of the fault that took it
    status: Optional[int] = None  # what the proxy answered; None: no status line (yet)


class Fault:
    """One armed fault. Its counters are guarded by the owning proxy's lock."""

    def __init__(
        self,
        proxy: FaultProxy,
        kind: str,
        options: dict[str, Any],
        method: Optional[str],
        http_method: Optional[str],
        count: Optional[int],
        every: int,
    ):
        if count is not None and count < 1:
            raise ValueError("count must be 1 or more, or None")
        if every < 1:
            raise ValueError("every must be 1 or more")
        # What it does and what it matches: set here, then only read (any thread).
        self.kind = kind
        self.options = options
        self.method = method
        self.http_method = http_method.upper() if http_method is not None else None
        self.every = every
        self._proxy = proxy
        # Counters under the proxy's _lock: the test's thread reads them, connection
        # threads count with them (FaultProxy._take).
        self._remaining = count  # None: until disarmed
        self._seen = 0  # matching requests so far, for ``every``
        self._applied = 0

    def _matches(self, http_method: str, method: Optional[str]) -> bool:
        if self.http_method is not None and self.http_method != http_method:
            return False
        return self.method is None or self.method == method

    @property
    def applied(self) -> int:
        """How many requests it took so far."""
        with self._proxy._lock:
            return self._applied

    @property
    def remaining(self) -> Optional[int]:
        """How many more requests it will take (None: no limit; 0: spent or disarmed)."""
        with self._proxy._lock:
            return self._remaining

    def disarm(self) -> None:
        with self._proxy._lock:
            self._remaining = 0
            if self in self._proxy._faults:
                self._proxy._faults.remove(self)

    def __repr__(self) -> str:
        return f"<Fault {self.kind} method={self.method!r} applied={self.applied}>"


class _Gone(Exception):
    """The client went away (or the proxy is stopping): drop the exchange."""


class _Broken(Exception):
    """The upstream's answer broke off, or made no sense as HTTP."""


class _Reader:
    """Buffered reads from one socket, for the one thread that serves its connection.

    With ``watch`` (the client's socket, while this reads the upstream's answer), a wait
    for data also notices the client going away, and raises :class:`_Gone`.
    """

    def __init__(self, sock: socket.socket, watch: Optional[socket.socket] = None):
        self.sock = sock
        self.watch = watch
        self.buf = bytearray()

    def _fill(self) -> bool:
        """Read more into the buffer; False at the end of the stream (or on an error)."""
        while self.watch is not None:
            try:
                readable, _, _ = select.select([self.sock, self.watch], [], [])
            except (OSError, ValueError):
                raise _Gone() from None
            if self.sock in readable:
                break
            try:
                peeked = self.watch.recv(1, socket.MSG_PEEK)
            except OSError:
                peeked = b""
            if not peeked:
                raise _Gone()
            self.watch = None  # the client sent more (a pipelined request): it is there
        try:
            data = self.sock.recv(_READ_SIZE)
        except OSError:
            return False
        self.buf += data
        return bool(data)

    def line(self) -> Optional[bytes]:
        """One line with its ending; None at the end of the stream."""
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                line = bytes(self.buf[: end + 1])
                del self.buf[: end + 1]
                return line
            start = len(self.buf)
            if start > _MAX_HEAD:
                raise _Broken("a line longer than any head")
            if not self._fill():
                return None

    def some(self, limit: int = _READ_SIZE) -> bytes:
        """Up to ``limit`` bytes, as soon as any are there; b"" at the end of the stream."""
        if not self.buf and not self._fill():
            return b""
        data = bytes(self.buf[:limit])
        del self.buf[:limit]
        return data

    def exact(self, size: int) -> bytes:
        parts = []
        while size > 0:
            data = self.some(min(size, _READ_SIZE))
            if not data:
                raise _Broken("the body ended early")
            parts.append(data)
            size -= len(data)
        return b"".join(parts)


Headers = list[tuple[str, str]]


def _header(headers: Headers, name: str) -> Optional[str]:
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _tokens(headers: Headers, name: str) -> set[str]:
    value = _header(headers, name) or ""
    return {t.strip().lower() for t in value.split(",") if t.strip()}


def _peer_gone(sock: socket.socket) -> bool:
    """Whether the peer closed its end (without waiting); pending data means it is there."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and not sock.recv(1, socket.MSG_PEEK)
    except (OSError, ValueError):
        return True


def _read_head(reader: _Reader) -> Optional[tuple[str, Headers]]:
    """A start line and its headers; None when the stream ends before one begins."""
    lines: list[bytes] = []
    size = 0
    while True:
        line = reader.line()
        if line is None:
            if lines:
                raise _Broken("the head broke off")
            return None
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # a stray line end before a request is allowed
            break
        size += len(line)
        if size > _MAX_HEAD:
            raise _Broken("the head is too large")
        lines.append(line)
    headers: Headers = []
    for raw in lines[1:]:
        name, sep, value = raw.decode("latin-1").rstrip("\r\n").partition(":")
        if not sep or not name.strip():
            raise _Broken(f"a malformed header line {raw[:40]!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0].decode("latin-1").rstrip("\r\n"), headers


def _chunked(reader: _Reader) -> Iterator[bytes]:
    """The data of a chunked body, as it arrives."""
    while True:
        line = reader.line()
        if line is None:
            raise _Broken("the chunked body broke off")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _Broken(f"a bad chunk size {line[:20]!r}") from None
        if size == 0:
            while True:  # trailers, which the proxy does not pass on
                line = reader.line()
                if line is None or not line.strip():
                    return
        while size > 0:
            data = reader.some(min(size, _READ_SIZE))
            if not data:
                raise _Broken("the chunked body broke off")
            size -= len(data)
            yield data
        if reader.line() is None:
            raise _Broken("the chunked body broke off")


class _Request:
    """A request read from a client, with what the proxy learnt from its body."""

    def __init__(self, http_method: str, target: str, version: str, headers: Headers, body: bytes):
        self.http_method = http_method
        self.target = target
        self.headers = headers
        self.body = body
        connection = _tokens(headers, "Connection")
        if version == "HTTP/1.1":
            self.keep_alive = "close" not in connection
        else:
            self.keep_alive = "keep-alive" in connection
        self.method: Optional[str] = None
        self.id: Any = _NO_ID
        self.progress_token: Any = None
        try:
            message = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            message = None
        if isinstance(message, dict):
            method = message.get("method")
            self.method = method if isinstance(method, str) else None
            self.id = message.get("id", _NO_ID)
            params = message.get("params")
            meta = params.get("_meta") if isinstance(params, dict) else None
            if isinstance(meta, dict):
                self.progress_token = meta.get("progressToken")

    def accepts_sse(self) -> bool:
        return "text/event-stream" in (_header(self.headers, "Accept") or "").lower()


class _Answer:
    """The upstream's answer: its head, and its body as an iterator of pieces."""

    def __init__(self, status: int, reason: str, headers: Headers, framing: str, length: int):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.framing = framing  # "length", "chunked", "close" or "none"
        self.length = length  # for "length"
        self.body: Iterator[bytes] = iter(())

    @property
    def content_type(self) -> str:
        return (_header(self.headers, "Content-Type") or "").split(";", 1)[0].strip().lower()

    def read_all(self) -> bytes:
        parts = []
        size = 0
        for piece in self.body:
            parts.append(piece)
            size += len(piece)
            if size > _MAX_BODY:
                raise _Broken("the body is too large to alter")
        return b"".join(parts)


# --- SSE and JSON-RPC helpers ---------------------------------------------------------------


class _EventSplitter:
    """Cuts an SSE byte stream into whole event blocks, each with its blank line."""

    def __init__(self) -> None:
        self.rest = bytearray()
        self._scan = 0  # where the last unfinished line of ``rest`` starts

    def feed(self, data: bytes) -> list[bytes]:
        self.rest += data
        blocks = []
        block_start = 0
        line_start = self._scan
        for match in _LINE_END.finditer(self.rest, self._scan):
            if match.group() == b"\r" and match.end() == len(self.rest):
                break  # a CR at the end may be half of a CRLF: wait for the next byte
            if match.start() == line_start:  # a blank line ends the block
                blocks.append(bytes(self.rest[block_start : match.end()]))
                block_start = match.end()
            line_start = match.end()
        del self.rest[:block_start]
        self._scan = line_start - block_start
        return blocks


def _field_lines(block: bytes) -> list[bytes]:
    return [line for line in _LINE_END.split(block) if line]


def _event_data(block: bytes) -> Optional[bytes]:
    """The data of an event block (None: it carries none, a comment or a retry hint)."""
    data = None
    for line in _field_lines(block):
        name, _, value = line.partition(b":")
        if name == b"data":
            value = value[1:] if value.startswith(b" ") else value
            data = value if data is None else data + b"\n" + value
    return data


def _with_data(block: bytes, payload: bytes) -> bytes:
    """``block`` (its id and event fields kept) carrying ``payload`` as its data."""
    lines = [line for line in _field_lines(block) if line.partition(b":")[0] not in (b"data", b"")]
    lines += [b"data: " + part for part in _LINE_END.split(payload)]
    return b"\n".join(lines) + b"\n\n"


def _event(payload: bytes) -> bytes:
    return _with_data(b"event: message\n\n", payload)


def _encode(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _response_in(payload: Optional[bytes], request_id: Any) -> Optional[dict[str, Any]]:
    """The JSON-RPC response to ``request_id`` that ``payload`` holds, if it holds one."""
    if payload is None:
        return None
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if (
        not isinstance(message, dict)
        or "method" in message
        or "id" not in message
        or ("result" not in message and "error" not in message)
    ):
        return None
    if request_id is not _NO_ID and message["id"] != request_id:
        return None
    return message


def _unknown_id(request_id: Any) -> Any:
    if isinstance(request_id, int) and not isinstance(request_id, bool):
        return request_id + 1_000_000
    return f"{request_id}-faultproxy-unknown"


def _bad_payload(kind: str, response: dict[str, Any]) -> bytes:
    real = _encode(response)
    if kind == "invalid_utf8":
        # The response still, with one string member whose bytes are not UTF-8.
        return b'{"faultproxy":"\xff\xfe\xfd",' + real[1:]
    if kind == "invalid_json":
        return real[: len(real) // 2]
    if kind == "not_jsonrpc":
        return _encode({"faultproxy": "valid JSON, not JSON-RPC", "ok": True})
    if kind == "unknown_id":
        return _encode({**response, "id": _unknown_id(response.get("id"))})
    return _encode([response, response])  # "duplicate" in a JSON body: a batch of both


def _notification(kind: str, number: int, total: int, token: Any, data: Any) -> dict[str, Any]:
    if kind == "progress":
        params: dict[str, Any] = {
            "progressToken": token if token is not None else "faultproxy",
            "progress": number,
            "total": total,
        }
        return {"jsonrpc": "2.0", "method": "notifications/progress", "params": params}
    params = {"level": "info", "logger": "faultproxy", "data": data}
    return {"jsonrpc": "2.0", "method": "notifications/message", "params": params}


def _huge_notification(size: int) -> bytes:
    """A ``notifications/message`` event of exactly ``size`` bytes."""
    padding = size - len(_event(_encode(_notification("message", 0, 0, None, ""))))
    if padding < 0:
        raise ValueError(f"an event cannot be smaller than {size - padding} bytes")
    return _event(_encode(_notification("message", 0, 0, None, "x" * padding)))


def _padded(block: bytes, response: dict[str, Any], size: int) -> bytes:
    """``block`` carrying ``response`` padded so that the block is ``size`` bytes (at least
    its size unpadded)."""

    def build(padding: str) -> bytes:
        message = dict(response)
        if isinstance(message.get("result"), dict):
            result = dict(message["result"])
            meta = result.get("_meta")
            result["_meta"] = {
                **(meta if isinstance(meta, dict) else {}),
                "faultproxy/padding": padding,
            }
            message["result"] = result
        else:
            message["faultproxy_padding"] = padding
        return _with_data(block, _encode(message))

    return build("x" * max(0, size - len(build(""))))


# --- the proxy ------------------------------------------------------------------------------


class FaultProxy:
    """An HTTP proxy on ``127.0.0.1`` in front of ``upstream_url``, with faults to arm.

    Listening starts at once; see the module's documentation for the faults.
    """

    def __init__(self, upstream_url: str, *, host: str = "127.0.0.1", port: int = 0):
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the upstream must be an http:// URL, not {upstream_url!r}")
        self.upstream_url = upstream_url
        self._upstream = (parts.hostname, parts.port or 80)
        self._upstream_host = parts.netloc
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._host = host
        # The port: 0 until the first start() binds one, which later starts bind again.
        # Written by start() under _life_lock; read by any thread.
        self._port = port
        # Guards the fields below up to _accepted, and the Fault counters and the
        # ProxiedRequest fields. Test thread (arming, records, stop), accept and
        # connection threads. Never held across I/O.
        self._lock = threading.Lock()
        self._faults: list[Fault] = []  # armed, in the order they are tried
        self._records: list[ProxiedRequest] = []  # every request so far
        self._threads: list[threading.Thread] = []  # started and not yet seen dead
        self._sockets: set[socket.socket] = set()  # open client and upstream sockets
        self._accepted = 0  # client connections accepted so far
        # Numbers the connection threads; the accept thread alone draws from it.
        self._numbers = itertools.count(1)
        # Serialises start(), stop() and close(), held across each; the test's thread.
        self._life_lock = threading.Lock()
        # The listening state below: written under _life_lock by the test's thread; the
        # accept thread gets the listener and the waker as arguments instead.
        self._listener: Optional[socket.socket] = None
        self._waker: Optional[tuple[socket.socket, socket.socket]] = None  # wakes accept
        self._accept_thread: Optional[threading.Thread] = None
        self._closed = False
        # Set while stopping and stopped: wakes delays, trickles and hangs at once. Set
        # and cleared by the test's thread under _life_lock; read by connection threads.
        self._stopping = threading.Event()
        self.start()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Listen (again) on the proxy's port; idempotent while listening."""
        with self._life_lock:
            if self._closed:
                raise RuntimeError("the proxy is closed")
            if self._listener is not None:
                return self
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # The same port again after stop(), while old connections sit in TIME_WAIT.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((self._host, self._port))
                listener.listen(64)
            except OSError:
                listener.close()
                raise
            self._port = listener.getsockname()[1]
            self._stopping.clear()
            waker = socket.socketpair()
            thread = threading.Thread(
                target=self._accept_loop,
                args=(listener, waker[0]),
                name=f"{_THREAD_PREFIX}-accept",
                daemon=True,
            )
            with self._lock:
                self._threads.append(thread)
            self._listener, self._waker = listener, waker
            self._accept_thread = thread
            thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused) and cut every open connection;
        joins the proxy's threads. Armed faults stay armed. Idempotent."""
        with self._life_lock:
            self._stop()

    def _stop(self) -> None:
        listener, waker = self._listener, self._waker
        if listener is None or waker is None:
            return
        self._stopping.set()
        try:
            waker[1].send(b"x")
        except OSError:
            pass
        if self._accept_thread is not None:
            self._accept_thread.join(_JOIN_TIMEOUT)  # no new connection after this
        listener.close()
        for end in waker:
            end.close()
        self._listener = self._waker = self._accept_thread = None
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked on it
            except OSError:
                pass
        for thread in threads:
            thread.join(_JOIN_TIMEOUT)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
        if any(t.is_alive() for t in threads):
            log.warning("faultproxy: threads still alive after stop: %s", threads)

    def close(self) -> None:
        """Stop for good: close every socket and join every thread. Idempotent."""
        with self._life_lock:
            self._stop()
            self._closed = True

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The upstream's URL with the proxy's host and port."""
        return f"http://{self._host}:{self._port}{self._path}"

    def __repr__(self) -> str:
        return f"<FaultProxy {self.url} -> {self.upstream_url}>"

    # --- faults -------------------------------------------------------------------------------

    def _arm(
        self,
        kind: str,
        options: dict[str, Any],
        method: Optional[str],
        http_method: Optional[str],
        count: Optional[int],
        every: int,
    ) -> Fault:
        fault = Fault(self, kind, options, method, http_method, count, every)
        with self._lock:
            self._faults.append(fault)
        return fault

    def drop(
        self,
        *,
        mid_event: bool = False,
        after_events: int = 0,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Cut the answer's connection after ``after_events`` SSE events (see the module)."""
        if after_events < 0:
            raise ValueError("after_events must be 0 or more")
        options = {"mid_event": mid_event, "after_events": after_events}
        return self._arm("drop", options, method, http_method, count, every)

    def delay(
        self,
        seconds: float,
        *,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Hold the request ``seconds`` before forwarding it."""
        if seconds < 0:
            raise ValueError("seconds must be 0 or more")
        return self._arm("delay", {"seconds": seconds}, method, http_method, count, every)

    def trickle(
        self,
        bytes_per_chunk: int,
        interval: float,
        *,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Send the answer's body ``bytes_per_chunk`` bytes at a time, ``interval`` s apart."""
        if bytes_per_chunk < 1 or interval < 0:
            raise ValueError("bytes_per_chunk must be 1 or more and interval 0 or more")
        options = {"bytes_per_chunk": bytes_per_chunk, "interval": interval}
        return self._arm("trickle", options, method, http_method, count, every)

    def status(
        self,
        code: int,
        retry_after: Union[int, float, str, None] = None,
        body: Union[bytes, str, dict[str, Any], list[Any], None] = None,
        headers: Optional[dict[str, str]] = None,
        *,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Answer ``code`` (with ``Retry-After`` and ``body``, if given) without the upstream."""
        if not 100 <= code <= 599:
            raise ValueError("code must be an HTTP status")
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = (
                str(int(retry_after)) if isinstance(retry_after, float) else str(retry_after)
            )
        if body is None:
            data, content_type = b"", None
        elif isinstance(body, bytes):
            data, content_type = body, "application/octet-stream"
        elif isinstance(body, str):
            data, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data, content_type = _encode(body), "application/json"
        if content_type is not None and not any(k.lower() == "content-type" for k in extra):
            extra["Content-Type"] = content_type
        options = {"code": code, "body": data, "headers": list(extra.items())}
        return self._arm("status", options, method, http_method, count, every)

    def truncate(
        self,
        after_bytes: int,
        *,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Cut the connection once ``after_bytes`` bytes of the answer's body went through."""
        if after_bytes < 0:
            raise ValueError("after_bytes must be 0 or more")
        return self._arm(
            "truncate", {"after_bytes": after_bytes}, method, http_method, count, every
        )

    def inject(
        self,
        kind: str,
        *,
        keep_original: bool = False,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Alter the JSON-RPC response to the request, as ``kind`` says (see the module)."""
        if kind not in INJECT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(INJECT_KINDS)}")
        options = {"kind": kind, "keep_original": keep_original}
        return self._arm("inject", options, method, http_method, count, every)

    def hang(
        self,
        keepalive: Optional[float] = None,
        *,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Answer 200 ``text/event-stream`` and never send an event (see the module)."""
        if keepalive is not None and keepalive <= 0:
            raise ValueError("keepalive must be positive, or None")
        return self._arm("hang", {"keepalive": keepalive}, method, http_method, count, every)

    def huge_event(
        self,
        size: int,
        *,
        response: bool = False,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Send an SSE event of ``size`` bytes: a notification first, or the response."""
        if size < 1:
            raise ValueError("size must be 1 or more")
        note = None if response else _huge_notification(size)  # checks the size too
        options = {"size": size, "response": response, "note": note}
        return self._arm("huge_event", options, method, http_method, count, every)

    def flood(
        self,
        n: int,
        kind: str = "message",
        *,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Send ``n`` notifications (``kind``: "message" or "progress") before the response."""
        if n < 0 or kind not in ("message", "progress"):
            raise ValueError('n must be 0 or more and kind "message" or "progress"')
        return self._arm("flood", {"n": n, "kind": kind}, method, http_method, count, every)

    def refuse(
        self,
        *,
        method: Optional[str] = None,
        http_method: Optional[str] = "POST",
        count: Optional[int] = 1,
        every: int = 1,
    ) -> Fault:
        """Reset the connection (TCP RST) as soon as the request has arrived."""
        return self._arm("refuse", {}, method, http_method, count, every)

    def reset(self) -> None:
        """Disarm every fault."""
        with self._lock:
            for fault in self._faults:
                fault._remaining = 0
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """The armed faults, in the order they are tried."""
        with self._lock:
            return list(self._faults)

    @property
    def connections(self) -> int:
        """How many client connections the proxy accepted so far (keep-alive reuses one)."""
        with self._lock:
            return self._accepted

    @property
    def requests(self) -> list[ProxiedRequest]:
        """Every request that reached the proxy, oldest first (copies)."""
        with self._lock:
            return [dataclasses.replace(r, headers=dict(r.headers)) for r in self._records]

    def take_requests(self) -> list[ProxiedRequest]:
        """Every request since the last call, and forget them (for long runs)."""
        with self._lock:
            taken, self._records = self._records, []
        return taken

    def _take(self, request: _Request) -> tuple[Optional[Fault], ProxiedRequest]:
        """The fault whose turn it is for ``request`` (spending one use), and its record."""
        path = urlsplit(request.target).path or request.target
        headers = {k.lower(): v for k, v in request.headers}
        record = ProxiedRequest(request.http_method, path, request.method, headers)
        with self._lock:
            self._records.append(record)
            for fault in self._faults:
                if not fault._matches(request.http_method, request.method):
                    continue
                fault._seen += 1
                if fault._seen % fault.every:
                    continue
                fault._applied += 1
                if fault._remaining is not None:
                    fault._remaining -= 1
                    if fault._remaining == 0:
                        self._faults.remove(fault)
                record.fault = fault.kind
                return fault, record
        return None, record

    def _set_status(self, record: ProxiedRequest, status: int) -> None:
        with self._lock:
            record.status = status

    # --- connections --------------------------------------------------------------------------

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            self._sockets.add(sock)
            return True

    def _untrack_and_close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        try:
            sock.close()
        except OSError:
            pass

    def _accept_loop(self, listener: socket.socket, waker: socket.socket) -> None:
        while True:
            try:
                readable, _, _ = select.select([listener, waker], [], [])
                if waker in readable:
                    return
                sock, _ = listener.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # events go out at once
            thread = threading.Thread(
                target=self._serve,
                args=(sock,),
                name=f"{_THREAD_PREFIX}-conn-{next(self._numbers)}",
                daemon=True,
            )
            with self._lock:
                if self._stopping.is_set():
                    sock.close()
                    return
                self._sockets.add(sock)
                self._accepted += 1
                # Forget finished threads, so a soak test does not grow the list forever.
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        """Serve one client connection's requests, one after another (its own thread)."""
        reader = _Reader(sock)
        try:
            while not self._stopping.is_set():
                request = self._read_request(reader)
                if request is None or not self._exchange(sock, request):
                    break
        except (_Gone, _Broken, OSError):
            pass
        except Exception:
            log.exception("faultproxy: connection failed")
        finally:
            self._untrack_and_close(sock)

    def _read_request(self, reader: _Reader) -> Optional[_Request]:
        head = _read_head(reader)
        if head is None:
            return None
        start, headers = head
        parts = start.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _Broken(f"a malformed request line {start[:60]!r}")
        if "chunked" in _tokens(headers, "Transfer-Encoding"):
            body = b"".join(_chunked(reader))
        else:
            length = _header(headers, "Content-Length")
            try:
                size = int(length) if length is not None else 0
            except ValueError:
                raise _Broken("a bad Content-Length") from None
            if not 0 <= size <= _MAX_BODY:
                raise _Broken("a bad Content-Length")
            body = reader.exact(size)
        return _Request(parts[0].upper(), parts[1], parts[2], headers, body)

    def _exchange(self, client: socket.socket, request: _Request) -> bool:
        """Answer one request; whether the client's connection may carry another."""
        fault, record = self._take(request)
        kind = fault.kind if fault is not None else None
        options = fault.options if fault is not None else {}
        try:
            if kind == "refuse":
                # SO_LINGER 0: close() sends RST instead of FIN, a reset connection.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                return False
            if kind == "status":
                return self._answer(
                    client, request, record, options["code"], options["body"], options["headers"]
                )
            if kind == "hang":
                self._hang(client, record, options["keepalive"])
                return False
            # A proxy forwards nothing for a client that gave up meanwhile.
            if kind == "delay" and (self._stopping.wait(options["seconds"]) or _peer_gone(client)):
                return False
            return self._relay(client, request, record, kind, options)
        except _Gone:
            return False

    # --- writing to the client ----------------------------------------------------------------

    def _send(self, client: socket.socket, data: bytes) -> None:
        try:
            client.sendall(data)
        except OSError:
            raise _Gone() from None

    def _send_head(
        self,
        client: socket.socket,
        record: ProxiedRequest,
        status: int,
        reason: str,
        headers: Headers,
        framing: str,
        length: int = 0,
        close: bool = False,
    ) -> None:
        lines = [f"HTTP/1.1 {status} {reason}".rstrip()]
        for name, value in headers:
            lowered = name.lower()
            if lowered in _HOP_BY_HOP or (lowered == "content-length" and framing != "none"):
                continue
            lines.append(f"{name}: {value}")
        if framing == "length":
            lines.append(f"Content-Length: {length}")
        elif framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        if close or framing == "close":
            lines.append("Connection: close")
        self._set_status(record, status)
        self._send(client, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _write(self, client: socket.socket, framing: str, data: bytes) -> None:
        if not data:
            return  # an empty chunk would end a chunked body
        if framing == "chunked":
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self._send(client, data)

    def _finish(self, client: socket.socket, request: _Request, framing: str) -> bool:
        """End a body cleanly; whether the connection may carry another request."""
        if framing == "chunked":
            self._send(client, b"0\r\n\r\n")
        return request.keep_alive and framing != "close"

    def _answer(
        self,
        client: socket.socket,
        request: _Request,
        record: ProxiedRequest,
        code: int,
        body: bytes,
        headers: Headers,
    ) -> bool:
        """A whole answer made by the proxy itself."""
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = ""
        close = not request.keep_alive
        self._send_head(client, record, code, reason, headers, "length", len(body), close)
        self._send(client, body)
        return not close

    def _hang(
        self, client: socket.socket, record: ProxiedRequest, keepalive: Optional[float]
    ) -> None:
        headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
        self._send_head(client, record, 200, "OK", headers, "close")
        next_comment = None if keepalive is None else time.monotonic() + keepalive
        while not self._stopping.is_set():
            pause = _POLL
            if next_comment is not None:
                pause = max(0.0, min(pause, next_comment - time.monotonic()))
            try:
                readable, _, _ = select.select([client], [], [], pause)
                if readable and not client.recv(_READ_SIZE):
                    return  # the client gave up (whatever else it sends is ignored)
            except (OSError, ValueError):
                return
            if next_comment is not None and time.monotonic() >= next_comment:
                self._send(client, b":\n\n")
                next_comment += keepalive

    # --- relaying -----------------------------------------------------------------------------

    def _upstream_request(self, request: _Request, identity: bool) -> bytes:
        skip = _HOP_BY_HOP | _tokens(request.headers, "Connection") | {"host", "content-length"}
        if identity:
            skip |= {"accept-encoding"}
        lines = [f"{request.http_method} {request.target} HTTP/1.1", f"Host: {self._upstream_host}"]
        lines += [f"{k}: {v}" for k, v in request.headers if k.lower() not in skip]
        if identity:
            lines.append("Accept-Encoding: identity")  # a body the proxy reads is plain
        if request.body or request.http_method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(request.body)}")
        lines.append("Connection: close")  # one upstream connection per request
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body

    def _read_answer(self, reader: _Reader, request: _Request) -> Optional[_Answer]:
        while True:
            head = _read_head(reader)
            if head is None:
                return None
            start, headers = head
            parts = start.split(" ", 2)
            try:
                status = int(parts[1])
            except (IndexError, ValueError):
                raise _Broken(f"a malformed status line {start[:60]!r}") from None
            if 100 <= status < 200:
                continue  # an interim answer (100 Continue): the real one follows
            break
        reason = parts[2] if len(parts) > 2 else ""
        if request.http_method == "HEAD" or status in (204, 304):
            return _Answer(status, reason, headers, "none", 0)
        if "chunked" in _tokens(headers, "Transfer-Encoding"):
            answer = _Answer(status, reason, headers, "chunked", 0)
            answer.body = _chunked(reader)
            return answer
        length = _header(headers, "Content-Length")
        if length is None:
            answer = _Answer(status, reason, headers, "close", 0)
            answer.body = iter(lambda: reader.some(), b"")
            return answer
        try:
            size = int(length)
        except ValueError:
            raise _Broken("a bad Content-Length") from None
        answer = _Answer(status, reason, headers, "length", size)

        def body() -> Iterator[bytes]:
            left = size
            while left > 0:
                data = reader.some(min(left, _READ_SIZE))
                if not data:
                    raise _Broken("the body ended early")
                left -= len(data)
                yield data

        answer.body = body()
        return answer

    def _relay(
        self,
        client: socket.socket,
        request: _Request,
        record: ProxiedRequest,
        kind: Optional[str],
        options: dict[str, Any],
    ) -> bool:
        """Forward the request upstream and its answer back, as the fault says."""
        try:
            upstream = socket.create_connection(self._upstream, timeout=_CONNECT_TIMEOUT)
        except OSError:
            message = b"fault proxy: the upstream server is unreachable"
            headers = [("Content-Type", "text/plain; charset=utf-8")]
            return self._answer(client, request, record, 502, message, headers)
        if not self._track(upstream):
            upstream.close()
            return False
        try:
            upstream.settimeout(None)  # a stream may stay quiet; stop() shuts it down
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                upstream.sendall(self._upstream_request(request, kind in _READS_BODY))
            except OSError:
                pass  # the upstream may have answered already and closed: read on
            try:
                answer = self._read_answer(_Reader(upstream, watch=client), request)
            except _Broken:
                answer = None
            if answer is None:
                message = b"fault proxy: the upstream server closed without answering"
                headers = [("Content-Type", "text/plain; charset=utf-8")]
                return self._answer(client, request, record, 502, message, headers)
            try:
                return self._respond(client, request, record, answer, kind, options)
            except _Broken:
                return False  # cut the client's connection as the upstream's broke
        finally:
            self._untrack_and_close(upstream)

    def _respond(
        self,
        client: socket.socket,
        request: _Request,
        record: ProxiedRequest,
        answer: _Answer,
        kind: Optional[str],
        options: dict[str, Any],
    ) -> bool:
        sse = answer.content_type == "text/event-stream"
        if kind == "drop":
            return self._drop(client, record, answer, sse, **options)
        if kind == "inject":
            return self._inject(client, request, record, answer, sse, **options)
        if kind in ("flood", "huge_event"):
            return self._prepend(client, request, record, answer, sse, kind, options)
        framing = answer.framing
        self._send_head(
            client, record, answer.status, answer.reason, answer.headers, framing, answer.length
        )
        limit = options["after_bytes"] if kind == "truncate" else None
        step = options["bytes_per_chunk"] if kind == "trickle" else None
        sent = 0
        for piece in answer.body:
            if limit is not None and sent + len(piece) > limit:
                self._write(client, framing, piece[: limit - sent])
                return False  # the cut: no clean end of the body
            if step is None:
                self._write(client, framing, piece)
            else:
                for start in range(0, len(piece), step):
                    if sent + start and self._stopping.wait(options["interval"]):
                        return False
                    self._write(client, framing, piece[start : start + step])
            sent += len(piece)
        return self._finish(client, request, framing)

    def _drop(
        self,
        client: socket.socket,
        record: ProxiedRequest,
        answer: _Answer,
        sse: bool,
        mid_event: bool,
        after_events: int,
    ) -> bool:
        framing = answer.framing
        if not sse:
            if not mid_event:
                return False  # gone before the status line
            body = answer.read_all()
            head = (answer.status, answer.reason, answer.headers, framing, len(body))
            self._send_head(client, record, *head)
            self._write(client, framing, body[: len(body) // 2])
            return False
        self._send_head(
            client, record, answer.status, answer.reason, answer.headers, framing, answer.length
        )
        splitter = _EventSplitter()
        events = 0
        for piece in answer.body:
            for block in splitter.feed(piece):
                if _event_data(block) is not None:
                    if events >= after_events:
                        if mid_event:
                            self._write(client, framing, block[: max(1, len(block) // 2)])
                        return False
                    events += 1
                self._write(client, framing, block)
        self._write(client, framing, bytes(splitter.rest))
        return False  # the stream ended before the drop point; it still ends uncleanly

    def _inject(
        self,
        client: socket.socket,
        request: _Request,
        record: ProxiedRequest,
        answer: _Answer,
        sse: bool,
        kind: str,
        keep_original: bool,
    ) -> bool:
        framing = answer.framing
        if not sse:
            body = answer.read_all()
            response = (
                _response_in(body, request.id)
                if answer.content_type == "application/json"
                else None
            )
            if response is not None:
                body = _bad_payload(kind, response)
            head = (answer.status, answer.reason, answer.headers, framing, len(body))
            self._send_head(client, record, *head)
            self._write(client, framing, body)
            return self._finish(client, request, framing)
        self._send_head(
            client, record, answer.status, answer.reason, answer.headers, framing, answer.length
        )
        splitter = _EventSplitter()
        done = False
        for piece in answer.body:
            for block in splitter.feed(piece):
                response = None if done else _response_in(_event_data(block), request.id)
                if response is None:
                    self._write(client, framing, block)
                    continue
                done = True
                if kind == "duplicate":
                    self._write(client, framing, block + block)
                    continue
                self._write(client, framing, _with_data(block, _bad_payload(kind, response)))
                if keep_original:
                    self._write(client, framing, block)
        self._write(client, framing, bytes(splitter.rest))
        return self._finish(client, request, framing)

    def _prepend(
        self,
        client: socket.socket,
        request: _Request,
        record: ProxiedRequest,
        answer: _Answer,
        sse: bool,
        kind: str,
        options: dict[str, Any],
    ) -> bool:
        """``flood`` and ``huge_event``: events before the response, or a padded response."""
        if kind == "flood":
            n, what = options["n"], options["kind"]
            notes = [
                _event(_encode(_notification(what, i, n, request.progress_token, f"flood {i}")))
                for i in range(1, n + 1)
            ]
            pad = None
        else:
            notes = [] if options["response"] else [options["note"]]
            pad = options["size"] if options["response"] else None
        framing = answer.framing
        if sse:
            self._send_head(
                client, record, answer.status, answer.reason, answer.headers, framing, answer.length
            )
            self._write(client, framing, b"".join(notes))
            if pad is None:
                for piece in answer.body:
                    self._write(client, framing, piece)
                return self._finish(client, request, framing)
            splitter = _EventSplitter()
            done = False
            for piece in answer.body:
                for block in splitter.feed(piece):
                    response = None if done else _response_in(_event_data(block), request.id)
                    if response is not None:
                        done = True
                        block = _padded(block, response, pad)
                    self._write(client, framing, block)
            self._write(client, framing, bytes(splitter.rest))
            return self._finish(client, request, framing)
        body = answer.read_all()
        response = None
        if 200 <= answer.status < 300 and answer.content_type == "application/json":
            response = _response_in(body, request.id)
        if response is None or not request.accepts_sse():
            self._send_head(
                client, record, answer.status, answer.reason, answer.headers, framing, len(body)
            )
            self._write(client, framing, body)
            return self._finish(client, request, framing)
        # A JSON answer turned into the SSE stream a server may send instead.
        headers = [
            (k, v) for k, v in answer.headers if k.lower() not in ("content-type", "content-length")
        ]
        headers += [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
        self._send_head(client, record, answer.status, answer.reason, headers, "chunked")
        event = _event(_encode(response))
        if pad is not None:
            event = _padded(event, response, pad)
        self._write(client, "chunked", b"".join(notes) + event)
        return self._finish(client, request, "chunked")
