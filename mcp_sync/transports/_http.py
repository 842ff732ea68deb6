"""What the HTTP transports share: reading bodies and streams, breaking reads, timeouts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional

import requests
import urllib3

from ..engine import Call, CallInterrupted, StreamTimeout, sending
from ..errors import TransportError

if TYPE_CHECKING:
    from requests.auth import AuthBase

JSON = "application/json"
EVENT_STREAM = "text/event-stream"
VERSION_HEADER = "MCP-Protocol-Version"

# Reconnect delay when a stream broke and the server gave no ``retry`` field (seconds).
DEFAULT_RETRY = 1.0
READ_SIZE = 65536

URLLIB3_ERRORS = (urllib3.exceptions.HTTPError,)
TIMEOUT_ERRORS = (
    requests.exceptions.Timeout,
    urllib3.exceptions.TimeoutError,
    socket.timeout,
)


def never_connected(error: BaseException) -> bool:
    """Whether ``error`` says the connection was never made (refused, unreachable, no
    such host, connect timeout), so the request cannot have reached the server."""
    exc: Optional[BaseException] = error
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(
            exc,
            (
                urllib3.exceptions.NewConnectionError,
                urllib3.exceptions.ConnectTimeoutError,
                requests.exceptions.ConnectTimeout,
            ),
        ):
            return True
        nested = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        reason = getattr(exc, "reason", None)
        exc = nested or (reason if isinstance(reason, BaseException) else None) or exc.__cause__
        seen += 1
    return False


def is_timeout(error: BaseException) -> bool:
    exc: Optional[BaseException] = error
    while exc is not None:
        if isinstance(exc, urllib3.exceptions.NewConnectionError):
            return False  # a refused connection; urllib3 files it under connect timeouts
        if isinstance(exc, TIMEOUT_ERRORS):
            return True
        if exc.args and isinstance(exc.args[0], BaseException) and exc.args[0] is not exc:
            exc = exc.args[0]
            continue
        exc = exc.__cause__ or exc.__context__
    return False


def abort_response(response: requests.Response) -> None:
    """Break a read blocked on ``response`` from another thread."""
    raw = response.raw
    shutdown = getattr(raw, "shutdown", None)  # urllib3 2.3+
    if shutdown is not None:
        try:
            shutdown()
            return
        except Exception:
            pass
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        # urllib3 1.26 may not keep the connection on the response: reach the socket
        # through http.client's response (its file is a SocketIO over the socket).
        reader = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    response.close()


def chunks(response: requests.Response, check: Optional[Callable[[], None]]) -> Iterator[bytes]:
    """Yield the body as it arrives, each piece as soon as the server sent it."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None and not response.headers.get("Content-Encoding"):
        # urllib3 before 2.2 has no read1, and its read() waits for the whole body on a
        # response without chunked framing; the underlying file's read1 does not.
        fp_read1 = getattr(getattr(raw, "_fp", None), "read1", None)
        if fp_read1 is not None:

            def read1(size: int, decode_content: bool = True) -> bytes:
                return fp_read1(size)  # type: ignore[no-any-return]

    if read1 is not None and not getattr(raw, "chunked", False):
        # Without chunked framing iter_content holds events back; read1 (urllib3 2.2+) does not.
        while True:
            chunk = read1(READ_SIZE, decode_content=True)
            if not chunk:
                return
            if check is not None:
                check()
            yield chunk
    else:
        for chunk in response.iter_content(chunk_size=None):
            if check is not None:
                check()
            if chunk:
                yield chunk


# Error bodies are read only this far: enough for an excerpt and a JSON-RPC error.
ERROR_BODY_LIMIT = 8192
# The longest reconnect delay a server's ``retry`` field may ask for (seconds).
MAX_RETRY = 60.0


def read_body(
    response: requests.Response, check: Optional[Callable[[], None]], limit: Optional[int] = None
) -> bytes:
    """Read a (non-stream) body in pieces, checking the call between them."""
    parts = []
    size = 0
    try:
        for chunk in chunks(response, check):
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size >= limit:
                break
    except CallInterrupted:
        raise
    except (requests.exceptions.RequestException, *URLLIB3_ERRORS, OSError) as exc:
        if is_timeout(exc):
            raise StreamTimeout() from exc
        raise TransportError(f"the body broke off: {type(exc).__name__}") from exc
    body = b"".join(parts)
    return body if limit is None else body[:limit]


def header_safe(value: str) -> bool:
    """Whether ``value`` can go back to the server in a header (visible ASCII and spaces)."""
    return value.isascii() and value.isprintable()


def content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


# The request slot of the thread sending right now, so another thread can break its
# socket before any answer has arrived. Set and cleared by send_http on the caller's
# thread; read by the connection pool on that same thread.
_sending = threading.local()


class _Slot:
    """The connection one request goes out on, so another thread can cut it."""

    __slots__ = ("aborted", "conn")

    def __init__(self) -> None:
        self.conn: Any = None
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Tracking:
    """Connection-pool mix-in: tell the sending thread's slot which connection it uses."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        slot = getattr(_sending, "slot", None)
        if slot is not None:
            slot.conn = conn
            if slot.aborted:
                raise urllib3.exceptions.ProtocolError(
                    "the request was cancelled before it was sent"
                )
        return super()._make_request(conn, *args, **kwargs)  # type: ignore[misc]

    def _put_conn(self, conn: Any) -> None:
        # A connection back in the pool may carry another thread's request next: the
        # slot must not cut it any more (a 401 answered while the person signs in).
        slot = getattr(_sending, "slot", None)
        if slot is not None and slot.conn is conn:
            slot.conn = None
        super()._put_conn(conn)  # type: ignore[misc]


class _TrackingHTTPPool(_Tracking, urllib3.HTTPConnectionPool):
    pass


class _TrackingHTTPSPool(_Tracking, urllib3.HTTPSConnectionPool):
    pass


class _Adapter(requests.adapters.HTTPAdapter):
    """An adapter whose pools let a cancel break a request that is still waiting for its answer."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackingHTTPPool,
            "https": _TrackingHTTPSPool,
        }


def new_http() -> requests.Session:
    """A ``requests.Session`` whose pool keeps a connection for each of many threads."""
    http = requests.Session()
    adapter = _Adapter(pool_connections=1, pool_maxsize=64)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


class AbortHandle:
    """Stands in for a call where a request has none: another thread may break it early."""

    def __init__(self) -> None:
        self._abort: Optional[Callable[[], None]] = None
        self.aborted = False

    def set_abort(self, abort: Optional[Callable[[], None]]) -> None:
        self._abort = abort

    def check(self) -> None:
        if self.aborted:
            raise CallInterrupted(0)

    def abort(self) -> None:
        self.aborted = True
        abort = self._abort
        if abort is not None:
            abort()


ParamHeaders = list[tuple[tuple[str, ...], str]]


def send_http(
    http: requests.Session,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    auth: Optional[AuthBase],
    connect_timeout: float,
    read_timeout: Optional[float],
    data: Optional[bytes] = None,
    call: Optional[Call] = None,
) -> requests.Response:
    """Send one request, streaming its answer; errors become mcp_sync's.

    A connect timeout is a :class:`TransportError` (the request never arrived); a read
    timeout is :class:`StreamTimeout`, for the engine to turn into a request timeout.
    With ``call``, a cancel from another thread breaks the request even before the
    server has begun to answer.
    """
    connect = connect_timeout if read_timeout is None else min(connect_timeout, read_timeout)
    slot = None
    if call is not None:
        slot = _Slot()
        _sending.slot = slot
        call.set_abort(slot.abort)
    try:
        with sending(call):
            return http.request(
                method,
                url,
                data=data,
                headers=headers,
                auth=auth,
                timeout=(connect, read_timeout),
                stream=True,
            )
    except requests.exceptions.ConnectTimeout as exc:
        raise TransportError(f"{method} {url}: connecting timed out") from exc
    except requests.exceptions.RequestException as exc:
        if call is not None:
            call.check()  # a cancel or a timeout that broke the request is reported as such
        if never_connected(exc):
            raise TransportError(f"{method} {url}: could not connect to the server") from exc
        if is_timeout(exc):
            raise StreamTimeout() from exc
        raise TransportError(f"{method} {url} failed: {type(exc).__name__}") from exc
    finally:
        if slot is not None:
            _sending.slot = None
