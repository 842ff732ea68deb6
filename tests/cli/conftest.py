"""Fixtures for the ``mcp-sync`` command-line tests.

The CLI runs as ``python -m mcp_sync`` in a subprocess (with the repository root on
``PYTHONPATH``), against the official MCP SDK servers from ``tests/servers``, which
run on the server virtualenv's python (``tests/support/server_env.py``).

Fixtures
--------
``cli_server_python``  the server virtualenv's python (session scope); set-up failures
                       fail the tests, they never skip them
``cli_server``         one everything_server.py over HTTP, shared by the session
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

from support.server_env import REPO_ROOT, server_python  # noqa: E402
from support.server_process import ServerProcess  # noqa: E402
from support.stdio_servers import everything_stdio_command  # noqa: E402

_CLI_DIR = Path(__file__).resolve().parent
_SERVER_FIXTURES = {"cli_server_python", "cli_server", "cli_stdio_command"}
CLI_TIMEOUT = 60  # seconds one CLI run may take

# Preparing the server virtualenv once after collection, so that a first-time install
# does not count against one test's timeout; an error is raised by the fixtures.
_prepared: dict[str, Any] = {}


def _in_this_dir(item: pytest.Item) -> bool:
    return Path(str(item.path)).resolve().is_relative_to(_CLI_DIR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _in_this_dir(item):
            item.add_marker(pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    needs_server = any(
        _SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())) for item in session.items
    )
    if needs_server and "python" not in _prepared and "error" not in _prepared:
        try:
            _prepared["python"] = server_python()
        except Exception as exc:
            _prepared["error"] = exc


@pytest.fixture(scope="session")
def cli_server_python() -> str:
    if "error" in _prepared:
        raise _prepared["error"]
    if "python" not in _prepared:
        _prepared["python"] = server_python()
    return str(_prepared["python"])


@pytest.fixture(scope="session")
def cli_server(cli_server_python: str) -> Iterator[ServerProcess]:
    """everything_server.py over HTTP; the tests only read from it, so they share it."""
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
