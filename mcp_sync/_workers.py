"""A tiny pool of named daemon threads, so handlers never run on a stream-reading thread."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Optional

log = logging.getLogger("mcp_sync")

_STOP = None


class Workers:
    """Runs submitted callables on up to ``size`` daemon threads named ``mcp_sync-<name>-N``.

    With ``size=1`` work runs in submission order. Threads start on first use and
    ``close()`` joins them.
    """

    def __init__(self, name: str, size: int):
        self._name = name
        self._size = size
        # Work items for the threads; any thread may put, the worker threads take.
        self._queue: queue.SimpleQueue[Optional[Callable[[], None]]] = queue.SimpleQueue()
        # Guards _threads and _closed; touched by submitters and close().
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads waiting for work; guarded by _lock
        self._closed = False

    def submit(self, fn: Callable[[], None]) -> None:
        """Queue ``fn``; it is dropped (and logged) once the pool is closed."""
        with self._lock:
            if self._closed:
                log.debug("dropping work submitted after close")
                return
            if self._idle:
                self._idle -= 1  # an idle thread will take it
            elif len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._run,
                    name=f"mcp_sync-{self._name}-{len(self._threads) + 1}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
        self._queue.put(fn)

    def _run(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is _STOP:
                return
            try:
                fn()
            except Exception:  # a handler's bug must not kill the worker
                log.exception("error in an mcp_sync %s callback", self._name)
            with self._lock:
                self._idle += 1

    def close(self, timeout: float = 5.0) -> None:
        """Stop the threads and join them, waiting at most ``timeout`` seconds for each."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_STOP)
        self.join(timeout)

    def join(self, timeout: float = 5.0) -> None:
        """Wait at most ``timeout`` seconds for each thread (they stop after close())."""
        with self._lock:
            threads = list(self._threads)
        current = threading.current_thread()
        for thread in threads:
            if thread is not current and timeout > 0:
                thread.join(timeout)

    def reset_after_fork(self) -> None:
        """Forget the parent's threads in a forked child; new ones start on demand."""
        self._lock = threading.Lock()
        self._queue = queue.SimpleQueue()
        self._threads = []
        self._idle = 0
        self._closed = False
