"""mcp_sync.oauth against the official Python SDK server with OAuth turned on.

The server (tests/servers/auth_server.py) is its own authorization server: discovery,
dynamic registration, an ``/authorize`` that approves at once with a 302 to the
``redirect_uri``, the token endpoint with refresh, and tools that show the caller's
token (``whoami``), revoke it (``invalidate_token``) and count what the authorization
server did (``auth_stats``). Every test starts its own server, since tokens and
registrations live in the server's memory.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from support.server_process import SERVERS_DIR, ServerProcess, free_port

import mcp_sync
from mcp_sync.oauth import FileStorage, MemoryStorage, OAuth

AUTH_SERVER = SERVERS_DIR / "auth_server.py"
REDIRECT_THREAD = "mcp_sync-oauth-redirect"


# --------------------------------------------------------------------------- helpers


class HeadlessSignIn:
    """A redirect handler that does the browser's part: GET the authorization URL and
    hand back where the authorization server redirects to."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, authorization_url: str) -> str:
        self.urls.append(authorization_url)
        response = requests.get(authorization_url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, (
            f"/authorize answered {response.status_code}: {response.text}"
        )
        return response.headers["Location"]

    @property
    def calls(self) -> int:
        return len(self.urls)

    def query(self, index: int = -1) -> dict[str, str]:
        """The query of an authorization URL the client built."""
        return {k: v[0] for k, v in parse_qs(urlsplit(self.urls[index]).query).items()}


class RecordingStorage(MemoryStorage):
    """A MemoryStorage that remembers every secret it was given to keep."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def save(self, key: str, value: dict[str, Any]) -> None:
        for name in ("access_token", "refresh_token", "client_secret"):
            if isinstance(value.get(name), str):
                self.secrets.add(value[name])
        super().save(key, value)


def _redirect_uri() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


def _oauth(sign_in: Callable[[str], str], **options: Any) -> OAuth:
    return OAuth(redirect_handler=sign_in, redirect_uri=_redirect_uri(), **options)


def _stats(client: mcp_sync.Client) -> dict[str, int]:
    return json.loads(client.call_tool("auth_stats").text)


def _whoami(client: mcp_sync.Client) -> dict[str, Any]:
    return json.loads(client.call_tool("whoami").text)


def _redirect_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == REDIRECT_THREAD]


def _mcp_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mcp_sync")]


def _wait_past_expiry(auth: OAuth, margin: float = 0.3) -> None:
    """Sleep until the current access token has expired at the server too."""
    token = auth.token
    assert token is not None and token.expires_at is not None
    time.sleep(max(0.0, token.expires_at - time.time()) + margin)


def _pin(era: str) -> dict[str, str]:
    return {"protocol_version": "2025-11-25"} if era == "legacy" else {}


@pytest.fixture
def auth_server_factory(
    mcp_server_factory: Callable[..., ServerProcess],
) -> Callable[..., ServerProcess]:
    """``start(*flags, json_response=False, stateless=False)``: a fresh auth_server.py."""

    def start(*flags: str, **options: Any) -> ServerProcess:
        return mcp_server_factory(script=AUTH_SERVER, extra_args=list(flags), **options)

    return start


@pytest.fixture
def auth_server(auth_server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return auth_server_factory()


@pytest.fixture
def sign_in() -> HeadlessSignIn:
    return HeadlessSignIn()


# ---------------------------------------------------------------- 1. first sign-in


def test_first_request_discovers_registers_signs_in_and_tools_work(
    auth_server, connect, sign_in, era
):
    auth = _oauth(sign_in)
    client = connect(auth_server.url, auth=auth)

    assert {"echo", "add", "whoami", "invalidate_token", "auth_stats"} <= {
        tool.name for tool in client.list_tools()
    }
    assert client.call_tool("echo", {"text": "hello"}).text == "hello"
    assert client.call_tool("add", {"a": 2, "b": 40}).text == "42"
    me = _whoami(client)
    assert me["scopes"] == ["mcp:read", "mcp:write"]
    assert me["resource"] == auth_server.url
    assert me["client_id"] == sign_in.query()["client_id"]
    assert auth.token is not None and auth.token.scope == "mcp:read mcp:write"
    assert sign_in.calls == 1
    stats = _stats(client)
    assert (stats["clients"], stats["authorizations"], stats["token_exchanges"]) == (1, 1, 1)


def test_authorization_request_carries_pkce_state_and_the_resource(auth_server, sign_in):
    auth = _oauth(sign_in)
    with mcp_sync.Client(auth_server.url, auth=auth) as client:
        client.list_tools()
    query = sign_in.query()
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url SHA-256, unpadded
    assert len(query["state"]) >= 16
    assert query["resource"] == auth_server.url
    assert query["redirect_uri"] == auth._redirect_uri


def test_sign_in_works_with_json_responses_on_a_stateless_server(
    auth_server_factory, connect, sign_in, era
):
    server = auth_server_factory(json_response=True, stateless=True)
    client = connect(server.url, auth=_oauth(sign_in))
    assert client.call_tool("echo", {"text": "plain"}).text == "plain"
    assert _whoami(client)["scopes"] == ["mcp:read", "mcp:write"]
    assert sign_in.calls == 1


def test_iss_in_the_authorization_response_is_accepted(auth_server_factory, sign_in):
    server = auth_server_factory("--iss-in-redirect")
    with mcp_sync.Client(server.url, auth=_oauth(sign_in)) as client:
        assert client.call_tool("echo", {"text": "iss"}).text == "iss"
    assert sign_in.calls == 1


# ------------------------------------------------------------ 2. the browser path


def test_browser_sign_in_comes_back_through_the_loopback_listener(
    auth_server, connect, monkeypatch, era
):
    pages: list[requests.Response] = []

    def browser(url: str, *args: Any, **kwargs: Any) -> bool:
        # What a browser does: follow the authorization server's redirect to the listener.
        pages.append(requests.get(url, timeout=10))
        return True

    monkeypatch.setattr("mcp_sync.oauth.loopback.webbrowser.open", browser)
    auth = OAuth()
    client = connect(auth_server.url, auth=auth)

    assert client.call_tool("echo", {"text": "via browser"}).text == "via browser"
    assert len(pages) == 1
    page = pages[0]
    assert page.status_code == 200
    assert "Authorization complete" in page.text
    assert page.url.startswith("http://127.0.0.1:") and urlsplit(page.url).path == "/callback"
    assert [r.status_code for r in page.history] == [302]
    assert _whoami(client)["scopes"] == ["mcp:read", "mcp:write"]
    assert _redirect_threads() == []
    client.close()
    assert _redirect_threads() == []


# ---------------------------------------------------------------------- 3. refresh


def test_rejected_access_token_is_refreshed_without_signing_in_again(
    auth_server, connect, sign_in, era
):
    auth = _oauth(sign_in)
    client = connect(auth_server.url, auth=auth)
    session = client.session_id
    assert auth.token is not None
    first = auth.token.access_token

    assert client.call_tool("invalidate_token").text == "ok"
    assert client.call_tool("echo", {"text": "still here"}).text == "still here"

    assert auth.token.access_token != first
    assert sign_in.calls == 1
    stats = _stats(client)
    assert (stats["refreshes"], stats["authorizations"], stats["token_exchanges"]) == (1, 1, 1)
    assert client.session_id == session
    if era == "legacy":
        assert session is not None


def test_expired_access_token_is_refreshed_without_signing_in_again(
    auth_server_factory, connect, sign_in, era
):
    server = auth_server_factory("--token-ttl", "2")
    auth = _oauth(sign_in)
    client = connect(server.url, auth=auth)
    session = client.session_id
    client.call_tool("echo", {"text": "before"})
    assert auth.token is not None
    first = auth.token.access_token

    _wait_past_expiry(auth)
    assert client.call_tool("echo", {"text": "after"}).text == "after"

    assert auth.token.access_token != first
    assert sign_in.calls == 1
    stats = _stats(client)
    assert stats["refreshes"] >= 1
    assert (stats["authorizations"], stats["token_exchanges"]) == (1, 1)
    assert client.session_id == session


def test_expired_token_without_a_refresh_token_signs_in_again(
    auth_server_factory, connect, sign_in, era
):
    server = auth_server_factory("--token-ttl", "2", "--no-refresh-tokens")
    auth = _oauth(sign_in)
    client = connect(server.url, auth=auth)
    assert auth.token is not None and auth.token.refresh_token is None

    _wait_past_expiry(auth)
    assert client.call_tool("echo", {"text": "again"}).text == "again"

    assert sign_in.calls == 2
    stats = _stats(client)
    assert (stats["refreshes"], stats["authorizations"], stats["clients"]) == (0, 2, 1)


def test_forgotten_client_registration_is_replaced_by_a_new_one(auth_server, sign_in):
    auth = _oauth(sign_in)
    with mcp_sync.Client(auth_server.url, auth=auth) as client:
        client.call_tool("echo", {"text": "before"})
        first_client = sign_in.query()["client_id"]
        auth_server.restart()  # forgets every client and token
        assert client.call_tool("echo", {"text": "after"}).text == "after"
    assert sign_in.calls == 2
    assert sign_in.query()["client_id"] != first_client


# ------------------------------------------------------------------ 4. FileStorage


def test_file_storage_lets_a_new_client_skip_signing_in(
    auth_server, connect, sign_in, tmp_path, era
):
    directory = tmp_path / "oauth"
    first = connect(auth_server.url, auth=_oauth(sign_in, storage=FileStorage(directory)))
    first.call_tool("echo", {"text": "first"})
    first.close()
    assert sign_in.calls == 1

    second_sign_in = HeadlessSignIn()
    second = connect(auth_server.url, auth=_oauth(second_sign_in, storage=FileStorage(directory)))
    assert second.call_tool("echo", {"text": "second"}).text == "second"

    assert second_sign_in.calls == 0
    stats = _stats(second)
    assert (stats["clients"], stats["authorizations"], stats["token_exchanges"]) == (1, 1, 1)


def test_file_storage_files_are_readable_by_the_owner_only(auth_server, sign_in, tmp_path):
    directory = tmp_path / "oauth"
    auth = _oauth(sign_in, storage=FileStorage(directory))
    with mcp_sync.Client(auth_server.url, auth=auth) as client:
        client.call_tool("echo", {"text": "x"})
    assert auth.token is not None

    files = sorted(directory.iterdir())
    assert files, "nothing was stored"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for path in files:
        assert path.is_file() and path.suffix == ".json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert auth.token.access_token not in path.name
    assert any(auth.token.access_token in path.read_text() for path in files)


# ------------------------------------------------------------------------ 5. scopes


def test_required_scope_in_resource_metadata_is_requested(
    auth_server_factory, connect, sign_in, era
):
    server = auth_server_factory("--required-scope", "mcp:admin", "--valid-scope", "mcp:admin")
    client = connect(server.url, auth=_oauth(sign_in))
    assert client.call_tool("echo", {"text": "admin"}).text == "admin"
    assert sign_in.query()["scope"] == "mcp:admin"
    assert _whoami(client)["scopes"] == ["mcp:admin"]
    assert sign_in.calls == 1


def test_required_scope_given_as_scopes_gets_a_token_that_works(
    auth_server_factory, connect, sign_in, era
):
    server = auth_server_factory("--required-scope", "mcp:admin", "--valid-scope", "mcp:admin")
    auth = _oauth(sign_in, scopes=["mcp:admin"])
    client = connect(server.url, auth=auth)
    assert client.call_tool("echo", {"text": "admin"}).text == "admin"
    assert sign_in.query()["scope"] == "mcp:admin"
    assert auth.token is not None and auth.token.scope == "mcp:admin"
    assert _whoami(client)["scopes"] == ["mcp:admin"]
    assert sign_in.calls == 1


def test_step_up_without_a_challenge_scope_asks_for_the_resource_scopes(
    auth_server_factory, sign_in
):
    server = auth_server_factory(
        "--required-scope",
        "mcp:admin",
        "--valid-scope",
        "mcp:read",
        "--valid-scope",
        "mcp:admin",
    )
    with mcp_sync.Client(server.url, auth=_oauth(sign_in, scopes="mcp:read")) as client:
        assert client.call_tool("echo", {"text": "stepped up"}).text == "stepped up"
        assert "mcp:admin" in _whoami(client)["scopes"]
    assert sign_in.calls == 2


# --------------------------------------------------------------------- 6. refusals


def _refusing_handler(calls: list[str]) -> Callable[[str], str]:
    """The person clicks "deny": the redirect back carries error=access_denied."""

    def refuse(authorization_url: str) -> str:
        calls.append(authorization_url)
        query = parse_qs(urlsplit(authorization_url).query)
        return (
            f"{query['redirect_uri'][0]}?error=access_denied"
            f"&error_description=the+user+said+no&state={query['state'][0]}"
        )

    return refuse


def test_refused_sign_in_raises_authorization_denied_and_leaves_no_threads(auth_server, era):
    calls: list[str] = []
    auth = OAuth(redirect_handler=_refusing_handler(calls), redirect_uri=_redirect_uri())
    client = mcp_sync.Client(auth_server.url, auth=auth, **_pin(era))
    try:
        with pytest.raises(mcp_sync.AuthorizationDenied) as raised:
            client.connect()
    finally:
        client.close()
    assert raised.value.error == "access_denied"
    assert raised.value.description == "the user said no"
    assert len(calls) == 1
    assert auth.token is None
    assert _mcp_threads() == []


def test_scope_the_authorization_server_refuses_raises_authorization_denied(auth_server, sign_in):
    client = mcp_sync.Client(auth_server.url, auth=_oauth(sign_in, scopes="mcp:unknown"))
    try:
        with pytest.raises(mcp_sync.AuthorizationDenied) as raised:
            client.call_tool("echo", {"text": "never"})
    finally:
        client.close()
    assert raised.value.error == "invalid_scope"
    assert sign_in.calls == 1
    assert _mcp_threads() == []


# -------------------------------------------------------------- 7. where tokens go


def test_tokens_and_secrets_never_appear_in_debug_logs(auth_server, connect, sign_in, caplog, era):
    caplog.set_level(logging.DEBUG)
    storage = RecordingStorage()
    auth = _oauth(sign_in, storage=storage)
    client = connect(auth_server.url, auth=auth)
    client.call_tool("echo", {"text": "logged"})
    client.call_tool("invalidate_token")  # and a refresh, which logs too
    client.call_tool("echo", {"text": "refreshed"})
    client.close()

    assert auth.token is not None
    secrets = storage.secrets | {auth.token.access_token}
    # Both access tokens, both refresh tokens and the client secret.
    assert len(secrets) >= 5
    assert any(r.name.startswith("mcp_sync.oauth") for r in caplog.records), "no oauth logging"
    logged = caplog.text + "\n".join(
        str(r.msg) + " " + repr(r.args) + " " + repr(getattr(r, "exc_text", ""))
        for r in caplog.records
    )
    for secret in secrets:
        assert secret not in logged
    assert auth.token.access_token not in repr(auth) + repr(auth.token)


def test_token_is_not_sent_to_another_origin(auth_server_factory, sign_in):
    home, other = auth_server_factory(), auth_server_factory()
    auth = _oauth(sign_in)
    with mcp_sync.Client(home.url, auth=auth) as client:
        client.call_tool("echo", {"text": "home"})
    assert auth.token is not None and sign_in.calls == 1

    # The same auth object, used for a request to another origin.
    response = requests.post(
        other.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
        auth=auth,
        timeout=10,
    )
    assert response.status_code == 401
    assert "Authorization" not in response.request.headers
    assert sign_in.calls == 1  # the other server's 401 started no sign-in

    # And a whole client for the other server with it: it gets the 401 as it is.
    stray: Optional[mcp_sync.Client] = mcp_sync.Client(other.url, auth=auth)
    try:
        with pytest.raises(mcp_sync.HTTPStatusError) as raised:
            stray.connect()
    finally:
        stray.close()
    assert raised.value.status == 401
    assert sign_in.calls == 1
