"""A small, thread-safe cache of results that carry ``ttlMs`` (MCP 2026-07-28 caching)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Optional

__all__ = ["CACHEABLE_METHODS", "ResultCache"]

#: The requests whose complete results may carry ``ttlMs`` and ``cacheScope``.
CACHEABLE_METHODS = frozenset(
    {
        "server/discover",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
    }
)

# Which cached methods a notification makes stale.
_INVALIDATES = {
    "notifications/tools/list_changed": ("tools/list",),
    "notifications/prompts/list_changed": ("prompts/list",),
    "notifications/resources/list_changed": ("resources/list", "resources/templates/list"),
}


def cache_key(method: str, params: Optional[dict[str, Any]]) -> str:
    """The key of a request: its method and the params that shape the result (not ``_meta``)."""
    shaping = {k: v for k, v in (params or {}).items() if k != "_meta"}
    return method + " " + json.dumps(shaping, sort_keys=True, separators=(",", ":"))


class ResultCache:
    """Results kept until their ``ttlMs`` runs out or a notification makes them stale.

    One cache belongs to one client, and so to one authorization context: ``private``
    results never reach another client.
    """

    def __init__(self) -> None:
        # Guards _entries; caller threads read and write, the notify thread invalidates.
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, str, Any]] = {}  # key -> (expires, method, result)
        # Bumped by each invalidation, so a result fetched before one is not stored after it.
        self._generation = 0

    def get(self, key: str) -> Optional[Any]:
        """The fresh result stored under ``key``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() >= entry[0]:
                del self._entries[key]
                return None
            return entry[2]

    @property
    def generation(self) -> int:
        """Read before a request; pass to :meth:`put` so a stale answer is not kept."""
        return self._generation

    def put(self, key: str, method: str, result: Any, since: Optional[int] = None) -> None:
        """Keep ``result`` if it says how long it stays fresh (``ttlMs`` above zero).

        With ``since`` (a :attr:`generation`), nothing is kept if an invalidation came
        in between: the result may predate it.
        """
        if method not in CACHEABLE_METHODS or not isinstance(result, dict):
            return
        if result.get("resultType", "complete") != "complete":
            return  # only final results; never an input_required round
        ttl = result.get("ttlMs")
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            return
        with self._lock:
            if since is not None and since != self._generation:
                return
            self._entries[key] = (time.monotonic() + ttl / 1000.0, method, result)

    def invalidate(self, notification: str, params: Optional[dict[str, Any]] = None) -> None:
        """Drop what ``notification`` makes stale."""
        if notification == "notifications/resources/updated":
            uri = (params or {}).get("uri")
            key = cache_key("resources/read", {"uri": uri})
            with self._lock:
                self._generation += 1
                self._entries.pop(key, None)
            return
        methods = _INVALIDATES.get(notification)
        if methods is None:
            return
        with self._lock:
            self._generation += 1
            for key in [k for k, e in self._entries.items() if e[1] in methods]:
                del self._entries[key]

    def clear(self) -> None:
        """Forget everything (a new session, a new era, a fork)."""
        with self._lock:
            self._entries.clear()
