"""A stdio server inherits only an allow-list of this process's environment."""

from __future__ import annotations

import json
import sys

import pytest

import mcp_sync
from mcp_sync.transports.stdio import DEFAULT_ENV_VARS, safe_environment

SECRETS = {
    "OPENAI_API_KEY": "sk-0d9c8b7a",
    "AWS_SECRET_ACCESS_KEY": "aws-1e2f3a4b",
    "GITHUB_TOKEN": "ghp-5c6d7e8f",
    "MCP_SYNC_TEST_PASSWORD": "pw-9a0b1c2d",
}
# Variables that change what a server process runs, whatever it is.
INJECTORS = {
    "PYTHONSTARTUP": "/nonexistent/startup.py",
    "PYTHONPATH": "/nonexistent",
    "NODE_OPTIONS": "--require /nonexistent/hook.js",
    "LD_PRELOAD": "",
    "BASH_ENV": "/nonexistent/env.sh",
}

# A "server" that writes the environment it got to a file and exits.
DUMP = "import json, os, sys\nopen(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))\n"


@pytest.fixture
def environment(monkeypatch):
    for name, value in {**SECRETS, **INJECTORS}.items():
        monkeypatch.setenv(name, value)


def test_safe_environment_keeps_only_the_allow_list(environment):
    env = safe_environment()
    assert set(env) <= set(DEFAULT_ENV_VARS)
    assert not set(env) & (set(SECRETS) | set(INJECTORS))


def test_an_exported_shell_function_is_not_passed_on(monkeypatch):
    name = DEFAULT_ENV_VARS[-1]
    monkeypatch.setenv(name, "() { :; }; echo injected")
    assert name not in safe_environment()


def test_what_the_caller_passes_in_env_is_added(environment):
    env = safe_environment({"SERVICE_KEY": "given"})
    assert env["SERVICE_KEY"] == "given"
    assert "OPENAI_API_KEY" not in env


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX allow-list and a POSIX child")
def test_a_stdio_server_process_sees_no_secret_from_the_parent(environment, tmp_path):
    out = tmp_path / "env.json"
    client = mcp_sync.Client(
        [sys.executable, "-c", DUMP, str(out)], env={"GIVEN": "yes"}, timeout=5
    )
    try:
        with pytest.raises(mcp_sync.MCPSyncError):
            client.connect()  # the "server" exits without a word
    finally:
        client.close()
    seen = json.loads(out.read_text())
    assert seen.get("GIVEN") == "yes"
    for name in (*SECRETS, *INJECTORS):
        assert name not in seen
    for value in SECRETS.values():
        assert value not in json.dumps(seen)
