"""Sign-in in two steps for web applications: start_authorization, then finish_authorization."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from support.oauth_world import ISSUER, MCP_URL

from mcp_sync.errors import AuthorizationRequired, InvalidAuthorizationResponse
from mcp_sync.oauth import MemoryStorage, OAuth

WEB_CALLBACK = "https://app.example.com/mcp/callback"


@pytest.fixture
def storage():
    return MemoryStorage()


@pytest.fixture
def web(storage):
    def make(**options):
        options.setdefault("server_url", MCP_URL)
        options.setdefault("redirect_uri", WEB_CALLBACK)
        options.setdefault("application_type", "web")
        options.setdefault("storage", storage)
        return OAuth(**options)

    return make


def query_of(url):
    return dict(parse_qsl(urlsplit(url).query))


def test_start_returns_the_authorization_url_and_sends_nothing_to_the_token_endpoint(world, web):
    url = web().start_authorization()

    assert url.startswith(ISSUER + "/authorize?")
    query = query_of(url)
    assert query["redirect_uri"] == WEB_CALLBACK
    assert query["code_challenge_method"] == "S256"
    assert query["resource"] == MCP_URL
    assert query["state"]
    assert world.all_token_requests() == []
    assert world.auth.registrations[0].json["application_type"] == "web"


def test_finish_exchanges_the_code_and_the_token_is_used(world, web, session):
    auth = web()
    callback = world.handler(auth.start_authorization())

    token = auth.finish_authorization(callback)

    assert session.get(MCP_URL, auth=auth).status_code == 200
    assert len(world.mcp_requests()) == 1
    assert world.mcp_requests()[0].authorization == f"Bearer {token.access_token}"
    (request,) = world.auth.token_requests
    assert request.form["redirect_uri"] == WEB_CALLBACK


def test_another_instance_sharing_the_storage_can_finish(world, web, session):
    callback = world.handler(web().start_authorization())

    other = web()
    token = other.finish_authorization(callback)

    assert token.access_token in world.valid
    assert session.get(MCP_URL, auth=web()).status_code == 200
    assert len(world.mcp_requests()) == 1


def test_finish_with_an_unknown_state_is_refused(world, web):
    auth = web()
    callback = world.handler(auth.start_authorization())
    query = query_of(callback)
    query["state"] = "never-started"

    with pytest.raises(InvalidAuthorizationResponse):
        auth.finish_authorization(f"{WEB_CALLBACK}?{urlencode(query)}")

    assert world.all_token_requests() == []


def test_a_sign_in_can_be_finished_only_once(world, web):
    auth = web()
    callback = world.handler(auth.start_authorization())
    auth.finish_authorization(callback)

    with pytest.raises(InvalidAuthorizationResponse):
        auth.finish_authorization(callback)

    assert len(world.auth.token_requests) == 1


def test_finish_with_another_issuer_is_refused(world, web):
    auth = web()
    callback = world.handler(auth.start_authorization())
    query = query_of(callback)
    query["iss"] = "https://evil.example.com"

    with pytest.raises(InvalidAuthorizationResponse):
        auth.finish_authorization(f"{WEB_CALLBACK}?{urlencode(query)}")

    assert world.all_token_requests() == []


def test_finish_after_the_authorization_server_changed_is_refused(world, web):
    auth = web()
    callback = world.handler(auth.start_authorization())
    world.add_auth_server("https://login.example.net", "as2")
    world.prm["authorization_servers"] = ["https://login.example.net"]

    with pytest.raises(InvalidAuthorizationResponse, match="changed"):
        auth.finish_authorization(callback)

    assert world.all_token_requests() == []


def test_start_without_redirect_uri_is_a_value_error(world, storage):
    auth = OAuth(server_url=MCP_URL, storage=storage)

    with pytest.raises(ValueError, match="redirect_uri"):
        auth.start_authorization()


def test_a_sign_in_older_than_the_login_timeout_cannot_be_finished(world, web, monkeypatch):
    auth = web(login_timeout=60)
    callback = world.handler(auth.start_authorization())
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)

    with pytest.raises(InvalidAuthorizationResponse, match="too long ago"):
        auth.finish_authorization(callback)

    assert world.auth.token_requests == []


def test_users_on_one_storage_keep_their_own_tokens_and_share_the_registration(world, web, session):
    alice, bob = web(account="alice"), web(account="bob")
    alice.finish_authorization(world.handler(alice.start_authorization()))

    assert bob.token is None
    with pytest.raises(AuthorizationRequired):
        session.get(MCP_URL, auth=web(account="bob"))
    assert world.mcp_requests()[-1].authorization is None
    bob.finish_authorization(world.handler(bob.start_authorization()))
    assert bob.token.access_token != alice.token.access_token
    assert len(world.auth.registrations) == 1
