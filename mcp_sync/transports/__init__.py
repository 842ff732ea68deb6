"""Transports carry JSON-RPC messages between the engine and a server.

Each one implements the small :class:`~mcp_sync.transports.base.Transport` interface.
"""

from .base import Transport

__all__ = ["Transport"]
