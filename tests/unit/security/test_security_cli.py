"""The ``mcp-sync`` command prints no credential, even with ``-v``."""

from __future__ import annotations

import socket

import pytest

from mcp_sync.cli import main
from mcp_sync.testing import MCPTestServer

TOKEN = "tok-2b4d6f80"
API_KEY = "key-1a3c5e7f"
SECRET_ARGUMENT = "pw-4e6a8c0b"


@pytest.fixture
def test_server():
    server = MCPTestServer()

    @server.tool()
    def sign_in(user: str, password: str) -> str:
        return f"welcome {user}"

    with server:
        yield server


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.parametrize("version", ["2026-07-28", "2025-11-25"])
def test_verbose_output_shows_no_token_header_or_secret_argument(test_server, capsys, version):
    code = main(
        [
            "-v",
            "--protocol-version",
            version,
            "--auth",
            TOKEN,
            "-H",
            f"X-Api-Key: {API_KEY}",
            "tools",
            "call",
            test_server.url,
            "sign_in",
            "user=ada",
            f"password={SECRET_ARGUMENT}",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "welcome ada" in out
    assert "send " in err and "recv " in err  # the wire log was on
    for secret in (TOKEN, API_KEY, SECRET_ARGUMENT):
        assert secret not in out
        assert secret not in err


def test_a_failed_connection_with_a_traceback_shows_no_token(capsys):
    code = main(
        [
            "-v",
            "--timeout",
            "5",
            "--auth",
            TOKEN,
            "-H",
            f"X-Api-Key: {API_KEY}",
            "ping",
            f"http://127.0.0.1:{_closed_port()}/mcp",
        ]
    )
    out, err = capsys.readouterr()
    assert code != 0
    assert "Traceback" in err  # -v prints the details
    for secret in (TOKEN, API_KEY):
        assert secret not in out + err
