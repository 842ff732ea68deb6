"""The pytest plugin: its fixtures in a pytest run of their own, and its entry point."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PLUGIN_ARGS = ["-p", "mcp_sync.testing.pytest_plugin", "-p", "no:cacheprovider"]

USER_TESTS = """
import pytest
import mcp_sync


def test_the_fixture_serves(mcp_server, mcp_server_url):
    @mcp_server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    assert mcp_server_url == mcp_server.url
    with mcp_sync.Client(mcp_server_url, timeout=10) as client:
        assert client.era == "modern"
        assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"


@pytest.mark.mcp_server(eras=("legacy",))
def test_the_marker_passes_options(mcp_server):
    with mcp_sync.Client(mcp_server.url, timeout=10) as client:
        assert client.era == "legacy"


def test_each_test_gets_a_new_server(mcp_server):
    assert mcp_server.requests == []


def test_no_server_threads_are_left():
    import threading

    assert not [t for t in threading.enumerate() if t.name.startswith("mcp_sync-testserver")]
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # load the plugin once, by -p, installed or not
    return env


def test_the_fixtures_work_in_a_users_test_run(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "test_user.py", *PLUGIN_ARGS],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout


def test_loading_the_plugin_does_not_import_the_server():
    code = (
        "import sys, mcp_sync.testing.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('mcp_sync.testing.')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['mcp_sync.testing.pytest_plugin']"


def test_the_plugin_is_a_pytest11_entry_point():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    entries = config["options.entry_points"]["pytest11"].split("\n")
    assert "mcp_sync = mcp_sync.testing.pytest_plugin" in [e.strip() for e in entries]
