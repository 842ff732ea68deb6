"""stdio: the official Python SDK server, and a misbehaving one, as child processes."""

from __future__ import annotations

import io
import json
import sys
import threading
import time
from typing import Any

import pytest
from support.stdio_servers import everything_stdio_command, misbehaving_command

import mcp_sync


def _sampler(params: dict[str, Any]) -> dict[str, Any]:
    prompt = params["messages"][0]["content"]["text"]
    return {
        "role": "assistant",
        "content": {"type": "text", "text": f"echo: {prompt}"},
        "model": "m",
    }


def _mcp_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mcp_sync")]


@pytest.fixture(params=["legacy", "modern"])
def stdio_client(request, mcp_server_python):
    """A client of the everything server over stdio, in each era."""
    pinned = "2025-11-25" if request.param == "legacy" else None
    client = mcp_sync.Client(
        everything_stdio_command(),
        protocol_version=pinned,
        sampling_handler=_sampler,
        elicitation_handler=lambda params: {"action": "accept", "content": {"name": "Ada"}},
        timeout=30,
    )
    client.connect()
    assert client.era == request.param
    yield client
    client.close()


def test_tools_over_stdio(stdio_client):
    assert {"add", "echo", "slow"} <= {tool.name for tool in stdio_client.list_tools()}
    assert stdio_client.call_tool("add", {"a": 2, "b": 3}).structured_content == {"result": 5}
    assert stdio_client.session_id is None


def test_progress_over_stdio(stdio_client):
    seen: list[Any] = []
    stdio_client.call_tool("slow", {"steps": 3, "delay": 0.01}, progress=lambda *a: seen.append(a))
    assert [s[0] for s in seen] == [1, 2, 3]


def test_sampling_over_stdio(stdio_client):
    assert stdio_client.call_tool("sample", {"prompt": "hi"}).text == "echo: hi"


def test_elicitation_over_stdio_applies_schema_defaults(stdio_client):
    answer = json.loads(stdio_client.call_tool("ask", {"message": "who?"}).text)
    assert answer == {"action": "accept", "content": {"name": "Ada", "age": 30}}


def test_server_that_crashes_mid_call_fails_the_call_at_once(mcp_server_python):
    with mcp_sync.Client(everything_stdio_command(), timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(mcp_sync.TransportError) as info:
            client.call_tool("crash", {"code": 3})
        assert time.monotonic() - started < 5
        assert "exited with code 3" in str(info.value)
        with pytest.raises(mcp_sync.TransportError):
            client.call_tool("echo", {"text": "anyone?"})


def test_server_that_exits_on_a_request_fails_it_at_once():
    with mcp_sync.Client(misbehaving_command("--exit-on", "tools/call"), timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(mcp_sync.TransportError):
            client.call_tool("echo", {"text": "x"})
        assert time.monotonic() - started < 5


def test_server_that_ignores_sigterm_is_killed_within_bounds():
    client = mcp_sync.Client(misbehaving_command("--ignore-sigterm"), timeout=10)
    client.connect()
    process = client._stdio._process  # type: ignore[union-attr]
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 10
    assert process.poll() is not None


def test_garbage_on_stdout_is_skipped_and_calls_still_work(caplog):
    with mcp_sync.Client(misbehaving_command("--garbage"), timeout=10) as client:
        assert client.call_tool("echo", {"text": "still fine"}).text == "still fine"
    assert "not JSON-RPC" in caplog.text


def test_a_line_over_max_message_size_is_dropped_with_a_warning_and_calls_still_work(caplog):
    command = misbehaving_command("--huge-line", "300000")
    with mcp_sync.Client(command, timeout=10, max_message_size=100_000) as client:
        assert client.call_tool("echo", {"text": "still fine"}).text == "still fine"
    assert "dropping a message over 100000 bytes" in caplog.text


def test_stderr_goes_to_a_callable_even_without_a_real_sys_stderr(monkeypatch, mcp_server_python):
    class NoFileno(io.StringIO):
        def fileno(self) -> int:
            raise io.UnsupportedOperation("fileno")

    monkeypatch.setattr(sys, "stderr", NoFileno())
    lines: list[str] = []
    got = threading.Event()

    def collect(line: str) -> None:
        lines.append(line)
        if "note from the server" in line:
            got.set()

    with mcp_sync.Client(everything_stdio_command(), stderr=collect, timeout=30) as client:
        assert client.call_tool("stderr_note", {"text": "note from the server"}).text == "ok"
        assert got.wait(5)


def test_stderr_goes_to_the_logger_by_default(caplog, monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    caplog.set_level("INFO", logger="mcp_sync.stderr")
    with mcp_sync.Client(misbehaving_command("--stderr-noise"), timeout=10) as client:
        client.ping()
        deadline = time.monotonic() + 5
        while (
            not any(r.name == "mcp_sync.stderr" for r in caplog.records)
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    assert any(r.name == "mcp_sync.stderr" for r in caplog.records)


def test_close_leaves_no_process_thread_or_pipe():
    client = mcp_sync.Client(misbehaving_command(), timeout=10)
    client.connect()
    process = client._stdio._process  # type: ignore[union-attr]
    assert _mcp_threads()
    client.close()
    assert process.poll() is not None
    assert _mcp_threads() == []
    assert process.stdin.closed and process.stdout.closed and process.stderr.closed


def test_a_server_from_a_config_file(tmp_path):
    config = tmp_path / "mcp.json"
    command = misbehaving_command()
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "local": {"command": command[0], "args": command[1:], "env": {"X": "${HOME}"}}
                }
            }
        ),
        encoding="utf-8",
    )
    with mcp_sync.Client.from_config(config, "local", timeout=10) as client:
        assert client.call_tool("echo", {"text": "configured"}).text == "configured"


def test_the_environment_is_an_allow_list_plus_the_given_env(monkeypatch):
    from mcp_sync.transports.stdio import safe_environment

    monkeypatch.setenv("MCP_SYNC_SECRET_FOR_TEST", "do-not-pass")
    env = safe_environment({"EXTRA": "1"})
    assert "MCP_SYNC_SECRET_FOR_TEST" not in env
    assert env["EXTRA"] == "1"
    assert "PATH" in env


def test_cancelling_a_call_over_stdio_returns_at_once_and_the_server_goes_on(stdio_client):
    token = mcp_sync.CancelToken()
    threading.Timer(0.3, token.cancel, args=("enough",)).start()
    started = time.monotonic()
    with pytest.raises(mcp_sync.RequestCancelled):
        stdio_client.call_tool("slow", {"steps": 1, "delay": 5}, cancel=token)
    assert time.monotonic() - started < 3
    assert stdio_client.call_tool("echo", {"text": "next"}).text == "next"


def test_a_timed_out_call_over_stdio_leaves_the_client_usable(stdio_client):
    with pytest.raises(mcp_sync.RequestTimeout):
        stdio_client.call_tool("slow", {"steps": 1, "delay": 5}, timeout=0.3)
    assert stdio_client.call_tool("echo", {"text": "after"}).text == "after"


def test_a_failed_connect_leaves_no_server_running():
    client = mcp_sync.Client(
        misbehaving_command("--exit-on", "initialize"), protocol_version="2025-11-25", timeout=5
    )
    with pytest.raises(mcp_sync.TransportError):
        client.connect()
    assert client._stdio._process is None  # type: ignore[union-attr]
    client.close()
    assert _mcp_threads() == []


def test_config_env_and_call_env_are_merged(tmp_path):
    command = misbehaving_command()
    config = {
        "mcpServers": {"local": {"command": command[0], "args": command[1:], "env": {"A": "1"}}}
    }
    client = mcp_sync.Client.from_config(config, "local", env={"B": "2"}, timeout=10)
    try:
        assert client._stdio._env == {"A": "1", "B": "2"}  # type: ignore[union-attr]
    finally:
        client.close()


def test_a_line_of_exactly_max_message_size_is_read_and_so_is_the_next(caplog):
    huge = 300_000
    line = '{"jsonrpc": "2.0", "method": "x", "params": "' + "x" * huge + '"}'
    command = misbehaving_command("--huge-line", str(huge))
    with mcp_sync.Client(command, timeout=10, max_message_size=len(line)) as client:
        assert client.call_tool("echo", {"text": "still fine"}).text == "still fine"
    assert "dropping a message" not in caplog.text
