"""Streamable HTTP (MCP 2025-03-26 to 2025-11-25), over a ``requests.Session``.

One POST per outgoing message; the answer is JSON, an SSE stream, or 202. A
daemon thread keeps a GET listener stream open for what the server starts on its
own. Broken streams resume with ``Last-Event-ID`` after the server's ``retry``
delay. The session id is guarded by one lock together with a generation number,
so a late 404 from an old session never clears a newer one.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import requests

from .. import jsonrpc
from ..auth import secret_values
from ..engine import Call, CallInterrupted, StreamTimeout, in_background
from ..errors import (
    AuthorizationError,
    HTTPStatusError,
    MCPSyncError,
    ProtocolError,
    TransportError,
    excerpt,
)
from ..sse import iter_sse
from ._http import (
    DEFAULT_RETRY,
    ERROR_BODY_LIMIT,
    EVENT_STREAM,
    JSON,
    MAX_RETRY,
    URLLIB3_ERRORS,
    VERSION_HEADER,
    abort_response,
    chunks,
    content_type,
    finish_stream,
    header_safe,
    is_timeout,
    new_http,
    read_body,
    retry_after,
    send_http,
)
from .base import SessionLost, StreamBroken, Transport

if TYPE_CHECKING:
    from requests.auth import AuthBase

__all__ = ["StreamableHTTPTransport"]

log = logging.getLogger("mcp_sync")

SESSION_HEADER = "Mcp-Session-Id"

# How many times in a row a POST stream may be resumed without a new event.
MAX_RESUMES = 5
# The listener gives up on a session after this many failures in a row.
MAX_LISTENER_FAILURES = 5
# A quiet listener stream is reopened (with Last-Event-ID) after this long.
LISTENER_IDLE = 300.0


def _session_error_message(raw: bytes) -> Optional[str]:
    """The JSON-RPC error message of a 400 body, if it speaks of the session."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str) and "session" in message.lower():
        return message
    return None


class _Snapshot:
    """The session headers one exchange uses, and the generation they belong to."""

    __slots__ = ("generation", "has_session", "headers")

    def __init__(self, headers: dict[str, str], generation: int, has_session: bool):
        self.headers = headers
        self.generation = generation
        self.has_session = has_session


class StreamableHTTPTransport(Transport):
    """The Streamable HTTP transport of the legacy protocol revisions."""

    #: Whether an HTTP 400 whose JSON-RPC error speaks of the session counts as expiry.
    treat_400_as_expired = True

    def __init__(
        self,
        url: str,
        *,
        http: Optional[requests.Session] = None,
        headers: Optional[dict[str, str]] = None,
        auth: Optional[AuthBase] = None,
        connect_timeout: float = 10.0,
        listen: bool = True,
        on_listener_session_lost: Optional[Callable[[int], None]] = None,
    ):
        self.url = url
        self._own_http = http is None
        self._http = http if http is not None else new_http()
        self._auth = auth
        self._user_headers = dict(headers or {})
        self._connect_timeout = connect_timeout
        self._listen = listen
        self._on_listener_session_lost = on_listener_session_lost
        # Guards the session fields below (_session_id, _generation, _open, _handshaking,
        # _protocol_version, _post_headers, _closing) and is the condition that requests
        # and the listener wait on; caller, listener and handler threads touch them.
        self._state = threading.Condition(threading.Lock())
        self._session_id: Optional[str] = None
        self._generation = 0  # counts installed sessions, for compare-and-clear
        self._open = False  # the session may carry requests
        self._handshaking = False  # an initialize is under way; others wait for it
        self._protocol_version: Optional[str] = None
        self._closing = False
        self._post_headers = self._build_headers(JSON + ", " + EVENT_STREAM, None, None)
        # The listener thread and the GET response it reads; set and read under _state.
        self._listener: Optional[threading.Thread] = None
        self._listener_response: Optional[requests.Response] = None
        # Set by the listener once its GET for the current session has an answer, so the
        # handshake can wait for it: some servers send their requests only on that stream.
        self._listener_settled = threading.Event()

    def _build_headers(
        self, accept: str, session_id: Optional[str], version: Optional[str]
    ) -> dict[str, str]:
        headers = {"Accept": accept, "Content-Type": JSON}
        headers.update(self._user_headers)
        if session_id is not None:
            headers[SESSION_HEADER] = session_id
        if version is not None:
            headers[VERSION_HEADER] = version
        return headers

    # --- session state ----------------------------------------------------------------------

    @property
    def session_id(self) -> Optional[str]:
        return self._session_id

    @property
    def generation(self) -> int:
        return self._generation

    def _snapshot(self, handshake: bool = False, wait: Optional[float] = None) -> _Snapshot:
        """The headers for one exchange; waits (up to ``wait`` s) while a handshake runs."""
        with self._state:
            if not handshake:
                self._state.wait_for(lambda: not self._handshaking or self._closing, wait)
            if self._closing:
                raise TransportError("the transport is closed")
            if not self._open and not handshake:
                raise SessionLost(self._generation, "the session is gone or was never started")
            return _Snapshot(self._post_headers, self._generation, self._session_id is not None)

    def begin_session(self) -> None:
        with self._state:
            self._session_id = None
            self._protocol_version = None
            self._open = False
            self._handshaking = True
            self._post_headers = self._build_headers(JSON + ", " + EVENT_STREAM, None, None)
            self._state.notify_all()

    def _install_session(self, session_id: Optional[str]) -> None:
        if session_id == "":
            session_id = None  # an empty header names no session
        if session_id is not None and not all(0x21 <= ord(c) <= 0x7E for c in session_id):
            raise ProtocolError(
                "the server sent a session id with characters outside visible ASCII"
            )
        with self._state:
            self._session_id = session_id
            self._generation += 1
            self._post_headers = self._build_headers(JSON + ", " + EVENT_STREAM, session_id, None)

    def session_negotiated(self, protocol_version: str) -> None:
        with self._state:
            self._protocol_version = protocol_version
            self._post_headers = self._build_headers(
                JSON + ", " + EVENT_STREAM, self._session_id, protocol_version
            )

    def session_opened(self) -> None:
        with self._state:
            self._open = True
            self._handshaking = False
            self._state.notify_all()
            response = self._listener_response
            start = self._listen and (self._listener is None or not self._listener.is_alive())
            self._listener_settled.clear()
            if start:
                self._listener = threading.Thread(
                    target=self._listen_in_background, name="mcp_sync-listener", daemon=True
                )
                self._listener.start()
        if response is not None and not start:
            abort_response(response)  # the listener reopens its stream on the new session
        if self._listen and threading.current_thread() is not self._listener:
            self._listener_settled.wait(self._connect_timeout)

    def session_failed(self) -> None:
        with self._state:
            self._handshaking = False
            self._state.notify_all()

    def expire(self, generation: int) -> bool:
        """Compare-and-clear: forget the session only if ``generation`` is still current."""
        with self._state:
            if generation != self._generation or not self._open:
                return False
            self._open = False
            self._session_id = None
            self._state.notify_all()
            return True

    # --- requests ---------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        headers: dict[str, str],
        read_timeout: Optional[float],
        data: Optional[bytes] = None,
        call: Optional[Call] = None,
    ) -> requests.Response:
        return send_http(
            self._http,
            method,
            self.url,
            headers=headers,
            auth=self._auth,
            connect_timeout=self._connect_timeout,
            read_timeout=read_timeout,
            data=data,
            call=call,
        )

    def _check_status(
        self,
        response: requests.Response,
        snap: _Snapshot,
        what: str,
        check: Optional[Callable[[], None]] = None,
        lost_on_404: bool = True,
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        raw = read_body(response, check, ERROR_BODY_LIMIT)
        body = excerpt(raw, hide=self.hidden())
        if snap.has_session and status == 404 and lost_on_404:
            rule = "HTTP 404 to a request that carried the session id"
            self._lost(snap, rule, status, body)
        if snap.has_session and status == 400 and self.treat_400_as_expired:
            message = _session_error_message(raw)
            if message is not None:
                self._lost(
                    snap, f"HTTP 400 whose error speaks of the session ({message!r})", status, body
                )
        raise HTTPStatusError(status, body, method=what, retry_after=retry_after(response))

    def _lost(self, snap: _Snapshot, rule: str, status: int, body: str) -> None:
        log.info("mcp_sync: session expired: %s", rule)
        self.expire(snap.generation)
        raise SessionLost(snap.generation, rule, status=status, body_excerpt=body)

    def hidden(self) -> tuple[str, ...]:
        return secret_values(self._auth, self._user_headers)

    def send_request(self, message: dict[str, Any], call: Call) -> None:
        method = message["method"]
        initialize = method == "initialize"
        snap = self._snapshot(handshake=initialize, wait=call.read_timeout)
        response = self._send(
            "POST", snap.headers, call.read_timeout, jsonrpc.encode(message), call
        )
        call.set_abort(lambda: abort_response(response))
        try:
            self._check_status(response, snap, method, call.check)
            if initialize and response.status_code == 200:
                self._install_session(response.headers.get(SESSION_HEADER))
                snap = self._snapshot(handshake=True)
            if response.status_code == 202:
                return  # the answer will come on another stream
            kind = content_type(response)
            if kind == EVENT_STREAM:
                self._read_call_stream(response, call, snap)
            elif kind == JSON:
                self._deliver(
                    jsonrpc.json_text(
                        read_body(
                            response,
                            call.check,
                            max_size=self.max_message_size,
                            remaining=call.remaining,
                        )
                    ),
                    call,
                )
                if not call.done:
                    raise ProtocolError(
                        f"the server's JSON answer to {method} held no response to it"
                    )
            else:
                raise ProtocolError(
                    f"the server answered {method} with content type {kind or 'none'!r}",
                    body_excerpt=excerpt(
                        read_body(response, call.check, ERROR_BODY_LIMIT), hide=self.hidden()
                    ),
                )
        finally:
            call.set_abort(None)
            response.close()

    def _deliver(self, payload: Union[bytes, str], call: Optional[Call]) -> None:
        for msg in jsonrpc.parse_payload(payload, allow_batch=self.allow_batch):
            self._sink(msg, call)

    def _read_call_stream(self, response: requests.Response, call: Call, snap: _Snapshot) -> None:
        last_id: Optional[str] = None
        retry: Optional[float] = None
        resumes = 0
        while True:
            try:
                for event in iter_sse(
                    chunks(response, call.check, call.remaining), self.max_message_size
                ):
                    if event.id is not None and header_safe(event.id):
                        last_id = event.id
                        resumes = 0
                    if event.retry is not None:
                        retry = min(event.retry / 1000.0, MAX_RETRY)
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
            finally:
                response.close()
            if call.done:
                return
            if last_id is None:
                raise StreamBroken(
                    f"the server closed the stream of {call.method} before answering it",
                    snap.generation,
                )
            resumes += 1
            if resumes > MAX_RESUMES:
                raise TransportError(
                    f"the stream of {call.method} kept breaking; gave up resuming it"
                )
            self._pause(retry if retry is not None else DEFAULT_RETRY, call)
            try:
                response = self._resume(last_id, call, snap)
            except StreamBroken:
                raise
            except MCPSyncError as exc:
                # The request reached the server and its stream broke: whatever the resume
                # met (no connection, a 503, a lost session), it is a broken stream, which
                # the client handles knowing the request may have run.
                raise StreamBroken(
                    f"resuming the stream of {call.method} failed: {exc}", snap.generation
                ) from exc
            call.set_abort(lambda r=response: abort_response(r))  # type: ignore[misc]

    def _pause(self, seconds: float, call: Call) -> None:
        end = time.monotonic() + seconds
        while True:
            call.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def _resume(self, last_id: str, call: Call, snap: _Snapshot) -> requests.Response:
        headers = dict(snap.headers)
        headers["Accept"] = EVENT_STREAM
        headers.pop("Content-Type", None)
        headers["Last-Event-ID"] = last_id
        response = self._send("GET", headers, call.read_timeout, call=call)
        try:
            if response.status_code in (404, 405):
                # Many servers have no GET at all: whether the session lives is for a
                # ping to tell, so this counts as a broken stream, not an expired session.
                raise StreamBroken(
                    f"resuming the stream of {call.method} got HTTP {response.status_code}",
                    snap.generation,
                )
            self._check_status(response, snap, "GET (resume)", call.check)
            if content_type(response) != EVENT_STREAM:
                raise ProtocolError(f"resuming the stream of {call.method} gave no event stream")
        except BaseException:
            response.close()
            raise
        return response

    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        method = message.get("method")
        # Answers to the server go out at once, even mid-handshake: the server may be
        # waiting for one (a ping during initialize) before it finishes the handshake.
        handshake = method is None or method == "notifications/initialized"
        snap = self._snapshot(handshake=handshake, wait=timeout)
        try:
            response = self._send("POST", snap.headers, timeout, jsonrpc.encode(message))
        except StreamTimeout as exc:
            raise TransportError(f"{method or 'a response'} got no HTTP answer in time") from exc
        try:
            self._check_status(response, snap, method or "response")
        finally:
            response.close()

    # --- the GET listener -------------------------------------------------------------------

    def _listen_in_background(self) -> None:
        with in_background():  # a sign-in is for the caller's requests, not this stream
            self._listen_loop()

    def _listen_loop(self) -> None:
        last_id: Optional[str] = None
        retry: Optional[float] = None
        generation = -1
        failures = 0
        idle_generation = -1  # a generation the listener stopped serving
        while True:
            with self._state:
                while not self._closing and (not self._open or self._generation == idle_generation):
                    self._state.wait()
                if self._closing:
                    return
                if self._generation != generation:
                    generation, last_id, failures = self._generation, None, 0
                snap = _Snapshot(self._post_headers, self._generation, self._session_id is not None)
            headers = dict(snap.headers)
            headers["Accept"] = EVENT_STREAM
            headers.pop("Content-Type", None)
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                response = self._send("GET", headers, LISTENER_IDLE)
            except AuthorizationError as exc:
                # The caller's next request signs in again; the backoff gives it time.
                self._listener_settled.set()
                failures += 1
                log.warning("mcp_sync: the GET stream was not authorized: %s", exc)
                if not self._listener_backoff(failures):
                    idle_generation = generation
                continue
            except (TransportError, StreamTimeout) as exc:
                self._listener_settled.set()
                failures += 1
                log.debug("listener GET failed: %s", exc)
                if not self._listener_backoff(failures):
                    idle_generation = generation
                continue
            with self._state:
                closing = self._is_closing()
                stale = self._generation != generation
                if not (closing or stale):
                    self._listener_response = response
            if closing:
                response.close()
                return
            if stale:  # the session changed while the GET was on its way
                response.close()
                continue
            self._listener_settled.set()
            try:
                status = response.status_code
                if status == 405:
                    log.debug("the server offers no GET stream (405)")
                    idle_generation = generation
                    continue
                if snap.has_session and (
                    status == 404
                    or (
                        status == 400
                        and _session_error_message(read_body(response, None, ERROR_BODY_LIMIT))
                    )
                ):
                    # Many servers answer 404 to GET when they have no GET handler, so a
                    # 404 here is checked with a ping on the same session before anything is torn down.
                    idle_generation = generation
                    if self._on_listener_session_lost is not None:
                        self._on_listener_session_lost(generation)
                    continue
                if status != 200 or content_type(response) != EVENT_STREAM:
                    failures += 1
                    log.debug("listener GET answered %s %s", status, content_type(response))
                    if not self._listener_backoff(failures):
                        idle_generation = generation
                    continue
                try:
                    for event in iter_sse(chunks(response, None), self.max_message_size):
                        failures = 0
                        if event.id is not None and header_safe(event.id):
                            last_id = event.id
                        if event.retry is not None:
                            retry = min(event.retry / 1000.0, MAX_RETRY)
                        if event.data:
                            try:
                                self._deliver(event.data, None)
                            except ProtocolError as exc:
                                log.warning(
                                    "mcp_sync: dropping a malformed message on the GET stream: %s",
                                    exc,
                                )
                except ProtocolError as exc:
                    log.warning("mcp_sync: the GET stream broke the protocol: %s", exc)
                    failures += 1
                except (requests.exceptions.RequestException, *URLLIB3_ERRORS, OSError) as exc:
                    log.debug("listener stream ended: %s", type(exc).__name__)
            except Exception:
                log.exception("mcp_sync listener error")
                failures += 1
            finally:
                with self._state:
                    self._listener_response = None
                response.close()
            if self._is_closing():
                return
            self._wait_closing(retry if retry is not None else DEFAULT_RETRY)

    def _is_closing(self) -> bool:
        # A method, so mypy does not narrow _closing across the listener's loop.
        return self._closing

    def _listener_backoff(self, failures: int) -> bool:
        """Sleep before the next listener attempt; False once it should give up on this session."""
        if failures >= MAX_LISTENER_FAILURES:
            log.warning(
                "mcp_sync: the GET stream failed %d times in a row; not listening on this session",
                failures,
            )
            return False
        delay = min(30.0, 0.5 * 2**failures) * (0.5 + random.random() / 2)
        self._wait_closing(delay)
        return True

    def _wait_closing(self, seconds: float) -> None:
        with self._state:
            if not self._closing:
                self._state.wait(seconds)

    # --- shutdown ---------------------------------------------------------------------------

    def end_session(self) -> None:
        with self._state:
            session_id = self._session_id
            headers = dict(self._post_headers)
        if session_id is None:
            return
        headers.pop("Content-Type", None)
        try:
            response = self._send("DELETE", headers, 5.0)
            if response.status_code not in (200, 202, 204, 404, 405):
                log.debug("DELETE of the session answered %s", response.status_code)
            response.close()
        except (TransportError, StreamTimeout) as exc:
            log.debug("DELETE of the session failed: %s", exc)

    def close(self) -> None:
        with self._state:
            if self._closing:
                return
            self._closing = True
            self._state.notify_all()
            self._listener_settled.set()
            listener = self._listener
            response = self._listener_response
        if response is not None:
            abort_response(response)
        if listener is not None and listener is not threading.current_thread():
            listener.join(10.0)
        self.end_session()
        if self._own_http:
            self._http.close()

    def reset_after_fork(self, http: Optional[requests.Session] = None) -> None:
        self._state = threading.Condition(threading.Lock())
        self._listener = None
        self._listener_response = None
        self._listener_settled = threading.Event()
        if http is not None:
            self._http = http
        elif self._own_http:
            self._http = new_http()
        # The parent still uses the session; the child starts its own on next use.
        self._session_id = None
        self._open = False
        self._handshaking = False
