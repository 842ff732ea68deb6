"""The old HTTP+SSE transport (MCP 2024-11-05), for servers that predate Streamable HTTP.

The client opens an SSE stream with a GET; the server's first event, ``endpoint``,
names the URI to POST messages to, and everything the server says comes back on that
one stream. The endpoint must have the stream's origin: a server that names another
host is refused, so it cannot make the client send its messages elsewhere.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import urljoin

import requests

from .. import jsonrpc
from ..auth import secret_values
from ..engine import Call, CallInterrupted, StreamTimeout
from ..errors import HTTPStatusError, MCPSyncError, ProtocolError, TransportError, excerpt
from ..sse import iter_sse
from ._http import (
    ERROR_BODY_LIMIT,
    EVENT_STREAM,
    JSON,
    URLLIB3_ERRORS,
    AbortHandle,
    abort_response,
    chunks,
    content_type,
    new_http,
    read_body,
    send_http,
    socket_of,
    url_origin,
)
from .base import SessionLost, StreamBroken, Transport

if TYPE_CHECKING:
    from requests.auth import AuthBase

__all__ = ["HTTPSSETransport"]

log = logging.getLogger("mcp_sync")

#: A stream quiet this long is taken as dead; the next request starts a new session.
STREAM_READ_TIMEOUT = 300.0


def _stream_timeout(response: requests.Response, seconds: float) -> None:
    """Let an open stream stay quiet longer than the wait for its headers (best effort)."""
    sock = socket_of(response)
    if sock is not None:
        try:
            sock.settimeout(seconds)
        except OSError:
            pass


class HTTPSSETransport(Transport):
    """One SSE stream for everything the server sends, POSTs for everything the client does.

    A stream that ends ends the session: the next request finds it gone, and the
    client starts a new one (a new stream, a new ``initialize``).
    """

    def __init__(
        self,
        url: str,
        *,
        http: Optional[requests.Session] = None,
        headers: Optional[dict[str, str]] = None,
        auth: Optional[AuthBase] = None,
        connect_timeout: float = 10.0,
    ):
        self.url = url
        self._own_http = http is None
        self._http = http if http is not None else new_http()
        self._auth = auth
        self._headers = {"Content-Type": JSON, **dict(headers or {})}
        self._connect_timeout = connect_timeout
        # Guards the stream fields below; caller threads and the reader thread touch them.
        self._lock = threading.Condition(threading.Lock())
        self._endpoint: Optional[str] = None
        self._endpoint_error: Optional[MCPSyncError] = None
        self._response: Optional[requests.Response] = None
        self._reader: Optional[threading.Thread] = None
        self._generation = 0
        self._alive = False
        self._closing = False
        self._opening: Optional[AbortHandle] = None  # the GET still waiting for its answer
        # Set by the client: told when the stream ends, so waiting calls fail at once.
        self.on_stream_end: Optional[Callable[[MCPSyncError], None]] = None

    @property
    def generation(self) -> int:
        return self._generation

    # --- the stream -------------------------------------------------------------------------

    def begin_session(self) -> None:
        """Open a new stream and wait for its ``endpoint`` event."""
        self._drop_stream()
        headers = {**self._headers, "Accept": EVENT_STREAM}
        headers.pop("Content-Type", None)
        handle = AbortHandle()
        with self._lock:
            if self._closing:
                raise TransportError("the transport is closed")
            self._opening = handle
        try:
            response = send_http(
                self._http,
                "GET",
                self.url,
                headers=headers,
                auth=self._auth,
                connect_timeout=self._connect_timeout,
                read_timeout=self._connect_timeout,
                call=handle,  # type: ignore[arg-type]
            )
        except (StreamTimeout, CallInterrupted) as exc:
            raise TransportError("the SSE stream did not answer in time, or was closed") from exc
        finally:
            with self._lock:
                self._opening = None
        _stream_timeout(response, STREAM_READ_TIMEOUT)
        if response.status_code != 200 or content_type(response) != EVENT_STREAM:
            body = read_body(response, None, ERROR_BODY_LIMIT)
            response.close()
            raise HTTPStatusError(
                response.status_code, excerpt(body, hide=self.hidden()), method="GET (SSE stream)"
            )
        with self._lock:
            self._generation += 1
            self._endpoint = None
            self._endpoint_error = None
            self._response = response
            self._alive = True
            reader = threading.Thread(
                target=self._read,
                args=(response, self._generation),
                name="mcp_sync-sse",
                daemon=True,
            )
            self._reader = reader
        reader.start()
        found, endpoint, error = self._await_endpoint()
        if error is not None:
            self._drop_stream()
            raise error
        if not found or endpoint is None:
            self._drop_stream()
            raise ProtocolError("the SSE stream sent no endpoint event")

    def _await_endpoint(self) -> tuple[bool, Optional[str], Optional[MCPSyncError]]:
        with self._lock:
            found = self._lock.wait_for(
                lambda: (
                    self._endpoint is not None
                    or self._endpoint_error is not None
                    or not self._alive
                ),
                self._connect_timeout,
            )
            return found, self._endpoint, self._endpoint_error

    def _take_endpoint(self, data: str) -> None:
        endpoint = data.strip()
        target = urljoin(self.url, endpoint)
        # A backslash, an "@" or a control character has no business in an endpoint, and
        # parsers disagree on where such a URL's host is: refuse them outright.
        odd = any(c in endpoint for c in "\\@") or not endpoint.isprintable()
        if odd or url_origin(target) != url_origin(self.url):
            error: MCPSyncError = ProtocolError(
                "the server's endpoint event names another origin; refusing to send messages there"
            )
            with self._lock:
                self._endpoint_error = error
                self._lock.notify_all()
            return
        with self._lock:
            self._endpoint = target
            self._lock.notify_all()

    def _read(self, response: requests.Response, generation: int) -> None:
        try:
            for event in iter_sse(chunks(response, None), self.max_message_size):
                if event.event == "endpoint" and event.data is not None:
                    self._take_endpoint(event.data)
                elif event.data:
                    try:
                        for msg in jsonrpc.parse_payload(event.data):
                            self._sink(msg, None)
                    except ProtocolError as exc:
                        log.warning(
                            "mcp_sync: dropping a malformed message on the SSE stream: %s", exc
                        )
        except (
            MCPSyncError,
            requests.exceptions.RequestException,
            *URLLIB3_ERRORS,
            OSError,
        ) as exc:
            log.debug("the SSE stream ended: %s", type(exc).__name__)
        except Exception:
            log.exception("mcp_sync SSE reader error")
        finally:
            response.close()
            with self._lock:
                current = self._generation == generation
                if current:
                    self._alive = False
                self._lock.notify_all()
            if current and not self._closing:
                log.info("mcp_sync: the SSE stream ended; the next request starts a new session")
                if self.on_stream_end is not None:
                    # The answers to waiting calls would have come on this stream.
                    self.on_stream_end(
                        StreamBroken("the SSE stream ended before the answer", generation)
                    )

    def _drop_stream(self) -> None:
        with self._lock:
            response, self._response = self._response, None
            reader = self._reader
            opening = self._opening
            self._alive = False
        if opening is not None:
            opening.abort()  # a GET still waiting for its answer
        if response is not None:
            abort_response(response)
        if reader is not None and reader is not threading.current_thread():
            reader.join(5.0)

    # --- messages ---------------------------------------------------------------------------

    def _post(
        self, message: dict[str, Any], timeout: Optional[float], call: Optional[Call] = None
    ) -> None:
        with self._lock:
            endpoint, alive, generation = self._endpoint, self._alive, self._generation
        if endpoint is None or not alive:
            if message.get("method") == "initialize":
                raise TransportError("the SSE stream is not open")
            raise SessionLost(generation, "the SSE stream ended")
        try:
            response = send_http(
                self._http,
                "POST",
                endpoint,
                headers=self._headers,
                auth=self._auth,
                connect_timeout=self._connect_timeout,
                read_timeout=timeout,
                data=jsonrpc.encode(message),
                call=call,
            )
        except StreamTimeout as exc:
            raise TransportError(
                f"{message.get('method') or 'a response'} got no HTTP answer in time"
            ) from exc
        try:
            if response.status_code >= 400:
                try:
                    body = read_body(response, None, ERROR_BODY_LIMIT)
                except StreamTimeout:
                    body = b""
                if response.status_code == 404:
                    raise SessionLost(generation, "the server no longer knows the SSE session")
                raise HTTPStatusError(
                    response.status_code,
                    excerpt(body, hide=self.hidden()),
                    method=message.get("method"),
                )
        finally:
            response.close()

    def hidden(self) -> tuple[str, ...]:
        return secret_values(self._auth, self._headers)

    def send_request(self, message: dict[str, Any], call: Call) -> None:
        # The answer comes on the stream; the engine waits for it.
        self._post(message, call.read_timeout, call)

    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        self._post(message, timeout)

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._drop_stream()
        if self._own_http:
            self._http.close()

    def reset_after_fork(self, http: Optional[requests.Session] = None) -> None:
        self._lock = threading.Condition(threading.Lock())
        self._reader = None
        self._response = None
        self._alive = False
        if http is not None:
            self._http = http
        elif self._own_http:
            self._http = new_http()
