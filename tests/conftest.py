"""Settings every test shares."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The test helpers under tests/support are imported as the package "support".
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from mcp_sync import client as client_module  # noqa: E402


@pytest.fixture(autouse=True)
def _forget_server_eras():
    """Each test finds a server's era afresh: the client remembers it per origin."""
    client_module._era_cache.clear()
    yield
    client_module._era_cache.clear()
