"""Streamable HTTP of MCP 2026-07-28: stateless POSTs with routing headers.

Every request is one POST that carries ``MCP-Protocol-Version``, ``Mcp-Method`` and,
where the spec asks, ``Mcp-Name`` and ``Mcp-Param-*`` headers; its answer is JSON
or an SSE stream of that request's notifications and then its response. There are
no sessions, no GET stream and no resumption: closing a response stream cancels its
request, and a stream that breaks before the response loses the request, which the
client then issues anew. A daemon thread may hold a ``subscriptions/listen`` stream.
"""

from __future__ import annotations

import logging
import random
import threading
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Optional

import requests

from .. import jsonrpc
from .._wirelog import log_outgoing
from ..auth import secret_values
from ..engine import Call, CallInterrupted, StreamTimeout, in_background
from ..errors import HTTPStatusError, MCPSyncError, ProtocolError, TransportError, excerpt
from ..headers import extract_param_headers, mcp_name
from ..jsonrpc import ErrorResponse, Request
from ..sse import iter_sse
from ._http import (
    ERROR_BODY_LIMIT,
    EVENT_STREAM,
    JSON,
    URLLIB3_ERRORS,
    VERSION_HEADER,
    AbortHandle,
    abort_response,
    chunks,
    content_type,
    finish_stream,
    is_timeout,
    never_connected,
    new_http,
    read_body,
    retry_after,
    send_http,
)
from .base import StreamBroken, Transport

if TYPE_CHECKING:
    from requests.auth import AuthBase

__all__ = ["ModernHTTPTransport"]

log = logging.getLogger("mcp_sync")

#: The listener gives up after this many failed ``subscriptions/listen`` streams in a row.
MAX_LISTEN_FAILURES = 5
#: A listen stream that stays quiet this long is reopened.
LISTEN_IDLE = 300.0


ParamHeaders = list[tuple[tuple[str, ...], str]]


class ModernHTTPTransport(Transport):
    """The Streamable HTTP transport of protocol revision 2026-07-28."""

    # Closing the response stream is the cancel signal on modern HTTP.
    cancel_by_notification = False

    def __init__(
        self,
        url: str,
        *,
        http: Optional[requests.Session] = None,
        headers: Optional[dict[str, str]] = None,
        auth: Optional[AuthBase] = None,
        connect_timeout: float = 10.0,
        protocol_version: str = "2026-07-28",
    ):
        self.url = url
        self._own_http = http is None
        self._http = http if http is not None else new_http()
        self._auth = auth
        self._user_headers = dict(headers or {})
        self._connect_timeout = connect_timeout
        # Guards _base_headers, _tool_headers, _closing and the listener fields; caller
        # threads and the listener thread touch them. Never held across I/O.
        self._lock = threading.Condition(threading.Lock())
        self._base_headers = self._build_base(protocol_version)
        self._tool_headers: dict[str, ParamHeaders] = {}
        self._closing = False
        self._on_refused: Optional[Callable[[], None]] = None
        self._listener: Optional[threading.Thread] = None
        self._listen_response: Optional[requests.Response] = None
        # Bumped by listen() so a stream opened with an older filter is replaced, even
        # one whose answer had not arrived yet when the filter changed.
        self._listen_version = 0
        # How to break the listen request before its answer arrives; listener thread sets it.
        self._listen_abort: Optional[Callable[[], None]] = None

    def _build_base(self, version: str) -> dict[str, str]:
        headers = {"Accept": JSON + ", " + EVENT_STREAM, "Content-Type": JSON}
        headers.update(self._user_headers)
        headers[VERSION_HEADER] = version
        return headers

    def set_protocol_version(self, version: str) -> None:
        """Send ``version`` in ``MCP-Protocol-Version`` from now on."""
        with self._lock:
            self._base_headers = self._build_base(version)

    def set_tool_headers(self, tool: str, mapping: ParamHeaders) -> None:
        """Mirror ``tool``'s ``x-mcp-header`` parameters into ``Mcp-Param-*`` headers."""
        with self._lock:
            if mapping:
                self._tool_headers[tool] = mapping
            else:
                self._tool_headers.pop(tool, None)

    def _headers_for(self, message: dict[str, Any]) -> dict[str, str]:
        method = message.get("method", "")
        params = message.get("params") or {}
        with self._lock:
            headers = dict(self._base_headers)
            tool = params.get("name")
            mapping = (
                self._tool_headers.get(tool)
                if isinstance(tool, str) and method == "tools/call"
                else None
            )
        headers["Mcp-Method"] = method
        name = mcp_name(method, params)
        if name is not None:
            headers["Mcp-Name"] = name
        if mapping:
            headers.update(extract_param_headers(params.get("arguments") or {}, mapping))
        return headers

    # --- requests ---------------------------------------------------------------------------

    def _post(
        self, message: dict[str, Any], read_timeout: Optional[float], call: Optional[Call] = None
    ) -> requests.Response:
        return send_http(
            self._http,
            "POST",
            self.url,
            headers=self._headers_for(message),
            auth=self._auth,
            connect_timeout=self._connect_timeout,
            read_timeout=read_timeout,
            data=jsonrpc.encode(message),
            call=call,
        )

    def hidden(self) -> tuple[str, ...]:
        return secret_values(self._auth, self._user_headers)

    def send_request(self, message: dict[str, Any], call: Call) -> None:
        method = message["method"]
        if self._closing:
            raise TransportError("the transport is closed")
        try:
            response = self._post(message, call.read_timeout, call)
        except TransportError as exc:
            if never_connected(exc):
                raise
            # The request may have reached the server and been lost with the connection:
            # the client issues it anew, as the spec asks.
            raise StreamBroken(f"{method} was lost with its connection", 0) from exc
        call.set_abort(lambda: abort_response(response))
        try:
            self._answer(response, call, method)
        finally:
            call.set_abort(None)
            response.close()

    def _deliver(self, payload: Any, call: Optional[Call]) -> None:
        for msg in jsonrpc.parse_payload(payload):
            if isinstance(msg, Request):
                # 2026-07-28 servers ask through input_required results; a client never
                # sends JSON-RPC responses, so a request on a stream is dropped.
                log.warning(
                    "mcp_sync: dropping a %s request the server sent on a stream", msg.method
                )
                continue
            self._sink(msg, call)

    def _answer(self, response: requests.Response, call: Call, method: str) -> None:
        status = response.status_code
        if status >= 400:
            body = read_body(response, call.check, ERROR_BODY_LIMIT)
            # Modern servers answer errors with an HTTP error status and a JSON-RPC body.
            try:
                messages = jsonrpc.parse_payload(body)
            except ProtocolError:
                messages = []
            if len(messages) == 1 and isinstance(messages[0], ErrorResponse):
                self._sink(messages[0], call)
                return
            raise HTTPStatusError(
                status,
                excerpt(body, hide=self.hidden()),
                method=method,
                retry_after=retry_after(response),
            )
        if status == 202:
            raise ProtocolError(f"the server accepted {method} without answering it")
        kind = content_type(response)
        if kind == EVENT_STREAM:
            self._read_stream(response, call)
        elif kind == JSON:
            try:
                text = jsonrpc.json_text(
                    read_body(
                        response,
                        call.check,
                        max_size=self.max_message_size,
                        remaining=call.remaining,
                    )
                )
            except TransportError as exc:
                raise StreamBroken(f"the answer to {method} broke off", 0) from exc
            self._deliver(text, call)
            if not call.done:
                raise ProtocolError(f"the server's JSON answer to {method} held no response to it")
        else:
            raise ProtocolError(
                f"the server answered {method} with content type {kind or 'none'!r}",
                body_excerpt=excerpt(
                    read_body(response, call.check, ERROR_BODY_LIMIT), hide=self.hidden()
                ),
            )

    def _read_stream(self, response: requests.Response, call: Call) -> None:
        try:
            for event in iter_sse(
                chunks(response, call.check, call.remaining), self.max_message_size
            ):
                if event.data:
                    self._deliver(event.data, call)
                    if call.done:
                        finish_stream(response)
                        return
        except CallInterrupted:
            raise
        except (requests.exceptions.RequestException, *URLLIB3_ERRORS, OSError) as exc:
            call.check()
            if is_timeout(exc):
                raise StreamTimeout() from exc
            log.debug("the stream for %s broke: %s", call.method, type(exc).__name__)
        if not call.done:
            raise StreamBroken(f"the stream of {call.method} ended before its response", 0)

    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        try:
            response = self._post(message, timeout)
        except StreamTimeout as exc:
            raise TransportError(f"{message.get('method')} got no HTTP answer in time") from exc
        try:
            if response.status_code >= 400:
                body = read_body(response, None, ERROR_BODY_LIMIT)
                raise HTTPStatusError(
                    response.status_code,
                    excerpt(body, hide=self.hidden()),
                    method=message.get("method"),
                )
        finally:
            response.close()

    # --- subscriptions/listen -------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """Whether the listener thread runs (it may be idle, with nothing to listen for)."""
        listener = self._listener
        return listener is not None and listener.is_alive()

    def listen(
        self,
        build: Callable[[], Optional[dict[str, Any]]],
        on_refused: Optional[Callable[[], None]] = None,
    ) -> None:
        """Hold a ``subscriptions/listen`` stream open in a daemon thread.

        ``build()`` gives the request to send, or None when there is nothing to listen
        for; it is called again for each new stream. Messages go to the sink.
        ``on_refused()`` is called when the server refuses a stream or the listener gives up.
        """
        with self._lock:
            if self._closing:
                return
            self._listen_version += 1
            self._on_refused = on_refused
            pending: Optional[Callable[[], None]] = None
            if self._listener is not None and self._listener.is_alive():
                response = self._listen_response
                pending = self._listen_abort
                self._lock.notify_all()
            else:
                response = None
                self._listener = threading.Thread(
                    target=self._listen_in_background,
                    args=(build,),
                    name="mcp_sync-listener",
                    daemon=True,
                )
                self._listener.start()
        if response is not None:
            abort_response(response)  # the loop sends the new filter
        elif pending is not None:
            pending()  # the old listen request is still waiting for its answer

    def _listen_in_background(self, build: Callable[[], Optional[dict[str, Any]]]) -> None:
        with in_background():  # a sign-in is for the caller's requests, not this stream
            self._listen_loop(build)

    def _listen_loop(self, build: Callable[[], Optional[dict[str, Any]]]) -> None:
        failures = 0
        while True:
            with self._lock:
                if self._closing:
                    return
                version = self._listen_version
            message = build()
            if message is None:
                with self._lock:
                    # Until listen() (a new filter) or close() wakes it; a wake-up that came
                    # while build() ran is seen through the version.
                    self._lock.wait_for(partial(self._filter_changed, version))
                continue
            handle = AbortHandle()
            with self._lock:
                self._listen_abort = handle.abort
            try:
                log_outgoing(message)
                response = self._post(message, LISTEN_IDLE, handle)  # type: ignore[arg-type]
            except (MCPSyncError, StreamTimeout, CallInterrupted) as exc:
                failures += 1
                log.debug("subscriptions/listen failed: %s", exc)
                if not self._backoff(failures):
                    return
                continue
            finally:
                with self._lock:
                    self._listen_abort = None
            with self._lock:
                closing = self._is_closing()
                stale = self._listen_version != version
                if not (closing or stale):
                    self._listen_response = response
            if closing:
                response.close()
                return
            if stale:  # the filter changed while this listen request was on its way
                response.close()
                continue
            delivered = False
            try:
                if response.status_code != 200 or content_type(response) != EVENT_STREAM:
                    body = read_body(response, None, ERROR_BODY_LIMIT)
                    log.warning(
                        "mcp_sync: subscriptions/listen was refused (HTTP %s): %s",
                        response.status_code,
                        excerpt(body, hide=self.hidden()),
                    )
                    self._refused()
                else:
                    for event in iter_sse(chunks(response, None), self.max_message_size):
                        if event.data:
                            delivered = True
                            try:
                                self._deliver(event.data, None)
                            except ProtocolError as exc:
                                log.warning(
                                    "mcp_sync: dropping a malformed listen message: %s", exc
                                )
            except (
                MCPSyncError,
                requests.exceptions.RequestException,
                *URLLIB3_ERRORS,
                OSError,
            ) as exc:
                log.debug("the listen stream ended: %s", type(exc).__name__)
            except Exception:
                log.exception("mcp_sync listener error")
            finally:
                with self._lock:
                    self._listen_response = None
                response.close()
            failures = 0 if delivered else failures + 1
            if not self._backoff(failures):
                return

    def _is_closing(self) -> bool:
        # A method, so mypy does not narrow _closing across the loop.
        return self._closing

    def _filter_changed(self, version: int) -> bool:
        return self._closing or self._listen_version != version

    def _refused(self) -> None:
        callback = self._on_refused
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("error in the listen refusal callback")

    def _backoff(self, failures: int) -> bool:
        """Wait before listening again; False when the listener should stop."""
        if failures >= MAX_LISTEN_FAILURES:
            log.warning(
                "mcp_sync: subscriptions/listen failed %d times in a row; not listening", failures
            )
            self._refused()
            return False
        delay = min(30.0, 0.25 * 2**failures) * (0.5 + random.random() / 2)
        with self._lock:
            if not self._closing:
                self._lock.wait(delay)
            return not self._closing

    # --- shutdown ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._lock.notify_all()
            listener = self._listener
            response = self._listen_response
            pending = self._listen_abort
        if response is not None:
            abort_response(response)
        if pending is not None:
            pending()
        if listener is not None and listener is not threading.current_thread():
            listener.join(10.0)
        if self._own_http:
            self._http.close()

    def reset_after_fork(self, http: Optional[requests.Session] = None) -> None:
        self._lock = threading.Condition(threading.Lock())
        self._listener = None
        self._listen_response = None
        if http is not None:
            self._http = http
        elif self._own_http:
            self._http = new_http()
