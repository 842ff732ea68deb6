"""The one small interface every transport implements."""

from __future__ import annotations

import abc
from typing import Any, Callable, Optional

from ..engine import Call
from ..errors import SessionExpiredError, TransportError
from ..jsonrpc import Message

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "MessageSink", "SessionLost", "StreamBroken", "Transport"]

#: The largest message (a JSON body, an SSE event, a stdio line) read from a server, in bytes.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

#: Where a transport delivers each message it reads: ``sink(message, origin_call)``.
MessageSink = Callable[[Message, "Optional[Call]"], None]


class SessionLost(SessionExpiredError):
    """The server no longer knows the session of ``generation``; recovery may start a new one."""

    def __init__(
        self, generation: int, rule: str, *, status: Optional[int] = None, body_excerpt: str = ""
    ):
        self.generation = generation
        self.rule = rule
        super().__init__(
            f"the server no longer knows the session ({rule})",
            status=status,
            body_excerpt=body_excerpt,
        )


class StreamBroken(TransportError):
    """A request's stream ended before its response, and could not be resumed.

    ``generation`` is the session the request was sent on: when that session turns
    out to be gone, the request is resent on a new one.
    """

    def __init__(self, message: str, generation: int):
        self.generation = generation
        super().__init__(message)


class Transport(abc.ABC):
    """Carries JSON-RPC messages to one server and hands what it reads to a sink.

    ``send_request`` performs one request's exchange on the calling thread and
    delivers every message it reads, the response included, to the sink; it returns
    once the call is done or no more can be read for it. ``send_message`` sends a
    notification or a response, which get no answer.
    """

    #: Whether a JSON array (a batch) is acceptable from the server (2025-03-26 only).
    allow_batch: bool = False

    #: Whether a cancelled or timed-out request is announced with ``notifications/cancelled``
    #: (legacy transports); modern HTTP cancels by closing the response stream instead.
    cancel_by_notification: bool = True

    #: The largest message read from the server, in bytes (``None``: no limit); the client
    #: sets it before any I/O.
    max_message_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE

    def bind(self, sink: MessageSink) -> None:
        """Set where read messages go; called once, before any I/O."""
        self._sink = sink

    @abc.abstractmethod
    def send_request(self, message: dict[str, Any], call: Call) -> None:
        """Send a request and read until ``call`` is done or its streams end."""

    @abc.abstractmethod
    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        """Send a notification or a response."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release every connection and thread; idempotent."""

    def hidden(self) -> tuple[str, ...]:
        """Credentials this transport sends, which logs and errors must not show."""
        return ()

    # Session hooks; transports without sessions keep these defaults.

    @property
    def session_id(self) -> Optional[str]:
        """The server-issued session id, or None."""
        return None

    @property
    def generation(self) -> int:
        """Counts the sessions started on this transport, so a stale failure can be recognised."""
        return 0

    def begin_session(self) -> None:
        """A handshake starts: forget the current session; other requests wait for the new one."""

    def session_negotiated(self, protocol_version: str) -> None:
        """The server answered the handshake: send ``protocol_version`` from now on."""

    def session_opened(self) -> None:
        """The handshake finished: let waiting requests go, open listeners."""

    def session_failed(self) -> None:
        """The handshake failed: waiting requests fail and may start another one."""

    def end_session(self) -> None:
        """Tell the server the session is over, if the transport has a way to; ``close()`` does."""

    def reset_after_fork(self, http: Any = None) -> None:
        """In a forked child: drop the parent's connections, threads and locks.

        ``http`` is the child's new connection pool, when the client shares one.
        """
