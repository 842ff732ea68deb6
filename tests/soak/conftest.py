"""The soak test runs real sockets, a proxy and many threads: an integration test."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.server_env import mark_directory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_directory(items, Path(__file__).resolve().parent, pytest.mark.integration)
