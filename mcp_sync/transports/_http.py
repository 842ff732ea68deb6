"""What the HTTP transports share: reading bodies and streams, breaking reads, timeouts."""

from __future__ import annotations

import datetime
import email.utils
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import urljoin

import requests
import urllib3

from ..engine import Call, CallInterrupted, StreamTimeout, sending
from ..errors import ConnectError, MessageTooLarge, TransportError

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


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps, as requests and urllib3 nest them (at most 20 deep)."""
    exc: Optional[BaseException] = error
    for _ in range(20):
        if exc is None:
            return
        yield exc
        nested = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        reason = getattr(exc, "reason", None)
        exc = nested or (reason if isinstance(reason, BaseException) else None) or exc.__cause__


_NEVER_CONNECTED = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    requests.exceptions.ConnectTimeout,
)


def never_connected(error: BaseException) -> bool:
    """Whether ``error`` says the connection was never made (refused, unreachable, no
    such host, connect timeout), so the request cannot have reached the server."""
    return any(isinstance(exc, _NEVER_CONNECTED) for exc in _chain(error))


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


def socket_of(response: requests.Response) -> Optional[socket.socket]:
    """The socket a streamed response is read from, when urllib3 lets us reach it."""
    raw = response.raw
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        # urllib3 1.26 may not keep the connection on the response: reach the socket
        # through http.client's response (its file is a SocketIO over the socket).
        reader = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def abort_response(response: requests.Response) -> None:
    """Break a read blocked on ``response`` from another thread."""
    shutdown = getattr(response.raw, "shutdown", None)  # urllib3 2.3+
    if shutdown is not None:
        try:
            shutdown()
            return
        except Exception:
            pass
    sock = socket_of(response)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    response.close()


# After its answer, a stream's end is awaited this long in all and read this far and in
# this many pieces at most.
STREAM_END_WAIT = 0.05
STREAM_END_LIMIT = 65536
STREAM_END_PIECES = 8


def finish_stream(response: requests.Response) -> None:
    """Read what is left of a call's stream once its answer arrived, briefly.

    A server closes the stream right after the answer; reading that end puts the
    connection back in the pool for the next call, where closing it unread would cost
    the next call a new connection. A stream that does not end at once is cut, as
    before, unread. Never raises.
    """
    raw = response.raw
    if not getattr(raw, "chunked", False) and getattr(raw, "length_remaining", None) is None:
        return  # the body ends with the connection: nothing to keep
    sock = socket_of(response)
    if sock is None:
        return
    deadline = time.monotonic() + STREAM_END_WAIT
    try:
        sock.settimeout(STREAM_END_WAIT)
        seen = 0
        for count, piece in enumerate(raw.stream(READ_SIZE, decode_content=False), 1):
            seen += len(piece)
            left = deadline - time.monotonic()
            if seen > STREAM_END_LIMIT or count >= STREAM_END_PIECES or left <= 0:
                return  # a server that trickles: cut it, as before
            sock.settimeout(left)
    except Exception:  # whatever breaks here, the response is closed next
        return


class _ReadClock:
    """Keeps a streamed read's socket timeout at the time its call has left.

    The read timeout given to ``requests`` is the call's time when the request went
    out; a stream that stalls later would otherwise wait that long again after its last
    byte, past the call's deadline (or short of a deadline that progress moved later).
    """

    __slots__ = ("_remaining", "_sock")

    def __init__(self, response: requests.Response, remaining: Callable[[], Optional[float]]):
        self._remaining = remaining
        self._sock = socket_of(response)

    def before_read(self) -> None:
        left = self._remaining()
        if left is None or self._sock is None:
            return
        try:
            self._sock.settimeout(max(left, 0.001))
        except OSError:
            pass  # the socket is closing; the read will say so


def chunks(
    response: requests.Response,
    check: Optional[Callable[[], None]],
    remaining: Optional[Callable[[], Optional[float]]] = None,
) -> Iterator[bytes]:
    """Yield the body as it arrives, each piece as soon as the server sent it.

    ``check`` runs after each piece (it raises when the call is over); ``remaining``
    gives the call's seconds left, which bound each read.
    """
    clock = _ReadClock(response, remaining) if remaining is not None else None
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if read1 is None and encoding in _INFLATABLE:
        # urllib3 before 2.2 inflates each read whole, however far it grows: inflate here,
        # a bounded piece at a time, from the body as sent.
        for piece in _inflate(_as_sent(raw), encoding, clock):
            if check is not None:
                check()
            yield piece
        return
    if read1 is None and not encoding:
        # urllib3 before 2.2 has no read1, and its read() waits for the whole body on a
        # response without chunked framing; the underlying file's read1 does not.
        fp: Any = getattr(raw, "_fp", None)
        if getattr(fp, "read1", None) is not None:

            def read1(size: int, decode_content: bool = True) -> bytes:
                data = _plain_read1(fp, size)
                if not data and getattr(fp, "length", None) == 0:
                    # Read to its Content-Length behind urllib3's back: give the
                    # connection back to the pool as urllib3 would have.
                    fp.close()
                    raw.release_conn()
                return data

    if read1 is not None and not getattr(raw, "chunked", False):
        # Without chunked framing iter_content holds events back; read1 (urllib3 2.2+) does not.
        while True:
            if clock is not None:
                clock.before_read()
            chunk = read1(READ_SIZE, decode_content=True)
            if not chunk:
                return
            if check is not None:
                check()
            yield chunk
    else:
        # A bounded piece size keeps decompression bounded too: a small compressed chunk
        # must not be inflated whole before its size is counted.
        chunked = getattr(raw, "chunked", False)
        pieces = response.iter_content(chunk_size=READ_SIZE if chunked else None)
        while True:
            if clock is not None:
                clock.before_read()
            chunk = next(pieces, None)
            if chunk is None:
                return
            if check is not None:
                check()
            if chunk:
                yield chunk


_INFLATABLE = frozenset({"gzip", "x-gzip", "deflate"})


def _plain_read1(fp: Any, size: int) -> bytes:
    """One read from ``http.client``'s response under urllib3 1.26, as urllib3 2 reads.

    ``http.client`` ends a body cut short of its Content-Length as if it were whole, and
    fails with ``AttributeError`` when another thread closed the response mid-read:
    both are a broken body here, as urllib3 2 reports them.
    """
    try:
        data = bytes(fp.read1(size))
    except (AttributeError, ValueError):
        raise urllib3.exceptions.ProtocolError("the connection was closed") from None
    if not data and size and (getattr(fp, "length", None) or 0) > 0:
        raise urllib3.exceptions.ProtocolError(
            f"the body ended {fp.length} bytes short of its Content-Length"
        )
    return data


def _as_sent(raw: Any) -> Iterator[bytes]:
    """The body as the server sent it (still compressed), as it arrives."""
    fp = getattr(raw, "_fp", None)
    if getattr(fp, "read1", None) is not None and not getattr(raw, "chunked", False):
        return iter(lambda: _plain_read1(fp, READ_SIZE), b"")
    pieces: Iterator[bytes] = raw.stream(READ_SIZE, decode_content=False)
    return pieces


def _inflate(sent: Iterator[bytes], encoding: str, clock: Optional[_ReadClock]) -> Iterator[bytes]:
    """Decompress ``sent`` into pieces of at most ``READ_SIZE`` bytes."""
    gzip = encoding != "deflate"
    inflater = zlib.decompressobj(31 if gzip else zlib.MAX_WBITS)
    first = True
    while True:
        if clock is not None:
            clock.before_read()
        data = next(sent, None)
        if data is None:
            break
        while data:
            try:
                out = inflater.decompress(data, READ_SIZE)
            except zlib.error:
                if gzip or not first:
                    raise TransportError("the compressed body is corrupt") from None
                # "deflate" is sent both with and without its zlib header.
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                out = inflater.decompress(data, READ_SIZE)
            first = False
            data = inflater.unconsumed_tail
            if out:
                yield out
    rest = inflater.flush()
    if rest:
        yield rest
    if gzip and not inflater.eof:
        raise TransportError("the compressed body ended before its gzip trailer")


# Error bodies are read only this far: enough for an excerpt and a JSON-RPC error.
ERROR_BODY_LIMIT = 8192
# The longest reconnect delay a server's ``retry`` field may ask for (seconds).
MAX_RETRY = 60.0


def read_body(
    response: requests.Response,
    check: Optional[Callable[[], None]],
    limit: Optional[int] = None,
    *,
    max_size: Optional[int] = None,
    remaining: Optional[Callable[[], Optional[float]]] = None,
) -> bytes:
    """Read a (non-stream) body in pieces, checking the call between them.

    ``limit`` keeps only the first bytes (for excerpts); a body over ``max_size`` bytes
    raises :class:`~mcp_sync.MessageTooLarge` instead.
    """
    parts = []
    size = 0
    try:
        for chunk in chunks(response, check, remaining):
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size >= limit:
                break
            if max_size is not None and size > max_size:
                raise MessageTooLarge(max_size, "a response body")
    except CallInterrupted:
        raise
    except (requests.exceptions.RequestException, *URLLIB3_ERRORS, OSError) as exc:
        if is_timeout(exc):
            raise StreamTimeout() from exc
        raise TransportError(f"the body broke off: {type(exc).__name__}") from exc
    body = b"".join(parts)
    return body if limit is None else body[:limit]


def retry_after(response: requests.Response) -> Optional[float]:
    """The response's ``Retry-After`` in seconds (a number or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


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


def _close_pool(pool: Any) -> None:
    pool.close()


class _Adapter(requests.adapters.HTTPAdapter):
    """An adapter whose pools let a cancel break a request that is still waiting for its answer."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackingHTTPPool,
            "https": _TrackingHTTPSPool,
        }
        # urllib3 2 drops a pool from its manager without closing it, so the pool's idle
        # sockets would stay open until garbage collection: close them on clear() and
        # on eviction, as urllib3 1.26 does.
        self.poolmanager.pools.dispose_func = _close_pool


def safe_url(url: str) -> str:
    """``url`` without what may be a secret: user info, query and fragment."""
    try:
        parts = urllib3.util.parse_url(url)
    except (urllib3.exceptions.HTTPError, ValueError):
        return "<a malformed URL>"
    host = parts.host or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'http'}://{host}{port}{parts.path or ''}"


def _certificate_failed(error: BaseException) -> bool:
    return any(isinstance(exc, ssl.SSLCertVerificationError) for exc in _chain(error))


def url_origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url`` as ``requests`` will contact it.

    Parsed the way requests and urllib3 parse it, not with ``urllib.parse``, whose idea
    of the host differs on tricks such as a backslash before an ``@``. A URL they cannot
    use has the origin ``("", "", 0)``, which matches no server.
    """
    try:
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        parts = urllib3.util.parse_url(prepared.url or "")
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, ValueError):
        return "", "", 0
    scheme = (parts.scheme or "").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.host or "").lower(), port


class _Unchanged(requests.auth.AuthBase):
    """No credentials: stands where requests would otherwise look in ~/.netrc again."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


_UNCHANGED = _Unchanged()
# Server URLs whose environment a session remembers (more are read afresh).
_ENVIRONMENT_ENTRIES = 16


class _Environment:
    """What the environment says for one URL: proxies, a CA bundle, .netrc credentials."""

    __slots__ = ("ca_bundle", "netrc", "proxies", "url_credentials")

    def __init__(self, url: str) -> None:
        self.proxies: dict[str, str] = requests.utils.get_environ_proxies(url)
        self.ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self.netrc: Optional[tuple[str, str]] = requests.utils.get_netrc_auth(url)
        self.url_credentials = any(requests.utils.get_auth_from_url(url))


class _SameOriginSession(requests.Session):
    """Follows redirects only on the server's own origin (or up from http to https on the
    same host): a redirect elsewhere would carry the session id, the headers the user
    set and the request body to a server nobody chose.

    It reads the environment (proxy variables, ``REQUESTS_CA_BUNDLE``, ~/.netrc) once per
    server URL, where requests reads it again on every request.
    """

    def __init__(self) -> None:
        super().__init__()
        # URL -> its _Environment. Any sending thread reads and fills it; a race only
        # reads one URL's environment twice.
        self._environments: dict[str, _Environment] = {}

    def _environment(self, url: str) -> _Environment:
        found = self._environments.get(url)
        if found is None:
            found = _Environment(url)
            if len(self._environments) >= _ENVIRONMENT_ENTRIES:
                self._environments.clear()
            self._environments[url] = found
        return found

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.trust_env and not request.auth and not self.auth:
            found = self._environment(request.url)
            if found.netrc:
                request.auth = found.netrc
            elif not found.url_credentials:
                request.auth = _UNCHANGED  # requests would look in ~/.netrc again
        return super().prepare_request(request)

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if not self.trust_env or (proxies and "no_proxy" in proxies):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        found = self._environment(url)
        proxies = dict(proxies or ())
        for scheme, proxy in found.proxies.items():
            proxies.setdefault(scheme, proxy)
        if (verify is True or verify is None) and found.ca_bundle:
            verify = found.ca_bundle
        merged = {**self.proxies, **proxies}
        return {
            "proxies": {k: v for k, v in merged.items() if v is not None},
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }

    def get_redirect_target(self, resp: requests.Response) -> Optional[str]:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        here = url_origin(resp.url)
        there = url_origin(urljoin(resp.url, target))
        upgrade = here == ("http", there[1], 80) and there[2] == 443 and there[0] == "https"
        if there != here and not upgrade:
            resp.close()
            refused = TransportError(
                f"the server redirected to another origin ({there[0]}://{there[1]}:{there[2]}); "
                "mcp_sync does not follow it"
            )
            refused.permanent = True  # not worth a retry
            raise refused
        return target


def new_http() -> requests.Session:
    """A ``requests.Session`` whose pool keeps a connection for each of many threads, and
    which follows redirects only on the server's own origin."""
    http = _SameOriginSession()
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
        raise ConnectError(f"{method} {safe_url(url)}: connecting timed out") from exc
    except requests.exceptions.RequestException as exc:
        if call is not None:
            call.check()  # a cancel or a timeout that broke the request is reported as such
        if never_connected(exc):
            raise ConnectError(
                f"{method} {safe_url(url)}: could not connect to the server"
            ) from exc
        if is_timeout(exc):
            raise StreamTimeout() from exc
        if _certificate_failed(exc):
            failed = TransportError(
                f"{method} {safe_url(url)}: the server's TLS certificate failed verification"
            )
            failed.permanent = True  # not worth a retry
            raise failed from exc
        raise TransportError(f"{method} {safe_url(url)} failed: {type(exc).__name__}") from exc
    finally:
        if slot is not None:
            _sending.slot = None
