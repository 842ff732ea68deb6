"""One mcp_sync.Client per process, created on first use and shared by every thread.

Not created at import time or in ``AppConfig.ready()``: management commands, migrations
and test discovery import this module too, and none of them should open a connection to
the MCP server. A forking server (gunicorn ``--preload``, Celery prefork, uWSGI) would
also copy a client made that early into every worker.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any, Optional

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

import mcp_sync

# A page should not wait the client's default of a minute for one tool.
TIMEOUT = 10.0

_lock = threading.Lock()
_client: Optional[mcp_sync.Client] = None


def get_client() -> mcp_sync.Client:
    """The process's client, created on first use."""
    global _client
    client = _client
    if client is not None:
        return client
    with _lock:
        # Another thread may have created it while this one waited for the lock.
        client = _client
        if client is None:
            # Creating a client does no I/O. The first call connects, and the client
            # lets one thread run the handshake while the others wait for it.
            client = _client = mcp_sync.Client(settings.MCP_SERVER_URL, timeout=TIMEOUT)
        return client


def reset_client() -> None:
    """Close the client, if there is one; the next get_client() creates a new one."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()


# Ends the session, so the server can free it now rather than when it times out.
atexit.register(reset_client)


@receiver(setting_changed)
def _server_changed(setting: str, **kwargs: Any) -> None:
    # override_settings() in tests: the next call must go to the new server.
    if setting == "MCP_SERVER_URL":
        reset_client()


def _after_fork_in_child() -> None:
    # mcp_sync resets every client in a forked child itself (its own connection pool, no
    # threads, a new session on the next call), so the child may keep using the client
    # it inherited, and closing it there leaves the parent's session alone. Our lock is
    # not mcp_sync's: had another thread held it at the fork, it would stay held in the
    # child for good.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
