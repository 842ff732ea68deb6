"""Secrets stay out of logs, reprs and exception messages."""

from __future__ import annotations

import logging
import socket
from typing import Any, Optional

import pytest

import mcp_sync
from mcp_sync.auth import BearerAuth
from mcp_sync.config import ConfigError, load_server_config
from mcp_sync.oauth import ClientCredentials, ClientRegistration, OAuth, TokenSet
from mcp_sync.testing import MCPTestServer

TOKEN = "tok-5e7a1c9d"
API_KEY = "key-0f2b4d6e"
PASSWORD = "pw-8c3a5e7f"


@pytest.fixture
def test_server():
    server = MCPTestServer()

    @server.tool()
    def sign_in(user: str, password: str) -> str:
        return f"welcome {user}"

    @server.tool()
    def echo(text: str) -> str:
        return text

    @server.tool()
    def whoami() -> str:
        # A server that repeats the credential it was given, as a debug page might.
        return f"signed in with {TOKEN}"

    with server:
        yield server


@pytest.mark.parametrize("version", [None, "2025-11-25"], ids=["modern", "legacy"])
def test_debug_logs_never_show_the_token_the_headers_or_the_session_id(
    test_server, caplog, version
):
    caplog.set_level(logging.DEBUG)  # every logger: mcp_sync, mcp_sync.wire, urllib3
    options: dict[str, Any] = {"protocol_version": version} if version else {}
    with mcp_sync.Client(
        test_server.url, auth=TOKEN, headers={"X-Api-Key": API_KEY}, timeout=10, **options
    ) as client:
        session_id = client.session_id
        client.list_tools()
        client.call_tool("sign_in", {"user": "ada", "password": PASSWORD})
        client.ping()

    text = caplog.text
    assert "send " in text and "recv " in text  # the wire log was on
    assert "<redacted>" in text  # the password argument was seen, and hidden
    for secret in (TOKEN, API_KEY, PASSWORD):
        assert secret not in text
    if version:
        assert session_id
        assert session_id not in text


def test_a_credential_string_in_any_message_field_is_redacted_in_the_wire_log(test_server, caplog):
    caplog.set_level(logging.DEBUG, logger="mcp_sync.wire")
    with mcp_sync.Client(test_server.url, timeout=10) as client:
        client.call_tool("echo", {"text": f"Bearer {TOKEN}"})
    assert "<redacted>" in caplog.text
    assert TOKEN not in caplog.text


def test_the_clients_own_token_echoed_by_the_server_is_not_logged(test_server, caplog):
    caplog.set_level(logging.DEBUG, logger="mcp_sync.wire")
    with mcp_sync.Client(test_server.url, auth=TOKEN, timeout=10) as client:
        assert client.call_tool("whoami").text == f"signed in with {TOKEN}"
    assert "recv " in caplog.text
    assert TOKEN not in caplog.text


# --- reprs ---------------------------------------------------------------------------------


def test_client_repr_shows_neither_the_token_nor_the_headers():
    client = mcp_sync.Client(
        "https://mcp.test/mcp", auth=TOKEN, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    try:
        shown = repr(client)
    finally:
        client.close()
    assert TOKEN not in shown
    assert API_KEY not in shown


def test_client_repr_hides_credentials_in_the_url():
    client = mcp_sync.Client(f"https://ada:{PASSWORD}@mcp.test/mcp?api_key={API_KEY}")
    try:
        shown = repr(client)
    finally:
        client.close()
    assert PASSWORD not in shown
    assert API_KEY not in shown


def test_bearer_auth_repr_hides_the_token():
    assert TOKEN not in repr(BearerAuth(TOKEN))
    assert TOKEN not in str(BearerAuth(TOKEN))


def test_bearer_token_with_a_line_break_is_refused():
    # A token is a header value: a line break would start a header of the caller's choosing.
    for token in (f"{TOKEN}\r\nX-Injected: 1", f"{TOKEN}\n", f"\r{TOKEN}"):
        with pytest.raises(ValueError):
            BearerAuth(token)
        with pytest.raises(ValueError):
            mcp_sync.Client("https://mcp.test/mcp", auth=token)


def test_token_set_repr_hides_both_tokens():
    tokens = TokenSet(access_token=TOKEN, refresh_token=API_KEY, scope="read")
    assert TOKEN not in repr(tokens)
    assert API_KEY not in repr(tokens)


def test_client_registration_repr_hides_the_secret():
    registration = ClientRegistration(client_id="app", client_secret=API_KEY)
    assert API_KEY not in repr(registration)


def test_oauth_reprs_hide_the_client_secret():
    grant = ClientCredentials(client_id="svc", client_secret=API_KEY)
    sign_in = OAuth(client_id="app", client_secret=API_KEY)
    for auth in (grant, sign_in):
        assert API_KEY not in repr(auth)
        assert API_KEY not in str(auth)


def test_signing_key_reprs_hide_the_private_key():
    import cryptography  # noqa: F401  (a test dependency, through PyJWT[crypto])

    from mcp_sync.oauth import DPoPKey

    key = DPoPKey()
    pem = key.key.private_pem()
    body = pem.strip().splitlines()[1]
    for obj in (key, key.key):
        assert body not in repr(obj)
        assert "PRIVATE" not in repr(obj)


# --- configs -------------------------------------------------------------------------------

CONFIG = {
    "mcpServers": {
        "remote": {
            "url": "https://mcp.test/mcp",
            "headers": {"Authorization": "Bearer ${MCP_TOKEN}"},
        },
        "local": {"command": "server", "env": {"SERVICE_KEY": "${SERVICE_KEY}"}},
    }
}
ENVIRON = {"MCP_TOKEN": TOKEN, "SERVICE_KEY": API_KEY}


def test_server_config_repr_hides_expanded_secrets():
    remote = load_server_config(CONFIG, "remote", environ=ENVIRON)
    local = load_server_config(CONFIG, "local", environ=ENVIRON)
    assert TOKEN not in repr(remote)
    assert API_KEY not in repr(local)


def test_config_errors_name_the_key_but_never_its_value():
    bad_url = {"mcpServers": {"s": {"url": "ftp://${MCP_TOKEN}@mcp.test/mcp"}}}
    with pytest.raises(ConfigError) as info:
        load_server_config(bad_url, "s", environ=ENVIRON)
    assert TOKEN not in str(info.value)
    assert "url" in str(info.value)

    bad_header = {"mcpServers": {"s": {"url": "https://mcp.test/", "headers": {"A": 7}}}}
    with pytest.raises(ConfigError):
        load_server_config(bad_header, "s", environ=ENVIRON)

    missing = {"mcpServers": {"s": {"url": "https://mcp.test/", "headers": {"A": "${NOPE}"}}}}
    with pytest.raises(ConfigError) as info:
        load_server_config(missing, "s", environ=ENVIRON)
    assert "NOPE" in str(info.value)
    assert TOKEN not in str(info.value) and API_KEY not in str(info.value)


def test_config_variables_are_expanded_once_not_recursively():
    # A value that itself looks like a variable stays as it is: an environment value
    # cannot pull in another variable.
    config = {"mcpServers": {"s": {"url": "https://mcp.test/", "headers": {"A": "${OUTER}"}}}}
    loaded = load_server_config(config, "s", environ={"OUTER": "${MCP_TOKEN}", **ENVIRON})
    assert loaded.headers["A"] == "${MCP_TOKEN}"


# --- exceptions ----------------------------------------------------------------------------


def _texts(exc: BaseException) -> str:
    """Everything an exception shows: str, repr, args and attributes."""
    return " ".join([str(exc), repr(exc), repr(exc.args), repr(vars(exc))])


def test_http_status_error_carries_no_request_header(server, make_client):
    server.script("ping", server.Reply(401, b'{"error": "invalid_token"}'))
    client = make_client(auth=TOKEN, headers={"X-Api-Key": API_KEY}).connect()
    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.ping()
    assert info.value.status == 401
    shown = _texts(info.value)
    assert TOKEN not in shown
    assert API_KEY not in shown
    assert client.session_id not in shown


def test_http_status_error_does_not_repeat_the_token_a_server_echoed(server, make_client):
    server.script("ping", server.Reply(500, f"bad header: Authorization: Bearer {TOKEN}"))
    client = make_client(auth=TOKEN).connect()
    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.ping()
    assert TOKEN not in _texts(info.value)


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def _connect_error(url: str, **options: Any) -> Optional[BaseException]:
    client = mcp_sync.Client(url, timeout=5, connect_timeout=2, **options)
    try:
        client.connect()
    except mcp_sync.TransportError as exc:
        return exc
    finally:
        client.close()
    return None


def test_connection_error_carries_neither_token_nor_headers():
    exc = _connect_error(
        f"http://127.0.0.1:{_closed_port()}/mcp", auth=TOKEN, headers={"X-Api-Key": API_KEY}
    )
    assert exc is not None
    assert TOKEN not in _texts(exc)
    assert API_KEY not in _texts(exc)


def test_connection_error_hides_credentials_in_the_url():
    exc = _connect_error(f"http://ada:{PASSWORD}@127.0.0.1:{_closed_port()}/mcp?key={API_KEY}")
    assert exc is not None
    assert PASSWORD not in _texts(exc)
    assert API_KEY not in _texts(exc)
