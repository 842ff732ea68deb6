"""Fixtures for the ``mcp-sync`` command-line tests.

The CLI runs as ``python -m mcp_sync`` in a subprocess (with the repository root on
``PYTHONPATH``), against the official MCP SDK servers from ``tests/servers``, which
run on the server virtualenv's python (``tests/support/server_env.py``).

Fixtures
--------
``cli_server_python``  the server virtualenv's python (session scope); set-up failures
                       fail the tests, they never skip them
``cli_server``         everything_server.py over HTTP, then its in-process mirror
                       (tests/support/everything_mirror.py), each shared by a module
``cli_stdio_command``  argv that starts everything_server.py over stdio
``cli_env``            the environment the CLI runs in: PYTHONPATH, and a private
                       XDG_CONFIG_HOME so OAuth tokens land in a temporary directory
``run_cli``            ``run_cli(*args, env=None, input=None)`` -> CompletedProcess (text)

Every test in this directory gets the ``integration`` marker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

_TESTS_DIR = Path(__file__).resolve().parents[1]
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

from support.everything_mirror import everything_mirror  # noqa: E402
from support.server_env import (  # noqa: E402
    REPO_ROOT,
    mark_directory,
    prepare_after_collection,
    prepared_server_python,
)
from support.server_process import ServerProcess  # noqa: E402
from support.stdio_servers import everything_stdio_command  # noqa: E402

_SERVER_FIXTURES = {"cli_server_python", "cli_server", "cli_stdio_command"}
CLI_TIMEOUT = 60  # seconds one CLI run may take


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_directory(items, Path(__file__).resolve().parent, pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    prepare_after_collection(session, _SERVER_FIXTURES)


@pytest.fixture(scope="session")
def cli_server_python() -> str:
    return prepared_server_python()


@pytest.fixture(scope="module", params=["official-sdk", "mcp_sync.testing"])
def cli_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The server the read-only CLI tests share: everything_server.py in its own process
    (official SDK), then its mirror on mcp_sync.testing in this process. Each has ``.url``."""
    if request.param == "mcp_sync.testing":
        with everything_mirror() as mirror:
            yield mirror
        return
    request.getfixturevalue("cli_server_python")
    server = ServerProcess()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def cli_stdio_command(cli_server_python: str) -> list[str]:
    return everything_stdio_command()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "PYTHONPATH")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(
        *args: str, env: Optional[dict[str, str]] = None, input: Optional[str] = None
    ) -> subprocess.CompletedProcess[str]:
        stdin: dict[str, Any] = (
            {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        )
        return subprocess.run(
            [sys.executable, "-m", "mcp_sync", *args],
            capture_output=True,
            text=True,
            **stdin,
            env=env if env is not None else cli_env,
            cwd=str(REPO_ROOT),
            timeout=CLI_TIMEOUT,
        )

    return run
