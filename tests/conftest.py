"""Settings every test shares."""

from __future__ import annotations

import pytest

from mcp_sync import client as client_module


@pytest.fixture(autouse=True)
def _forget_server_eras():
    """Each test finds a server's era afresh: the client remembers it per origin."""
    client_module._era_cache.clear()
    yield
    client_module._era_cache.clear()
