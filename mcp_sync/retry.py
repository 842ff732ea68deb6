"""Retrying transient failures: an immutable policy and its pure decision function."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Optional

from .errors import ConnectError, HTTPStatusError, SessionExpiredError, TransportError

__all__ = ["RetryPolicy"]

# Statuses that say the server did not process the request: safe to send again whatever it is.
_NOT_PROCESSED = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How a request is sent again after a transient failure: an immutable value.

    Transient failures are a connection that could not be made, a connection that broke,
    and the HTTP ``statuses`` (429, 502, 503 and 504 by default). A request is sent again
    up to ``max_retries`` times, after ``backoff`` seconds, doubled each time up to
    ``backoff_max``, with a random part (so that many clients do not come back at once);
    a ``Retry-After`` from the server is waited instead, when ``respect_retry_after``
    (a longer one than ``max_retry_after`` seconds gives up at once). No wait goes past
    the call's deadline.

    A ``tools/call`` may have run on the server when its connection broke or a gateway
    answered 502 or 504, so it is sent again only when it surely did not reach the
    server (no connection, 429, 503), unless ``retry_tool_calls`` says your tools are
    safe to run twice. ``RetryPolicy(max_retries=0)`` never retries. (Apart from this
    policy, the 2026-07-28 spec requires a request lost with its stream to be issued anew
    once, tool calls included.)
    """

    max_retries: int = 3
    backoff: float = 0.25
    backoff_max: float = 8.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    respect_retry_after: bool = True
    max_retry_after: float = 60.0
    retry_tool_calls: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise ValueError("max_retries must be an integer")
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        for name in ("backoff", "backoff_max", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of seconds, 0 or more")
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    def retryable(self, error: BaseException, method: str) -> bool:
        """Whether ``error``, raised by a ``method`` request, may be retried at all."""
        if getattr(error, "permanent", False):
            return False  # a refused certificate or redirect: the same again next time
        if isinstance(error, ConnectError):
            return True  # the request never left
        if isinstance(error, HTTPStatusError):
            if error.status not in self.statuses:
                return False
            return error.status in _NOT_PROCESSED or self._may_repeat(method)
        if isinstance(error, SessionExpiredError):
            return False  # session recovery has had its say
        if isinstance(error, TransportError):
            return self._may_repeat(method)
        return False

    def delay(self, retry: int, error: BaseException, method: str) -> Optional[float]:
        """Seconds to wait before retry number ``retry`` (1 for the first), or None when
        ``error`` is not to be retried (not transient, or the retries are used up)."""
        if retry > self.max_retries or not self.retryable(error, method):
            return None
        asked = error.retry_after if isinstance(error, HTTPStatusError) else None
        if asked is not None and self.respect_retry_after:
            # Sooner than the server asked would only be refused again.
            return asked if asked <= self.max_retry_after else None
        ceiling = min(self.backoff * 2 ** (retry - 1), self.backoff_max)
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": at least half the wait

    def _may_repeat(self, method: str) -> bool:
        return method != "tools/call" or self.retry_tool_calls
