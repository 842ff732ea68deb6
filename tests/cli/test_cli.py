"""``mcp-sync`` end to end: every subcommand, through a subprocess, against the SDK servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import tty
from pathlib import Path

import pytest
from support.server_env import REPO_ROOT
from support.server_process import SERVERS_DIR, ServerProcess, free_port

from mcp_sync.testing import MCPTestServer

EVERYTHING = str(SERVERS_DIR / "everything_server.py")
AUTH_SERVER = SERVERS_DIR / "auth_server.py"


def _error_line(stderr: str) -> str:
    """The one line an error prints; anything more fails the test."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mcp-sync: error: "), stderr
    return lines[0]


# ------------------------------------------------------------------------- info, ping


def test_demo_takes_the_tour_against_its_own_server_and_exits_0(run_cli):
    out = run_cli("demo")

    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("1. Started a demo MCP server in this process at http://127.0.0.1:")
    assert "add(a=2, b=40) returned 42" in out.stdout
    assert "progress 5/5: counted to 5" in out.stdout
    assert "an image (image/png" in out.stdout
    assert "Read demo://readme: '# mcp_sync'" in out.stdout
    assert "The greet prompt for Ada: 'Please greet Ada warmly.'" in out.stdout
    assert "...and the call still returns 42: mcp_sync started a new session" in out.stdout
    assert lines[-1].startswith("Done.")
    assert out.stderr.count("the server forgot the session") == 1


def test_info(run_cli, cli_server):
    out = run_cli("info", cli_server.url)
    assert out.returncode == 0, out.stderr
    assert "everything-server 1.0.0" in out.stdout
    assert "tools" in out.stdout and "Test server for MCP client" in out.stdout


def test_info_json_in_the_legacy_era(run_cli, cli_server):
    out = run_cli("info", cli_server.url, "--json", "--protocol-version", "2025-11-25")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["protocolVersion"] == "2025-11-25"
    assert info["era"] == "legacy"
    assert info["serverInfo"]["name"] == "everything-server"
    assert "tools" in info["capabilities"]


def test_ping(run_cli, cli_server):
    out = run_cli("ping", cli_server.url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok (")
    out = run_cli("--json", "ping", cli_server.url)
    assert json.loads(out.stdout)["ok"] is True


# ------------------------------------------------------------------------------ tools


def test_tools_list_is_a_table(run_cli, cli_server):
    out = run_cli("tools", "list", cli_server.url)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ARGUMENTS", "DESCRIPTION"]
    add = next(line for line in lines if line.startswith("add "))
    assert "a, b" in add and "Add two integers." in add
    assert any(line.startswith("slow ") and "[steps], [delay]" in line for line in lines)
    # the description column starts at the same place on every line
    column = lines[0].index("DESCRIPTION")
    assert add[column:] == "Add two integers."


def test_tools_list_json(run_cli, cli_server):
    out = run_cli("tools", "list", cli_server.url, "--json")
    assert out.returncode == 0, out.stderr
    tools = {tool["name"]: tool for tool in json.loads(out.stdout)["tools"]}
    assert {"add", "echo", "slow", "fail", "image"} <= set(tools)
    assert tools["add"]["inputSchema"]["required"] == ["a", "b"]


def test_tools_call_with_json_values(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "add", "a=2", "b=40")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "42\n"  # the structured {"result": 42} says the same: not repeated


def test_key_value_arguments_are_json_else_strings(run_cli, cli_server):
    out = run_cli(
        "tools", "call", cli_server.url, "headers_tool", "region=eu-west", "priority=3",
        "verbose=true", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    echoed = json.loads(json.loads(out.stdout)["content"][0]["text"])
    assert echoed == {"region": "eu-west", "priority": 3, "verbose": True}
    # a quoted JSON string stays a string, even when it looks like a number
    out = run_cli("tools", "call", cli_server.url, "echo", 'text="42"', "--json")
    assert json.loads(out.stdout)["content"] == [{"type": "text", "text": "42"}]
    # a value with "=" in it: only the first "=" splits
    out = run_cli("tools", "call", cli_server.url, "echo", "text=a=b")
    assert out.stdout == "a=b\n"


def test_tools_call_json_output_is_the_raw_result(run_cli, cli_server):
    out = run_cli("--json", "tools", "call", cli_server.url, "add", "a=1", "b=2")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["structuredContent"] == {"result": 3}
    assert result["content"] == [{"type": "text", "text": "3"}]
    assert result["isError"] is False


def test_arguments_from_json_option(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "add", "--json", '{"a": 20, "b": 22}')
    assert out.returncode == 0, out.stderr
    assert out.stdout == "42\n"
    # KEY=VALUE after the object adds to it; --json on its own still asks for JSON output
    out = run_cli(
        "tools", "call", "--json", "--json", '{"a": 1, "b": 1}', cli_server.url, "add", "b=5"
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["structuredContent"] == {"result": 6}


def test_arguments_from_a_file_and_stdin(run_cli, cli_server, tmp_path):
    path = tmp_path / "args.json"
    path.write_text('{"a": 7, "b": 8}')
    out = run_cli("tools", "call", cli_server.url, "add", "--json", f"@{path}")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "15\n"
    out = run_cli("tools", "call", cli_server.url, "add", "--args", f"@{path}", "b=1")
    assert out.stdout == "8\n"
    out = run_cli("tools", "call", cli_server.url, "add", "--args", "@-", input='{"a": 1, "b": 1}')
    assert out.stdout == "2\n"


def test_image_content_is_summarized(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "image")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "[image/png, 69 bytes]\n"


def test_tool_error_exits_1(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "fail", "message=broken on purpose")
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith("mcp-sync: tool 'fail' reported an error: ")
    assert out.stderr.strip().endswith("broken on purpose")  # the SDK puts words in between
    assert len(out.stderr.strip().splitlines()) == 1


def test_tool_error_with_json_prints_the_result_and_exits_1(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "fail", "--json")
    assert out.returncode == 1
    result = json.loads(out.stdout)
    assert result["isError"] is True
    assert "this tool always fails" in result["content"][0]["text"]


def test_unknown_tool_is_a_tool_error_or_a_protocol_error(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "no_such_tool")
    # The official SDK answers with an isError result (exit 1); mcp_sync.testing with the
    # JSON-RPC error -32602 that the spec gives for an unknown tool (exit 3).
    assert out.returncode == (3 if isinstance(cli_server, MCPTestServer) else 1)
    assert "Unknown tool" in out.stderr and "no_such_tool" in out.stderr


# -------------------------------------------------------------------------- progress


def test_progress_on_request(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "slow", "steps=3", "delay=0.01", "--progress")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "done after 3 steps\n"
    lines = out.stderr.splitlines()
    assert lines == [
        "[######..............] 1/3 step 1 of 3",
        "[#############.......] 2/3 step 2 of 3",
        "[####################] 3/3 step 3 of 3",
    ]


def test_no_progress_when_stderr_is_not_a_terminal(run_cli, cli_server):
    out = run_cli("tools", "call", cli_server.url, "slow", "steps=2", "delay=0.01")
    assert out.returncode == 0
    assert out.stderr == ""


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_on_a_terminal_rewrites_one_line(cli_server, cli_env):
    master, slave = os.openpty()
    tty.setraw(slave)  # no "\n" -> "\r\n" translation: every newline shows as it is
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mcp_sync", "tools", "call", cli_server.url, "slow",
             "steps=3", "delay=0.01"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=cli_env,
            cwd=str(REPO_ROOT), timeout=60,
        )  # fmt: skip
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    stderr = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert proc.stdout == b"done after 3 steps\n"
    assert "\r" in stderr and "3/3" in stderr  # tqdm or the plain line
    # One line, rewritten in place: at most the final newline that ends it.
    assert stderr.count("\n") <= 1


# ------------------------------------------------------------------------- resources


def test_resources_list(run_cli, cli_server):
    out = run_cli("resources", "list", cli_server.url)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["URI", "NAME", "MIME", "TYPE", "DESCRIPTION"]
    assert any(line.startswith("test://static ") and "text/plain" in line for line in lines)
    out = run_cli("resources", "list", cli_server.url, "--json")
    uris = {r["uri"] for r in json.loads(out.stdout)["resources"]}
    assert {"test://static", "test://blob", "test://counter"} <= uris


def test_resources_templates(run_cli, cli_server):
    out = run_cli("resources", "templates", cli_server.url)
    assert out.returncode == 0, out.stderr
    assert "test://items/{id}" in out.stdout
    out = run_cli("resources", "templates", cli_server.url, "--json")
    templates = json.loads(out.stdout)["resourceTemplates"]
    assert templates[0]["uriTemplate"] == "test://items/{id}"


def test_resources_read(run_cli, cli_server):
    out = run_cli("resources", "read", cli_server.url, "test://static")
    assert (out.returncode, out.stdout) == (0, "static resource text\n")
    out = run_cli("resources", "read", cli_server.url, "test://items/7")
    assert out.stdout == "item 7\n"
    out = run_cli("resources", "read", cli_server.url, "test://blob")
    assert out.stdout == "[application/octet-stream, 256 bytes]\n"
    out = run_cli("resources", "read", cli_server.url, "test://static", "--json")
    contents = json.loads(out.stdout)["contents"]
    assert contents[0]["text"] == "static resource text"


def test_json_rpc_error_exits_3_with_one_line(run_cli, cli_server):
    out = run_cli("resources", "read", cli_server.url, "test://nope")
    assert out.returncode == 3
    line = _error_line(out.stderr)
    assert line.startswith("mcp-sync: error: server error -32602 (to resources/read): ")
    assert "Unknown resource: test://nope" in line or "Resource not found" in line


# --------------------------------------------------------------------------- prompts


def test_prompts_list(run_cli, cli_server):
    out = run_cli("prompts", "list", cli_server.url)
    assert out.returncode == 0, out.stderr
    assert any(line.split()[:2] == ["greet", "name"] for line in out.stdout.splitlines())
    out = run_cli("prompts", "list", cli_server.url, "--json")
    (greet,) = json.loads(out.stdout)["prompts"]
    assert greet["arguments"][0]["name"] == "name"


def test_prompts_get(run_cli, cli_server):
    out = run_cli("prompts", "get", cli_server.url, "greet", "name=Ada")
    assert out.returncode == 0, out.stderr
    assert "[user]\nHello, Ada! Please greet me back.\n" in out.stdout
    out = run_cli("prompts", "get", cli_server.url, "greet", "--json", '{"name": "Bo"}', "--json")
    message = json.loads(out.stdout)["messages"][0]
    assert message["content"]["text"] == "Hello, Bo! Please greet me back."


def test_prompt_arguments_stay_strings(run_cli, cli_server):
    out = run_cli("prompts", "get", cli_server.url, "greet", "name=42", "--json")
    assert "Hello, 42!" in out.stdout
    out = run_cli("prompts", "get", cli_server.url, "greet", "--args", '{"name": 42}')
    assert out.returncode == 2
    assert "prompt arguments are strings" in _error_line(out.stderr)


# ---------------------------------------------------------------------- stdio, config


def test_stdio_server_after_double_dash(run_cli, cli_stdio_command):
    out = run_cli("tools", "call", "add", "a=1", "b=2", "--", *cli_stdio_command)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "3\n"
    out = run_cli("--json", "info", "--", *cli_stdio_command)
    assert json.loads(out.stdout)["serverInfo"]["name"] == "everything-server"


def test_stdio_server_that_cannot_start_exits_3(run_cli, tmp_path):
    out = run_cli("ping", "--", str(tmp_path / "no-such-server"))
    assert out.returncode == 3
    _error_line(out.stderr)


def test_config_file(run_cli, cli_server, cli_server_python, tmp_path):
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "remote": {"url": cli_server.url},
                    "local": {"command": cli_server_python, "args": ["-u", EVERYTHING, "--stdio"]},
                }
            }
        )
    )
    out = run_cli("--config", str(config), "tools", "call", "remote", "add", "a=1", "b=1")
    assert (out.returncode, out.stdout) == (0, "2\n"), out.stderr
    out = run_cli("tools", "call", "local", "echo", "text=hi", "--config", str(config))
    assert (out.returncode, out.stdout) == (0, "hi\n"), out.stderr
    out = run_cli("--config", str(config), "ping", "elsewhere")
    assert out.returncode == 2
    assert '"elsewhere": not found; the config defines "remote", "local"' in _error_line(out.stderr)
    out = run_cli("--config", str(config), "--auth", "t", "ping", "local")
    assert out.returncode == 2
    assert "need a server over HTTP" in _error_line(out.stderr)


# ------------------------------------------------------------ usage and other errors


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["tools"],
        ["frobnicate", "http://127.0.0.1:1/mcp"],
        ["tools", "call", "http://127.0.0.1:1/mcp"],
        ["tools", "list", "http://127.0.0.1:1/mcp", "extra"],
        ["tools", "call", "http://127.0.0.1:1/mcp", "add", "no-equals-sign"],
        ["tools", "call", "http://127.0.0.1:1/mcp", "add", "--args", "{not json"],
        ["tools", "call", "http://127.0.0.1:1/mcp", "add", "--args", "[1, 2]"],
        ["tools", "call", "http://127.0.0.1:1/mcp", "add", "--args", "@/no/such/file.json"],
        ["ping", "not-a-url"],
        ["ping", "http://127.0.0.1:1/mcp", "--timeout", "soon"],
        ["ping", "http://127.0.0.1:1/mcp", "--protocol-version", "1999-01-01"],
        ["ping", "http://127.0.0.1:1/mcp", "--header", "no colon"],
        ["ping", "--header", "X-A:1", "--", "true"],
        ["login", "--", "true"],
    ],
)
def test_usage_errors_exit_2(run_cli, args):
    out = run_cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    assert "error:" in out.stderr


def test_connection_refused_exits_3_with_one_line(run_cli):
    out = run_cli("tools", "list", f"http://127.0.0.1:{free_port()}/mcp")
    assert out.returncode == 3
    assert out.stdout == ""
    _error_line(out.stderr)


def test_verbose_adds_logs_wire_messages_and_the_traceback(run_cli, cli_server):
    out = run_cli("-v", "tools", "call", cli_server.url, "echo", "text=hi")
    assert out.returncode == 0
    assert "mcp_sync" in out.stderr and "DEBUG" in out.stderr
    assert "tools/call" in out.stderr  # the JSON-RPC message itself
    out = run_cli("-v", "tools", "list", f"http://127.0.0.1:{free_port()}/mcp")
    assert out.returncode == 3
    assert "mcp-sync: error: " in out.stderr
    assert "Traceback (most recent call last)" in out.stderr


def test_help_and_version(run_cli):
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("info", "ping", "tools", "resources", "prompts", "login", "logout"):
        assert command in out.stdout
    assert "exit codes" in out.stdout
    out = run_cli("tools", "call", "--help")
    assert out.returncode == 0 and "KEY=VALUE" in out.stdout
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("mcp-sync ")


# --------------------------------------------------------------------- login, logout

# What a browser does on the auth server's /authorize (it approves at once): follow its
# redirect to the CLI's loopback listener.
_BROWSER = textwrap.dedent(
    """
    import sys, urllib.error, urllib.request

    class Stop(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(Stop).open(sys.argv[1], timeout=10)
        raise SystemExit("/authorize did not redirect")
    except urllib.error.HTTPError as exc:
        location = exc.headers["Location"]
    urllib.request.urlopen(location, timeout=10).read()
    """
)


@pytest.fixture
def auth_server(cli_server_python):
    server = ServerProcess(AUTH_SERVER)
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_login_then_use_the_tokens_then_logout(run_cli, cli_env, auth_server, tmp_path):
    browser = tmp_path / "browser.py"
    browser.write_text(_BROWSER)
    env = dict(cli_env, BROWSER=f"{sys.executable} {browser} %s")

    out = run_cli("login", auth_server.url, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Signed in to ")
    assert f"authorization server: http://127.0.0.1:{auth_server.port}" in out.stdout
    stored = list((Path(cli_env["XDG_CONFIG_HOME"]) / "mcp_sync" / "oauth").iterdir())
    assert stored

    # The kept tokens work without a browser (none is set in cli_env).
    out = run_cli("tools", "list", auth_server.url, "--oauth", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tools"]
    out = run_cli("login", auth_server.url, "--json")  # signed in already: no browser
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["issuer"] == f"http://127.0.0.1:{auth_server.port}"

    out = run_cli("logout", auth_server.url)
    assert (out.returncode, out.stdout) == (
        0,
        f"Signed out of {auth_server.url}: its tokens are removed\n",
    )
    out = run_cli("logout", auth_server.url)
    assert out.stdout == f"No tokens were kept for {auth_server.url}\n"


def test_a_server_that_wants_oauth_without_it_exits_3(run_cli, auth_server):
    out = run_cli("tools", "list", auth_server.url)
    assert out.returncode == 3
    assert "401" in _error_line(out.stderr)


# ---------------------------------------------------------------------- demo --serve


def test_demo_port_without_serve_is_a_usage_error(run_cli):
    out = run_cli("demo", "--port", "8123")
    assert out.returncode == 2
    assert out.stderr.strip() == "mcp-sync: error: --port goes with --serve"


def test_demo_serve_on_a_port_in_use_exits_3_with_one_line(run_cli):
    with MCPTestServer() as taken:
        port = taken.port
        out = run_cli("demo", "--serve", "--port", str(port))
    assert out.returncode == 3
    assert out.stderr.startswith(f"mcp-sync: error: cannot serve on 127.0.0.1:{port}: ")
    assert len(out.stderr.strip().splitlines()) == 1


def test_ctrl_c_during_a_call_exits_130(cli_env):
    import signal

    released = threading.Event()  # ends the tool when the test is over
    with MCPTestServer() as server:

        @server.tool()
        def wait(seconds: float) -> str:
            released.wait(seconds)
            return "done"

        proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_sync", "-v", "tools", "call", server.url, "wait",
             "seconds=30"],
            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while server.count("tools/call") == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.count("tools/call") == 1
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        finally:
            released.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130
    assert "mcp-sync: interrupted" in err
