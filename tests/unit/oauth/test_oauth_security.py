"""Security properties of the OAuth client: where tokens go, what is never shown, what is refused."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
import requests
from support.oauth_world import (
    AS_METADATA_URL,
    ISSUER,
    MCP_URL,
    OTHER_URL,
    PRM_PATH_URL,
    REDIRECT_URI,
    json_answer,
)

from mcp_sync.errors import (
    AuthorizationError,
    InsecureEndpointError,
    InsufficientScopeError,
    InvalidAuthorizationResponse,
    MetadataDiscoveryError,
    RegistrationError,
    TokenRequestError,
)
from mcp_sync.oauth import ClientCredentials, ClientRegistration, MemoryStorage, TokenSet
from mcp_sync.oauth.base import MAX_DOCUMENT

CLIENT_SECRET = "client-secret-6f1d2c"
CODE = "authorization-code-9a8b7c"


def sign_in(session, auth):
    response = session.get(MCP_URL, auth=auth)
    assert response.status_code == 200
    return response


# -- where tokens go ------------------------------------------------------------------------------


def test_token_is_not_sent_to_another_origin(world, make_oauth, session):
    auth = make_oauth()
    sign_in(session, auth)

    session.get(OTHER_URL, auth=auth)

    (other,) = world.requests_to(OTHER_URL)
    assert other.authorization is None


@pytest.mark.parametrize(
    "url",
    [
        "https://mcp.example.com:8443/mcp",
        "http://mcp.example.com/mcp",
        "https://sub.mcp.example.com/mcp",
    ],
)
def test_token_is_not_sent_to_another_port_scheme_or_host(world, make_oauth, session, url):
    auth = make_oauth()
    sign_in(session, auth)

    session.get(url, auth=auth)

    (seen,) = world.requests_to(url)
    assert seen.authorization is None


def test_a_401_from_another_origin_starts_no_sign_in(world, make_oauth, session):
    auth = make_oauth()
    sign_in(session, auth)
    world.other_answer = (401, {"WWW-Authenticate": 'Bearer resource_metadata="x"'}, "")

    assert session.get(OTHER_URL, auth=auth).status_code == 401

    assert len(world.authorization_requests) == 1
    assert len(world.requests_to(PRM_PATH_URL)) == 1


def test_authorization_header_is_not_forwarded_on_a_redirect_to_another_origin(
    world, make_oauth, session
):
    auth = make_oauth()
    sign_in(session, auth)
    world.mcp_script.append((307, {"Location": OTHER_URL}, ""))

    response = session.get(MCP_URL, auth=auth)

    assert response.status_code == 200
    assert response.history[0].status_code == 307
    assert world.mcp_requests()[-1].authorization is not None
    (other,) = world.requests_to(OTHER_URL)
    assert other.authorization is None


def test_token_is_not_attached_to_a_cross_origin_redirect_target_with_a_401(
    world, make_oauth, session
):
    auth = make_oauth()
    sign_in(session, auth)
    world.mcp_script.append((302, {"Location": OTHER_URL}, ""))
    world.other_answer = (401, {"WWW-Authenticate": "Bearer"}, "")

    assert session.get(MCP_URL, auth=auth).status_code == 401

    assert all(s.authorization is None for s in world.requests_to(OTHER_URL))
    assert len(world.authorization_requests) == 1


LOOPBACK_MCP = "http://localhost/mcp"
LOOPBACK_HTTPS = "https://localhost/mcp"  # another origin, same host: requests keeps the header


@pytest.fixture
def loopback_mcp(world):
    """An MCP server on http://localhost (GET only) that refuses tokens the world did not
    issue; ``script`` queues its next answers."""
    script = []

    def mcp(seen):
        if script:
            return script.pop(0)
        token = (seen.authorization or "").partition(" ")[2]
        if token in world.valid:
            return 200, {}, "ok"
        return 401, {"WWW-Authenticate": "Bearer"}, ""

    world.documents[LOOPBACK_MCP] = mcp
    world.documents["http://localhost/.well-known/oauth-protected-resource/mcp"] = {
        "resource": LOOPBACK_MCP,
        "authorization_servers": [ISSUER],
    }
    world.documents[LOOPBACK_HTTPS] = (200, {}, "moved")
    return script


@pytest.mark.parametrize("dpop", [False, True], ids=["bearer", "dpop"])
@pytest.mark.parametrize("resent", [False, True], ids=["first-answer", "after-a-refresh"])
def test_a_redirect_from_http_to_https_on_the_same_host_carries_no_token_or_proof(
    world, make_oauth, session, loopback_mcp, resent, dpop
):
    auth = make_oauth(dpop=dpop)
    assert session.get(LOOPBACK_MCP, auth=auth).status_code == 200
    if resent:  # the token was revoked: the redirect answers the resend with a new token
        loopback_mcp.append((401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, ""))
    loopback_mcp.append((307, {"Location": LOOPBACK_HTTPS}, ""))

    assert session.get(LOOPBACK_MCP, auth=auth).status_code == 200

    (moved,) = world.requests_to(LOOPBACK_HTTPS)
    assert moved.authorization is None
    assert "DPoP" not in moved.headers


def test_a_same_origin_redirect_after_a_refresh_carries_the_new_token(world, make_oauth, session):
    auth = make_oauth()
    sign_in(session, auth)
    world.mcp_script.append((401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, ""))
    world.mcp_script.append((307, {"Location": MCP_URL + "?moved=1"}, ""))

    assert session.get(MCP_URL, auth=auth).status_code == 200

    assert auth.token.access_token.startswith("as1-access-2")
    moved = world.mcp_requests()[-1]
    assert moved.query == {"moved": "1"}
    assert moved.authorization == f"Bearer {auth.token.access_token}"


# -- secrets never shown --------------------------------------------------------------------------


def test_repr_of_the_auth_hides_tokens(world, make_oauth, session):
    auth = make_oauth(client_id="app", client_secret=CLIENT_SECRET)
    sign_in(session, auth)

    text = repr(auth) + str(auth)

    assert auth.token.access_token not in text
    assert auth.token.refresh_token not in text
    assert CLIENT_SECRET not in text


def test_repr_of_a_token_set_hides_both_tokens():
    token = TokenSet(access_token="access-abc123", refresh_token="refresh-def456", scope="a")

    assert "access-abc123" not in repr(token)
    assert "refresh-def456" not in repr(token)
    assert "scope='a'" in repr(token)


def test_repr_of_a_client_registration_hides_the_secret():
    client = ClientRegistration(client_id="app", client_secret=CLIENT_SECRET)

    assert CLIENT_SECRET not in repr(client)
    assert "app" in repr(client)


def secrets_of(world):
    values = set(world.secrets()) | {CLIENT_SECRET, CODE}
    for request in world.all_token_requests():
        form = request.form
        for name in ("code", "code_verifier", "refresh_token", "client_secret", "assertion"):
            if form.get(name):
                values.add(form[name])
    return values


def test_no_secret_appears_in_log_records_during_a_full_flow(world, make_oauth, session, caplog):
    caplog.set_level(logging.DEBUG)
    world.auth.registration_extra = {
        "client_secret": CLIENT_SECRET,
        "token_endpoint_auth_method": "client_secret_post",
    }
    world.prm["scopes_supported"] = ["files:read"]
    world.required_scope = "files:read files:write"
    world.step_up_scope = "files:write"
    world.auth.expires_in = 0  # expired at once: each request refreshes first
    auth = make_oauth()

    sign_in(session, auth)  # registration, sign-in, step-up
    sign_in(session, auth)  # proactive refresh
    world.auth.refuse_refresh = True
    sign_in(session, auth)  # refused proactive refresh (logged), sign-in again
    world.auth.refuse_refresh = False
    world.auth.expires_in = 3600
    sign_in(session, auth)  # proactive refresh
    world.valid.clear()
    world.auth.refuse_refresh = True
    sign_in(session, auth)  # refresh on 401 refused (logged), sign-in again

    grants = [r.form["grant_type"] for r in world.auth.token_requests]
    assert grants.count("refresh_token") == 4
    assert grants.count("authorization_code") >= 3
    assert any("refresh" in r.getMessage() for r in caplog.records)
    logged = caplog.text + "".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    leaked = [value for value in secrets_of(world) if value in logged]
    assert leaked == []


def raised(session, auth):
    with pytest.raises(AuthorizationError) as caught:
        session.get(MCP_URL, auth=auth)
    return caught.value


def assert_hides(exc, values):
    text = f"{exc} {exc!r} {exc.args!r} {exc.__cause__!s}"
    leaked = [value for value in values if value and value in text]
    assert leaked == []


def test_state_mismatch_error_does_not_show_the_code(world, make_oauth, session):
    world.callback = lambda query, default: f"{REDIRECT_URI}?code={CODE}&state=forged"

    exc = raised(session, make_oauth())

    assert isinstance(exc, InvalidAuthorizationResponse)
    assert_hides(exc, [CODE])


def test_iss_mismatch_error_does_not_show_the_code(world, make_oauth, session):
    world.callback = lambda query, default: (
        f"{REDIRECT_URI}?{urlencode({'code': CODE, 'state': query['state'], 'iss': 'https://x'})}"
    )

    exc = raised(session, make_oauth())

    assert isinstance(exc, InvalidAuthorizationResponse)
    assert_hides(exc, [CODE])


def test_token_refusal_error_does_not_show_code_verifier_or_secret(world, make_oauth, session):
    world.auth.token_script.append(json_answer({"error": "invalid_client"}, 401))

    exc = raised(session, make_oauth(client_id="app", client_secret=CLIENT_SECRET))

    assert isinstance(exc, TokenRequestError)
    (request,) = world.auth.token_requests
    assert_hides(exc, [CLIENT_SECRET, request.form["code"], request.form["code_verifier"]])


def test_refused_token_error_does_not_show_the_token(world, make_oauth, session):
    auth = make_oauth()
    world.accept_tokens = False

    exc = raised(session, auth)

    assert_hides(exc, secrets_of(world))


def test_step_up_limit_error_does_not_show_the_token(world, make_oauth, session):
    world.required_scope = "admin"
    world.auth.grant_scope = "read"

    exc = raised(session, make_oauth(max_step_ups=1))

    assert isinstance(exc, InsufficientScopeError)
    assert_hides(exc, secrets_of(world))


# -- insecure endpoints ------------------------------------------------------------------------


def test_metadata_with_a_plain_http_remote_token_endpoint_is_refused(world, make_oauth, session):
    world.auth.metadata["token_endpoint"] = "http://auth.example.com/token"

    with pytest.raises(InsecureEndpointError, match="plain HTTP"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []
    assert [s for s in world.log if s.method == "POST"] == []


def test_metadata_with_a_plain_http_remote_authorization_endpoint_is_refused(
    world, make_oauth, session
):
    world.auth.metadata["authorization_endpoint"] = "http://auth.example.com/authorize"

    with pytest.raises(AuthorizationError, match="plain HTTP"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []


def test_plain_http_remote_resource_metadata_hint_is_not_fetched(world, make_oauth, session):
    world.challenge = 'Bearer resource_metadata="http://evil.example.com/prm"'

    with pytest.raises(InsecureEndpointError):
        session.get(MCP_URL, auth=make_oauth())

    assert world.requests_to("http://evil.example.com/prm") == []


def test_resource_metadata_hint_with_another_scheme_is_not_fetched(world, make_oauth, session):
    world.challenge = 'Bearer resource_metadata="file:///etc/passwd"'

    with pytest.raises(InsecureEndpointError):
        session.get(MCP_URL, auth=make_oauth())


def test_plain_http_remote_issuer_is_not_used(world, make_oauth, session):
    world.prm["authorization_servers"] = ["http://auth.example.com"]

    with pytest.raises(InsecureEndpointError, match="plain HTTP"):
        session.get(MCP_URL, auth=make_oauth())

    assert [s for s in world.log if s.url.startswith("http://auth.example.com")] == []


@pytest.mark.parametrize("where", ["issuer", "resource metadata hint", "token endpoint"])
def test_a_remote_server_cannot_send_the_client_to_plain_http_on_loopback(
    world, make_oauth, session, where
):
    if where == "issuer":
        world.prm["authorization_servers"] = ["http://127.0.0.1:8080"]
    elif where == "resource metadata hint":
        world.challenge = 'Bearer resource_metadata="http://127.0.0.1:8080/prm"'
    else:
        world.auth.metadata["token_endpoint"] = "http://127.0.0.1:8080/token"

    with pytest.raises(InsecureEndpointError, match="loopback"):
        session.get(MCP_URL, auth=make_oauth())

    assert [s for s in world.log if s.url.startswith("http://127.0.0.1")] == []
    assert world.authorization_requests == []


def test_a_loopback_server_may_use_a_plain_http_loopback_authorization_server(world, make_oauth):
    local = world.add_auth_server("http://127.0.0.1:9001", "local")
    world.documents["http://127.0.0.1:9000/.well-known/oauth-protected-resource/mcp"] = {
        "resource": "http://127.0.0.1:9000/mcp",
        "authorization_servers": [local.issuer],
    }

    token = make_oauth().authorize("http://127.0.0.1:9000/mcp")

    assert token.access_token.startswith("local-access-1")


def test_metadata_requests_do_not_follow_redirects(world, make_oauth, session):
    world.documents[AS_METADATA_URL] = (302, {"Location": "https://evil.example.com/meta"}, "")

    with pytest.raises(MetadataDiscoveryError):
        session.get(MCP_URL, auth=make_oauth())

    assert world.requests_to("https://evil.example.com/meta") == []


def test_token_endpoint_redirect_is_not_followed(world, make_oauth, session):
    world.auth.token_script.append((307, {"Location": "https://evil.example.com/token"}, ""))

    with pytest.raises(TokenRequestError) as caught:
        session.get(MCP_URL, auth=make_oauth())

    assert caught.value.status == 307
    assert world.requests_to("https://evil.example.com/token") == []


def test_access_token_with_a_line_break_is_refused(world, make_oauth, session):
    world.auth.token_script.append(
        json_answer({"access_token": "abc\r\nX-Injected: 1", "token_type": "Bearer"})
    )

    with pytest.raises(TokenRequestError, match="control characters"):
        session.get(MCP_URL, auth=make_oauth())


# -- oversized and malformed answers ------------------------------------------------------------


def oversized_json():
    return json.dumps({"issuer": ISSUER, "padding": "x" * MAX_DOCUMENT})


def test_oversized_as_metadata_is_refused(world, make_oauth, session):
    world.documents[AS_METADATA_URL] = (200, {"Content-Type": "application/json"}, oversized_json())

    with pytest.raises(AuthorizationError, match="more than"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []


def test_oversized_resource_metadata_is_refused(world, make_oauth, session):
    world.documents[PRM_PATH_URL] = (200, {"Content-Type": "application/json"}, oversized_json())

    with pytest.raises(AuthorizationError, match="more than"):
        session.get(MCP_URL, auth=make_oauth())


def test_oversized_token_answer_is_refused(world, make_oauth, session):
    world.auth.token_script.append((200, {"Content-Type": "application/json"}, oversized_json()))

    with pytest.raises(AuthorizationError, match="more than"):
        session.get(MCP_URL, auth=make_oauth())


def test_metadata_of_exactly_the_limit_is_accepted(world, make_oauth, session):
    body = json.dumps(world.auth.metadata)
    body += " " * (MAX_DOCUMENT - len(body))
    world.documents[AS_METADATA_URL] = (200, {"Content-Type": "application/json"}, body)

    assert sign_in(session, make_oauth()).status_code == 200


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    "answer",
    [
        (200, {}, "not json"),
        (200, {"Content-Type": "application/json"}, "[1, 2]"),
        (200, {"Content-Type": "application/json"}, '{"token_type": "Bearer"}'),
        (200, {"Content-Type": "application/json"}, '{"access_token": 5}'),
        (200, {"Content-Type": "application/json"}, '{"access_token": ""}'),
        (200, {"Content-Type": "application/json"}, ""),
        (400, {"Content-Type": "text/html"}, "<html>bad</html>"),
        (500, {}, ""),
    ],
)
def test_malformed_token_answer_is_a_token_request_error(world, make_oauth, session, answer):
    world.auth.token_script.append(answer)

    with pytest.raises(TokenRequestError) as caught:
        session.get(MCP_URL, auth=make_oauth())

    if answer[0] != 200:
        assert caught.value.status == answer[0]
        assert caught.value.error is None


@pytest.mark.timeout(5)
@pytest.mark.parametrize("body", ["not json", "[]", "null", '{"client_id": 7}'])
def test_malformed_registration_answer_is_a_registration_error(world, make_oauth, session, body):
    world.auth.registration_answer = (201, {"Content-Type": "application/json"}, body)

    with pytest.raises(RegistrationError):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []


@pytest.mark.timeout(5)
@pytest.mark.parametrize("body", ["not json", "[]", '{"issuer": 5}', "{}"])
def test_malformed_as_metadata_is_a_discovery_error(world, make_oauth, session, body):
    world.documents[AS_METADATA_URL] = (200, {"Content-Type": "application/json"}, body)

    with pytest.raises(MetadataDiscoveryError):
        session.get(MCP_URL, auth=make_oauth())


@pytest.mark.timeout(5)
@pytest.mark.parametrize("body", ["[]", '"text"', '{"resource": "https://mcp.example.com/mcp"}'])
def test_malformed_resource_metadata_is_a_discovery_error(world, make_oauth, session, body):
    world.documents[PRM_PATH_URL] = (200, {"Content-Type": "application/json"}, body)

    with pytest.raises(MetadataDiscoveryError):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []


def test_connection_failure_at_the_token_endpoint_is_a_token_request_error(
    world, make_oauth, session
):
    def refuse(seen):
        raise requests.ConnectionError("connection refused")

    world.auth.token_script.append(refuse)

    with pytest.raises(TokenRequestError, match="ConnectionError"):
        session.get(MCP_URL, auth=make_oauth())


def test_connection_failure_fetching_metadata_is_a_discovery_error(world, make_oauth, session):
    def refuse(seen):
        raise requests.ConnectionError("connection refused")

    world.documents[AS_METADATA_URL] = refuse

    with pytest.raises(MetadataDiscoveryError, match="ConnectionError"):
        session.get(MCP_URL, auth=make_oauth())


def test_connection_failure_at_registration_is_a_registration_error(world, make_oauth, session):
    def refuse(seen):
        raise requests.ConnectionError("connection refused")

    world.auth.registration_answer = refuse

    with pytest.raises(RegistrationError):
        session.get(MCP_URL, auth=make_oauth())


@pytest.mark.parametrize(
    "header",
    ['Bearer ="', "\x00\x01garbage===", "Bearer realm=, =x, scope", ",,,=,,,", "Bearer \u00ff"],
)
def test_garbage_www_authenticate_does_not_crash_the_flow(world, make_oauth, session, header):
    world.challenge = header

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200


def test_a_resource_metadata_hint_that_is_no_url_is_a_typed_error(world, make_oauth, session):
    world.challenge = 'Bearer resource_metadata="unterminated'

    with pytest.raises(InsecureEndpointError):
        session.get(MCP_URL, auth=make_oauth())


def test_tokens_in_storage_are_not_used_for_another_server(world, make_oauth, session):
    storage = MemoryStorage()
    sign_in(session, make_oauth(storage=storage))

    other = make_oauth(storage=storage)
    session.get("https://other.example.com/mcp", auth=other)

    (seen,) = world.requests_to("https://other.example.com/mcp")
    assert seen.authorization is None


def test_client_credentials_sharing_a_storage_with_a_person_do_not_get_the_persons_token(
    world, make_oauth, session
):
    storage = MemoryStorage()
    person = make_oauth(storage=storage)
    sign_in(session, person)

    service = ClientCredentials("service", "service-secret", storage=storage)
    sign_in(session, service)

    assert service.token.access_token != person.token.access_token
    assert world.mcp_requests()[-1].authorization == f"Bearer {service.token.access_token}"
    assert world.auth.token_requests[-1].form["grant_type"] == "client_credentials"


def test_two_accounts_sharing_a_storage_keep_their_own_tokens(world, make_oauth, session):
    storage = MemoryStorage()
    alice = make_oauth(storage=storage, account="alice")
    sign_in(session, alice)
    bob = make_oauth(storage=storage, account="bob")
    sign_in(session, bob)

    alice_again = make_oauth(storage=storage, account="alice")
    sign_in(session, alice_again)

    assert bob.token.access_token != alice.token.access_token
    assert alice_again.token.access_token == alice.token.access_token
    assert len(world.authorization_requests) == 2
