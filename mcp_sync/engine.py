"""The JSON-RPC engine: request ids, pending requests, dispatch, timeouts, cancellation.

It knows nothing about HTTP. A transport carries messages both ways: the engine
hands it each outgoing request together with its :class:`Call`, and the transport
feeds every message it reads, on whatever thread reads it, to :meth:`Engine.receive`.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import jsonrpc
from ._wirelog import log_incoming, log_outgoing
from ._workers import Workers
from .errors import (
    ClientClosedError,
    MCPError,
    MCPSyncError,
    RequestCancelled,
    RequestTimeout,
)
from .jsonrpc import ErrorResponse, Message, Notification, Request, RequestId, Response

if TYPE_CHECKING:
    from .transports.base import Transport

__all__ = ["Call", "CancelToken", "Engine", "ProgressCallback"]

log = logging.getLogger("mcp_sync")

#: ``progress(progress, total, message)``, called for each progress notification of a request.
ProgressCallback = Callable[[float, Optional[float], Optional[str]], None]

#: ``handler(method, params) -> result dict``; raises :class:`MCPError` to answer with an error.
RequestHandler = Callable[[str, dict[str, Any]], Any]

#: ``handler(method, params)`` for notifications other than progress and cancelled.
NotificationHandler = Callable[[str, dict[str, Any]], None]

# How long a cancellation notice may take to send; it is best effort.
_CANCEL_NOTICE_TIMEOUT = 5.0
# How long the answer to a server request may take to send.
_ANSWER_TIMEOUT = 30.0


class CancelToken:
    """Cancels requests from another thread: pass it as ``cancel=`` and call :meth:`cancel`.

    Cancelling sends ``notifications/cancelled`` for each request bound to the token and
    makes the waiting call raise :class:`~mcp_sync.RequestCancelled`. A token stays
    cancelled: a request started with a cancelled token fails at once.
    """

    def __init__(self) -> None:
        # Guards _reason, _cancelled and _calls; touched by callers and the cancelling thread.
        self._lock = threading.Lock()
        self._cancelled = False
        self._reason: Optional[str] = None
        self._calls: set[Call] = set()
        # Wakes a task wait paused on this token when it is cancelled.
        self._wake = threading.Condition(threading.Lock())

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled

    @property
    def reason(self) -> Optional[str]:
        """The reason given to :meth:`cancel`, if any."""
        return self._reason

    def cancel(self, reason: Optional[str] = None) -> None:
        """Cancel every request bound to this token, now and later. Idempotent."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            self._reason = reason
            calls = list(self._calls)
        with self._wake:
            self._wake.notify_all()
        for call in calls:
            call.interrupt(Call.CANCELLED)

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the token is cancelled meanwhile."""
        with self._wake:
            if not self._cancelled:
                self._wake.wait(seconds)

    def _bind(self, call: Call) -> bool:
        with self._lock:
            if self._cancelled:
                return False
            self._calls.add(call)
            return True

    def _unbind(self, call: Call) -> None:
        with self._lock:
            self._calls.discard(call)


class Call:
    """One outgoing request while it waits for its response.

    The transport reads ``read_timeout`` for socket reads, calls :meth:`check` between
    chunks, and registers with :meth:`set_abort` how to break a blocked read, so that
    a timeout or a cancel from another thread takes effect at once.
    """

    PENDING, DONE, CANCELLED, TIMED_OUT, FAILED = range(5)

    __slots__ = (
        "_abort",
        "_cond",
        "_inbox",
        "_owner",
        "deadline",
        "error",
        "extended",
        "hard_deadline",
        "id",
        "method",
        "progress",
        "read_timeout",
        "reset_on_progress",
        "result",
        "started",
        "state",
        "timeout",
    )

    def __init__(
        self,
        id: RequestId,
        method: str,
        timeout: Optional[float],
        max_timeout: Optional[float],
        progress: Optional[ProgressCallback],
        reset_on_progress: bool,
    ):
        now = time.monotonic()
        self.id = id
        self.method = method
        self.timeout = timeout
        self.read_timeout = timeout
        self.started = now
        self.extended = False  # progress moved the deadline
        self.hard_deadline = None if max_timeout is None else now + max(max_timeout, timeout or 0)
        self.deadline = None if timeout is None else now + timeout
        self.progress = progress
        self.reset_on_progress = reset_on_progress
        self.state = Call.PENDING
        self.result: Any = None
        self.error: Optional[BaseException] = None
        # Guards state, result, error, deadline and _inbox; the caller waits on it while
        # reading threads deliver into it.
        self._cond = threading.Condition(threading.Lock())
        self._inbox: list[Callable[[], None]] = []
        # The calling thread: progress read elsewhere is queued for it, never run by readers.
        self._owner = threading.get_ident()
        # Set by the transport on the caller's thread, called by a cancelling or closing thread.
        self._abort: Optional[Callable[[], None]] = None

    @property
    def done(self) -> bool:
        """Whether the call has its outcome (a result, an error, a cancel or a timeout)."""
        return self.state != Call.PENDING

    def remaining(self) -> Optional[float]:
        """Seconds left before the deadline, or None for no timeout."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise an internal interrupt if the call was cancelled or its time ran out."""
        if (
            self.state == Call.PENDING
            and self.deadline is not None
            and time.monotonic() >= self.deadline
        ):
            self.interrupt(Call.TIMED_OUT)
        if self.state in (Call.CANCELLED, Call.TIMED_OUT):
            raise CallInterrupted(self.state)

    def set_abort(self, abort: Optional[Callable[[], None]]) -> None:
        """Register how to break the transport's blocked read (None to unregister)."""
        self._abort = abort

    def interrupt(self, state: int) -> None:
        """Mark the call cancelled or timed out and break any read it is blocked in."""
        with self._cond:
            if self.state != Call.PENDING:
                return
            self.state = state
            self._cond.notify_all()
        self.abort_read()

    def abort_read(self) -> None:
        """Break the transport's blocked read, when another thread than the caller asks."""
        abort = self._abort
        if abort is not None and threading.get_ident() != self._owner:
            try:
                abort()
            except Exception:  # best effort: the read timeout still bounds the wait
                log.debug("aborting the read of %s failed", self.method, exc_info=True)

    def complete(self, result: Any = None, error: Optional[BaseException] = None) -> bool:
        """Deliver the outcome; False if the call had already finished (a late response)."""
        with self._cond:
            if self.state != Call.PENDING:
                return False
            self.result = result
            self.error = error
            self.state = Call.FAILED if error is not None else Call.DONE
            self._cond.notify_all()
            return True

    def shift_deadline(self, seconds: float) -> None:
        """Move the deadlines ``seconds`` later: time spent waiting for a person does not count."""
        with self._cond:
            if self.deadline is not None:
                self.deadline += seconds
            if self.hard_deadline is not None:
                self.hard_deadline += seconds

    def on_progress(self, progress: float, total: Optional[float], message: Optional[str]) -> None:
        """Restart the timeout (up to the hard deadline) and pass the progress to the caller."""
        callback = self.progress
        with self._cond:
            if self.state != Call.PENDING:
                return
            if self.reset_on_progress and self.timeout is not None:
                deadline = time.monotonic() + self.timeout
                if self.hard_deadline is not None:
                    deadline = min(deadline, self.hard_deadline)
                self.deadline = deadline
                self.extended = True
            if callback is None:
                return
            if threading.get_ident() != self._owner:
                # Another thread read it: the caller runs it, so progress reaches the
                # user in order and before the result, and no reader is blocked.
                self._inbox.append(lambda: callback(progress, total, message))
                self._cond.notify_all()
                return
        _run_progress(callback, progress, total, message)

    def wait(self) -> None:
        """Block the calling (owner) thread until the call finishes or its deadline passes."""
        cond = self._cond
        while True:
            with cond:
                inbox, self._inbox = self._inbox, []
                if not inbox:
                    if self.state != Call.PENDING:
                        return
                    remaining = self.remaining()
                    if remaining is not None and remaining <= 0:
                        self.state = Call.TIMED_OUT
                        return
                    cond.wait(remaining)
                    continue
            for job in inbox:
                job()

    def drain(self) -> None:
        """Run progress callbacks that other threads queued for the caller."""
        with self._cond:
            inbox, self._inbox = self._inbox, []
        for job in inbox:
            job()


def _run_progress(
    callback: ProgressCallback, progress: float, total: Optional[float], message: Optional[str]
) -> None:
    try:
        callback(progress, total, message)
    except Exception:
        log.exception("error in a progress callback")


def _is_key(value: Any) -> bool:
    """Whether a server-sent token or id can name a request (strings and integers only)."""
    return isinstance(value, (str, int)) and not isinstance(value, bool)


# The call whose request the current thread is sending, if any, and whether a person
# may be asked to sign in for it. Set and cleared on that thread by the transport; read
# on the same thread by auth code that waits for a person.
_current = threading.local()


@contextmanager
def sending(call: object) -> Iterator[None]:
    """Mark ``call`` (a :class:`Call`; anything else counts as none) as the one this
    thread is sending a request for."""
    previous = getattr(_current, "call", None)
    _current.call = call if isinstance(call, Call) else None
    try:
        yield
    finally:
        _current.call = previous


@contextmanager
def in_background() -> Iterator[None]:
    """Mark this thread's requests as background ones (listener streams): nobody is
    there to sign in for them."""
    previous = getattr(_current, "background", False)
    _current.background = True
    try:
        yield
    finally:
        _current.background = previous


def is_background() -> bool:
    return bool(getattr(_current, "background", False))


def raise_if_cancelled() -> None:
    """Stop a wait on behalf of the call being sent if that call was cancelled or closed."""
    call: Optional[Call] = getattr(_current, "call", None)
    if call is not None and call.done:  # cancelled, or failed by the client's close()
        raise CallInterrupted(call.state)


@contextmanager
def waiting_for_person() -> Iterator[None]:
    """Leave the time spent inside out of the timeout of the call being sent, if any.

    Used while a person completes an interactive authorization in a browser.
    """
    call: Optional[Call] = getattr(_current, "call", None)
    started = time.monotonic()
    try:
        yield
    finally:
        if call is not None:
            call.shift_deadline(time.monotonic() - started)


class CallInterrupted(Exception):
    """Internal: a transport's read stopped because its call was cancelled or timed out."""

    def __init__(self, state: int):
        self.state = state
        super().__init__("call interrupted")


class StreamTimeout(Exception):
    """Internal: a transport read waited ``read_timeout`` seconds and got nothing."""


class _Inbound:
    """A request the server sent us, while its handler runs."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        # Set by the reading thread on notifications/cancelled, read by the handler thread.
        self.cancelled = False


class Engine:
    """Correlates requests and responses and dispatches what the server sends.

    Thread-safe: any number of threads may call :meth:`request` at once, and any
    number of reading threads may call :meth:`receive`.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        request_handler: RequestHandler,
        notification_handler: NotificationHandler,
        handler_threads: int = 4,
    ):
        self.transport = transport
        self._request_handler = request_handler
        self._notification_handler = notification_handler
        # Request ids: next() on itertools.count is atomic, so no lock is needed. Ids keep
        # counting across re-initialization, so an id is never reused on a connection.
        self._ids = itertools.count(1)
        # Guards _pending, _progress_calls, _inbound and _closed; touched by callers,
        # reading threads and handler threads.
        self._lock = threading.Lock()
        self._pending: dict[RequestId, Call] = {}
        self._progress_calls: dict[Any, Call] = {}
        self._inbound: dict[RequestId, _Inbound] = {}
        self._closed = False
        # Server requests run here, concurrently; notifications run on one thread, in order.
        self._handlers = Workers("handler", handler_threads)
        self._notifier = Workers("notify", 1)

    # --- outgoing -------------------------------------------------------------------------

    def next_id(self) -> int:
        """A request id never used before on this engine."""
        return next(self._ids)

    def request(
        self,
        method: str,
        params: Optional[dict[str, Any]] = None,
        *,
        timeout: Optional[float],
        max_timeout: Optional[float] = None,
        progress: Optional[ProgressCallback] = None,
        reset_on_progress: bool = True,
        cancel: Optional[CancelToken] = None,
    ) -> Any:
        """Send a request and return its ``result``, blocking the calling thread.

        Raises :class:`MCPError` for an error response, :class:`RequestTimeout` when
        no response came in time, :class:`RequestCancelled` when ``cancel`` fired, and
        the transport's errors as they are.
        """
        call = Call(self.next_id(), method, timeout, max_timeout, progress, reset_on_progress)
        if progress is not None:
            meta = dict((params or {}).get("_meta") or {})
            meta["progressToken"] = call.id
            params = dict(params or {})
            params["_meta"] = meta
        message = jsonrpc.request(call.id, method, params)
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client is closed")
            self._pending[call.id] = call
            if progress is not None:
                self._progress_calls[call.id] = call
        if cancel is not None and not cancel._bind(call):
            self._forget(call)
            raise RequestCancelled(method, cancel.reason)
        try:
            try:
                log_outgoing(message, self.transport)
                self.transport.send_request(message, call)
                call.wait()
            except CallInterrupted:
                pass
            except StreamTimeout:
                call.interrupt(Call.TIMED_OUT)
            except KeyboardInterrupt:
                # Ctrl-C in a script or a notebook: the server should stop the work too.
                if not call.done:
                    self._send_cancel(call, "interrupted")
                raise
            except BaseException:
                if not call.done:
                    raise
            call.drain()
            return self._outcome(call, cancel)
        finally:
            self._forget(call)
            if cancel is not None:
                cancel._unbind(call)

    def _outcome(self, call: Call, cancel: Optional[CancelToken]) -> Any:
        state = call.state
        if state == Call.DONE:
            return call.result
        if state == Call.FAILED:
            assert call.error is not None
            raise call.error
        if state == Call.CANCELLED:
            reason = cancel.reason if cancel is not None else None
            self._send_cancel(call, reason or "cancelled by the client")
            raise RequestCancelled(call.method, reason)
        self._send_cancel(call, "timed out")
        waited = call.timeout or 0.0
        if call.extended:  # progress stretched the wait: report how long it really was
            waited = round(time.monotonic() - call.started, 3)
        raise RequestTimeout(call.method, waited)

    def _forget(self, call: Call) -> None:
        with self._lock:
            self._pending.pop(call.id, None)
            self._progress_calls.pop(call.id, None)

    def _send_cancel(self, call: Call, reason: str) -> None:
        if call.method == "initialize":
            return  # the spec forbids cancelling initialize
        if not self.transport.cancel_by_notification:
            return  # the transport closed the request's stream, which is the cancel
        notice = jsonrpc.notification(
            "notifications/cancelled", {"requestId": call.id, "reason": reason}
        )

        def send() -> None:
            try:
                log_outgoing(notice, self.transport)
                self.transport.send_message(notice, timeout=_CANCEL_NOTICE_TIMEOUT)
            except Exception as exc:  # best effort: the caller has its answer already
                log.debug("could not send notifications/cancelled for %s: %s", call.method, exc)

        # On a handler thread, so the caller gets its timeout now, not after another round trip.
        self._handlers.submit(send)

    def notify(
        self, method: str, params: Optional[dict[str, Any]] = None, *, timeout: Optional[float]
    ) -> None:
        """Send a notification."""
        if self._closed:
            raise ClientClosedError("the client is closed")
        message = jsonrpc.notification(method, params)
        log_outgoing(message, self.transport)
        self.transport.send_message(message, timeout=timeout)

    # --- incoming -------------------------------------------------------------------------

    def receive(self, message: Message, origin: Optional[Call] = None) -> None:
        """Take one message the transport read. ``origin`` is the call whose stream carried it."""
        log_incoming(message, self.transport)
        if isinstance(message, (Response, ErrorResponse)):
            self._receive_response(message, origin)
        elif isinstance(message, Notification):
            self._receive_notification(message)
        else:
            self._receive_request(message)

    def _receive_response(self, message: Any, origin: Optional[Call]) -> None:
        with self._lock:
            call = self._pending.get(message.id) if message.id is not None else origin
        if call is None:
            log.debug("dropping a response to unknown or finished request id %r", message.id)
            return
        if isinstance(message, Response):
            delivered = call.complete(result=message.result)
        else:
            delivered = call.complete(
                error=MCPError(message.code, message.message, message.data, method=call.method)
            )
        if not delivered:
            log.debug("dropping a late response to %s (id %r)", call.method, message.id)

    def _receive_notification(self, message: Notification) -> None:
        params = message.params or {}
        if message.method == "notifications/progress":
            token = params.get("progressToken")
            with self._lock:
                call = self._progress_calls.get(token) if _is_key(token) else None
            if call is None:
                log.debug("dropping progress for an unknown token")
                return
            progress = params.get("progress")
            if not isinstance(progress, (int, float)):
                log.warning("dropping a progress notification without a numeric progress")
                return
            total = params.get("total")
            message_text = params.get("message")
            call.on_progress(
                progress,
                total if isinstance(total, (int, float)) else None,
                message_text if isinstance(message_text, str) else None,
            )
            return
        if message.method == "notifications/cancelled":
            request_id = params.get("requestId")
            with self._lock:
                inbound = self._inbound.get(request_id) if _is_key(request_id) else None  # type: ignore[arg-type]
            if inbound is not None:
                inbound.cancelled = True
                log.info(
                    "server cancelled its request %r: %s",
                    params.get("requestId"),
                    params.get("reason"),
                )
        handler = self._notification_handler
        method = message.method
        self._notifier.submit(lambda: handler(method, params))

    def _receive_request(self, message: Request) -> None:
        inbound = _Inbound()
        with self._lock:
            if self._closed:
                return
            self._inbound[message.id] = inbound
        self._handlers.submit(lambda: self._answer(message, inbound))

    def _answer(self, message: Request, inbound: _Inbound) -> None:
        try:
            result = self._request_handler(message.method, message.params or {})
            reply = jsonrpc.response(message.id, result)
        except MCPError as exc:
            reply = jsonrpc.error_response(message.id, exc.code, exc.message, exc.data)
        except Exception:
            log.exception("the handler for the server's %s request failed", message.method)
            reply = jsonrpc.error_response(
                message.id, jsonrpc.INTERNAL_ERROR, "client handler failed"
            )
        finally:
            with self._lock:
                self._inbound.pop(message.id, None)
        if inbound.cancelled:
            log.debug("not answering %s: the server cancelled it", message.method)
            return
        try:
            jsonrpc.encode(reply)
        except (TypeError, ValueError) as exc:
            log.error("the answer to the server's %s request is not JSON: %s", message.method, exc)
            reply = jsonrpc.error_response(
                message.id, jsonrpc.INTERNAL_ERROR, "client handler failed"
            )
        try:
            log_outgoing(reply, self.transport)
            self.transport.send_message(reply, timeout=_ANSWER_TIMEOUT)
        except MCPSyncError as exc:
            log.warning(
                "could not send the answer to the server's %s request: %s", message.method, exc
            )

    # --- lifecycle ------------------------------------------------------------------------

    def fail_pending(self, error: MCPSyncError) -> None:
        """Fail every waiting request with ``error`` (used when the connection is lost for good)."""
        with self._lock:
            calls = list(self._pending.values())
        for call in calls:
            if call.complete(error=error):
                call.abort_read()

    def close(self, join: bool = True) -> None:
        """Fail waiting requests with :class:`ClientClosedError` and stop the handler threads.

        With ``join=False`` it does not wait for them: call :meth:`join` after closing the
        transport, which may be what they are blocked on.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            calls = list(self._pending.values())
        for call in calls:
            call.complete(error=ClientClosedError("the client was closed while the request waited"))
            call.abort_read()
        self._handlers.close(timeout=0)
        self._notifier.close(timeout=0)
        if join:
            self.join()

    def join(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout`` seconds each) for the handler threads to end, after close()."""
        self._handlers.join(timeout)
        self._notifier.join(timeout)

    def reset_after_fork(self) -> None:
        """In a forked child: drop the parent's pending requests, locks and threads."""
        self._lock = threading.Lock()
        self._pending = {}
        self._progress_calls = {}
        self._inbound = {}
        self._handlers.reset_after_fork()
        self._notifier.reset_after_fork()
