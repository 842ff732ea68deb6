"""The docs' examples run against real servers, some of them from the official MCP SDK
(its virtualenv is built once, after collection): every test here is an integration test."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.server_env import mark_directory, prepare_after_collection, prepared_server_python


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_directory(items, Path(__file__).resolve().parent, pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    prepare_after_collection(session, {"docs_server_python"})


@pytest.fixture(scope="session")
def docs_server_python() -> str:
    """The python of the official SDK's servers, which some pages start."""
    return prepared_server_python()
