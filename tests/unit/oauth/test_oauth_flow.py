"""The authorization code flow end to end, against the scripted world of ``support.oauth_world``.

Each test sends plain ``requests`` through ``auth=OAuth(...)``; the MCP server answers 401
until a valid token comes, and the headless redirect handler plays the person signing in.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.request
import webbrowser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from support.oauth_world import (
    AS_METADATA_URL,
    ISSUER,
    MCP_ORIGIN,
    MCP_URL,
    OIDC_METADATA_URL,
    PRM_PATH_URL,
    PRM_ROOT_URL,
    REDIRECT_URI,
    json_answer,
    s256,
)

import mcp_sync
from mcp_sync import engine
from mcp_sync.engine import Call, CallInterrupted
from mcp_sync.errors import (
    AuthorizationDenied,
    AuthorizationError,
    ClientStateError,
    InsecureEndpointError,
    InsufficientScopeError,
    InvalidAuthorizationResponse,
    MetadataDiscoveryError,
    RegistrationError,
    TokenRequestError,
)
from mcp_sync.oauth import MemoryStorage, OAuth, TokenSet, WorkloadIdentity
from mcp_sync.oauth import base as oauth_base

CIMD_URL = "https://app.example.com/oauth/client.json"
ISSUER2 = "https://login.example.net"


def with_callback(world, **changes):
    """Make the redirect handler answer with the default callback, changed as given
    (a value of None drops the parameter)."""

    def callback(query, default):
        parts = urlsplit(default)
        params = dict(parse_qsl(parts.query))
        params.update(changes)
        params = {k: v for k, v in params.items() if v is not None}
        return f"{REDIRECT_URI}?{urlencode(params)}"

    world.callback = callback


# -- the happy path ------------------------------------------------------------------------------


def test_first_request_signs_in_and_is_resent_with_the_token(world, make_oauth, session):
    auth = make_oauth()

    response = session.get(MCP_URL, auth=auth)

    assert response.status_code == 200
    first, second = world.mcp_requests()
    assert first.authorization is None
    (issued,) = world.valid.values()
    assert second.authorization == f"Bearer {issued.access_token}"
    assert len(world.authorization_requests) == 1


def test_later_requests_reuse_the_token_without_signing_in_again(world, make_oauth, session):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)

    for _ in range(3):
        assert session.post(MCP_URL, json={}, auth=auth).status_code == 200

    assert len(world.authorization_requests) == 1
    assert len(world.auth.token_requests) == 1
    assert len(world.mcp_requests()) == 5


def test_authorization_request_carries_the_s256_challenge_of_the_verifier_sent_later(
    world, make_oauth, session
):
    session.get(MCP_URL, auth=make_oauth())

    (request,) = world.authorization_requests
    (token_request,) = world.auth.token_requests
    assert request["response_type"] == "code"
    assert request["code_challenge_method"] == "S256"
    assert request["code_challenge"] == s256(token_request.form["code_verifier"])
    assert request["redirect_uri"] == REDIRECT_URI
    assert token_request.form["grant_type"] == "authorization_code"
    assert token_request.form["redirect_uri"] == REDIRECT_URI
    assert token_request.form["code"] == "code-as1-1"


def test_each_sign_in_uses_a_fresh_state_and_verifier(world, make_oauth, session):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    auth.logout()
    session.get(MCP_URL, auth=auth)

    first, second = world.authorization_requests
    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]


def test_authorize_gets_a_token_before_the_first_request(world, make_oauth, session):
    auth = make_oauth()

    token = auth.authorize(MCP_URL)

    assert token.access_token in world.valid
    assert session.get(MCP_URL, auth=auth).status_code == 200
    assert len(world.mcp_requests()) == 1


def test_authorize_returns_a_stored_token_without_signing_in(world, make_oauth, session):
    storage = MemoryStorage()
    session.get(MCP_URL, auth=make_oauth(storage=storage))

    token = make_oauth(storage=storage).authorize(MCP_URL)

    assert token.access_token.startswith("as1-access-1")
    assert len(world.authorization_requests) == 1
    assert len(world.auth.token_requests) == 1


def test_authorize_refreshes_an_expired_stored_token(world, make_oauth, session):
    storage = MemoryStorage()
    world.auth.expires_in = 0
    session.get(MCP_URL, auth=make_oauth(storage=storage))
    world.auth.expires_in = 3600

    token = make_oauth(storage=storage).authorize(MCP_URL)

    assert token.access_token.startswith("as1-access-2")
    assert world.auth.token_requests[-1].form["grant_type"] == "refresh_token"
    assert len(world.authorization_requests) == 1


def test_expired_stored_token_is_refreshed_by_a_new_auth_before_sending(world, make_oauth, session):
    storage = MemoryStorage()
    world.auth.expires_in = 0
    session.get(MCP_URL, auth=make_oauth(storage=storage))
    before = len(world.mcp_requests())

    fresh = make_oauth(storage=storage)
    assert session.get(MCP_URL, auth=fresh).status_code == 200

    (sent,) = world.mcp_requests()[before:]
    assert sent.authorization == f"Bearer {fresh.token.access_token}"
    refresh = world.auth.token_requests[-1]
    assert refresh.form["grant_type"] == "refresh_token"
    assert refresh.form["client_id"] == "as1-client-1"
    assert refresh.form["resource"] == MCP_URL
    assert len(world.authorization_requests) == 1


def test_authorize_signs_in_anew_for_an_expired_stored_token_without_refresh_token(
    world, make_oauth, session
):
    storage = MemoryStorage()
    world.auth.issue_refresh_tokens = False
    world.auth.expires_in = 0
    session.get(MCP_URL, auth=make_oauth(storage=storage))
    world.auth.expires_in = 3600

    token = make_oauth(storage=storage).authorize(MCP_URL)

    assert not token.expired()
    assert token.access_token.startswith("as1-access-2")
    assert len(world.authorization_requests) == 2


def test_authorize_for_another_origin_than_the_bound_one_is_a_value_error(world, make_oauth):
    auth = make_oauth(server_url=MCP_URL)

    with pytest.raises(ValueError, match=r"other\.example\.com"):
        auth.authorize("https://other.example.com/mcp")

    assert world.log == []


def test_authorize_without_a_server_url_is_a_value_error(make_oauth):
    with pytest.raises(ValueError):
        make_oauth().authorize()


# -- discovery ---------------------------------------------------------------------------------


def test_challenge_resource_metadata_is_used_and_well_known_prm_is_not_requested(
    world, make_oauth, session
):
    hinted = MCP_ORIGIN + "/metadata/prm.json"
    world.documents[hinted] = world.documents.pop(PRM_PATH_URL)
    world.challenge = f'Bearer resource_metadata="{hinted}"'

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    gets = world.urls("GET")
    assert gets == [MCP_URL, hinted, AS_METADATA_URL, MCP_URL]
    assert PRM_ROOT_URL not in gets
    assert PRM_PATH_URL not in gets


def test_prm_path_inserted_url_is_tried_before_root(world, make_oauth, session):
    world.challenge = "Bearer"
    world.documents[PRM_ROOT_URL] = world.documents.pop(PRM_PATH_URL)

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    assert world.urls("GET") == [MCP_URL, PRM_PATH_URL, PRM_ROOT_URL, AS_METADATA_URL, MCP_URL]


def test_prm_found_at_the_path_inserted_url_means_root_is_not_requested(world, make_oauth, session):
    world.challenge = 'Bearer realm="mcp"'

    session.get(MCP_URL, auth=make_oauth())

    assert PRM_ROOT_URL not in world.urls("GET")


def test_401_without_www_authenticate_still_discovers_through_well_known_urls(
    world, make_oauth, session
):
    world.challenge = None

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200
    assert world.urls("GET")[1] == PRM_PATH_URL


def test_as_metadata_falls_back_to_openid_configuration(world, make_oauth, session):
    world.documents[OIDC_METADATA_URL] = world.documents.pop(AS_METADATA_URL)

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    assert world.urls("GET") == [MCP_URL, PRM_PATH_URL, AS_METADATA_URL, OIDC_METADATA_URL, MCP_URL]


def test_as_metadata_for_an_issuer_with_a_path_is_looked_up_path_inserted_first(
    world, make_oauth, session
):
    tenant = world.add_auth_server(ISSUER + "/tenant1", "tenant")
    world.prm["authorization_servers"] = [tenant.issuer]
    oidc_appended = ISSUER + "/tenant1/.well-known/openid-configuration"
    world.documents[oidc_appended] = world.documents.pop(
        ISSUER + "/.well-known/oauth-authorization-server/tenant1"
    )

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    assert world.urls("GET")[2:5] == [
        ISSUER + "/.well-known/oauth-authorization-server/tenant1",
        ISSUER + "/.well-known/openid-configuration/tenant1",
        oidc_appended,
    ]
    assert len(tenant.token_requests) == 1


def test_next_authorization_server_is_tried_when_the_first_has_no_metadata(
    world, make_oauth, session
):
    world.prm["authorization_servers"] = ["https://gone.example.com", ISSUER]

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200
    assert len(world.auth.token_requests) == 1


def test_as_metadata_naming_another_issuer_is_not_used(world, make_oauth, session):
    world.auth.metadata["issuer"] = ISSUER + "/"

    with pytest.raises(MetadataDiscoveryError):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []


def test_server_without_prm_falls_back_to_2025_03_26_origin_metadata(world, make_oauth, session):
    world.documents.pop(PRM_PATH_URL)
    legacy = world.add_auth_server(MCP_ORIGIN, "legacy")
    world.challenge = "Bearer"

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    origin_metadata = MCP_ORIGIN + "/.well-known/oauth-authorization-server"
    assert world.urls("GET") == [MCP_URL, PRM_PATH_URL, PRM_ROOT_URL, origin_metadata, MCP_URL]
    (metadata_get,) = world.requests_to(origin_metadata)
    assert metadata_get.headers["MCP-Protocol-Version"] == "2025-03-26"
    assert len(legacy.token_requests) == 1
    assert world.auth.token_requests == []


def test_2025_03_26_server_gets_no_resource_parameter(world, make_oauth, session):
    world.documents.pop(PRM_PATH_URL)
    legacy = world.add_auth_server(MCP_ORIGIN, "legacy")

    session.get(MCP_URL, auth=make_oauth())

    (request,) = world.authorization_requests
    assert "resource" not in request
    assert "resource" not in legacy.token_requests[0].form


def test_server_without_any_metadata_uses_the_default_endpoints(world, make_oauth, session):
    world.documents.pop(PRM_PATH_URL)
    legacy = world.add_auth_server(MCP_ORIGIN, "legacy")
    world.documents.pop(MCP_ORIGIN + "/.well-known/oauth-authorization-server")

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    assert [s.path_url for s in world.log if s.method == "POST"] == [
        MCP_ORIGIN + "/register",
        MCP_ORIGIN + "/token",
    ]
    (request,) = world.authorization_requests
    assert request["code_challenge_method"] == "S256"
    assert len(legacy.registrations) == 1


def legacy_server_without_issuer(world, origin, prefix):
    """A 2025-03-26 authorization server at ``origin`` whose metadata names no issuer."""
    server = world.add_auth_server(origin, prefix)
    del server.metadata["issuer"]
    return server


def test_2025_03_26_metadata_without_issuer_takes_the_origin_as_issuer(world, make_oauth, session):
    world.documents.pop(PRM_PATH_URL)
    legacy = legacy_server_without_issuer(world, MCP_ORIGIN, "legacy")  # it sends iss=origin

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    assert len(legacy.token_requests) == 1


def test_2025_03_26_servers_without_issuer_each_get_their_own_registration(world, make_oauth):
    world.documents.pop(PRM_PATH_URL)
    first = legacy_server_without_issuer(world, MCP_ORIGIN, "legacy")
    second = legacy_server_without_issuer(world, "https://mcp2.example.com", "second")
    first.send_iss = second.send_iss = False
    storage = MemoryStorage()

    make_oauth(storage=storage).authorize(MCP_URL)
    make_oauth(storage=storage).authorize("https://mcp2.example.com/mcp")

    assert len(first.registrations) == 1
    assert len(second.registrations) == 1
    assert second.token_requests[0].form["client_id"] == "second-client-1"


@pytest.mark.parametrize("url", [PRM_PATH_URL, AS_METADATA_URL])
def test_metadata_answering_5xx_is_a_discovery_error_without_a_fallback(
    world, make_oauth, session, url
):
    world.documents[url] = (503, {}, "unavailable")

    with pytest.raises(MetadataDiscoveryError) as caught:
        session.get(MCP_URL, auth=make_oauth())

    assert caught.value.status == 503
    assert world.requests_to(MCP_ORIGIN + "/.well-known/oauth-authorization-server") == []
    assert [s for s in world.log if s.method == "POST"] == []
    assert world.authorization_requests == []


# -- PKCE and the authorization server's promises -------------------------------------------------


@pytest.mark.parametrize("methods", [["plain"], [], None])
def test_authorization_is_refused_when_s256_is_not_advertised(world, make_oauth, session, methods):
    if methods is None:
        del world.auth.metadata["code_challenge_methods_supported"]
    else:
        world.auth.metadata["code_challenge_methods_supported"] = methods

    with pytest.raises(InsecureEndpointError, match="S256"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []
    assert world.all_token_requests() == []
    assert world.all_registrations() == []


def test_metadata_without_authorization_endpoint_is_refused(world, make_oauth, session):
    del world.auth.metadata["authorization_endpoint"]

    with pytest.raises(InsecureEndpointError, match="authorization_endpoint"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []


# -- resource (RFC 8707) ---------------------------------------------------------------------------


def test_resource_in_authorization_and_token_request_is_the_prm_resource_verbatim(
    world, make_oauth, session
):
    world.prm["resource"] = "https://MCP.example.com:443/"

    session.get(MCP_URL, auth=make_oauth())

    (request,) = world.authorization_requests
    (token_request,) = world.auth.token_requests
    assert request["resource"] == "https://MCP.example.com:443/"
    assert token_request.form["resource"] == "https://MCP.example.com:443/"


@pytest.mark.parametrize(
    "resource",
    [
        "https://evil.example.com/mcp",
        "http://mcp.example.com/mcp",
        "https://mcp.example.com/other",
        "https://mcp.example.com/mcp/deeper",
    ],
)
def test_prm_for_another_resource_is_refused_before_any_authorization(
    world, make_oauth, session, resource
):
    world.prm["resource"] = resource

    with pytest.raises(MetadataDiscoveryError, match="not for the MCP server"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []
    assert world.requests_to(AS_METADATA_URL) == []
    assert world.all_registrations() == []


def test_prm_without_resource_sends_the_server_url_as_resource(world, make_oauth, session):
    del world.prm["resource"]

    session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests[0]["resource"] == MCP_URL


# -- scope selection ------------------------------------------------------------------------------


def test_scope_from_the_challenge_is_requested(world, make_oauth, session):
    world.prm["scopes_supported"] = ["files:read", "files:write", "admin"]
    world.challenge = f'Bearer scope="files:read", resource_metadata="{PRM_PATH_URL}"'

    session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests[0]["scope"] == "files:read"


def test_without_challenge_scope_every_prm_scope_is_requested(world, make_oauth, session):
    world.prm["scopes_supported"] = ["files:read", "files:write"]

    session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests[0]["scope"] == "files:read files:write"


def test_without_challenge_or_prm_scopes_no_scope_is_sent(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth())

    assert "scope" not in world.authorization_requests[0]


def test_fixed_scopes_replace_the_prm_scopes(world, make_oauth, session):
    world.prm["scopes_supported"] = ["files:read", "files:write"]

    session.get(MCP_URL, auth=make_oauth(scopes=["mcp:tools"]))

    assert world.authorization_requests[0]["scope"] == "mcp:tools"


def test_offline_access_is_added_when_the_as_lists_it(world, make_oauth, session):
    world.prm["scopes_supported"] = ["files:read"]
    world.auth.metadata["scopes_supported"] = ["files:read", "offline_access"]

    session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests[0]["scope"] == "files:read offline_access"


def test_offline_access_is_not_added_when_the_as_does_not_list_it(world, make_oauth, session):
    world.prm["scopes_supported"] = ["files:read"]
    world.auth.metadata["scopes_supported"] = ["files:read", "files:write"]

    session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests[0]["scope"] == "files:read"


def test_offline_access_is_not_repeated_when_already_requested(world, make_oauth, session):
    world.prm["scopes_supported"] = ["offline_access", "files:read"]
    world.auth.metadata["scopes_supported"] = ["files:read", "offline_access"]

    session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests[0]["scope"] == "offline_access files:read"


def test_offline_access_comes_with_prompt_consent(world, make_oauth, session):
    world.prm["scopes_supported"] = ["files:read"]
    world.auth.metadata["scopes_supported"] = ["files:read", "offline_access"]

    session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests[0]["prompt"] == "consent"


def test_without_offline_access_no_prompt_is_sent(world, make_oauth, session):
    world.prm["scopes_supported"] = ["files:read"]

    session.get(MCP_URL, auth=make_oauth())

    assert "prompt" not in world.authorization_requests[0]


# -- the authorization response: state, iss, errors ----------------------------------------------


def test_state_mismatch_is_rejected_and_the_code_is_not_used(world, make_oauth, session):
    with_callback(world, state="forged")

    with pytest.raises(InvalidAuthorizationResponse, match="state"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.all_token_requests() == []


def test_missing_state_is_rejected(world, make_oauth, session):
    with_callback(world, state=None)

    with pytest.raises(InvalidAuthorizationResponse):
        session.get(MCP_URL, auth=make_oauth())

    assert world.all_token_requests() == []


def test_iss_of_another_issuer_is_rejected(world, make_oauth, session):
    with_callback(world, iss="https://evil.example.com")

    with pytest.raises(InvalidAuthorizationResponse, match="issuer"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.all_token_requests() == []


def test_iss_with_a_trailing_slash_is_rejected(world, make_oauth, session):
    with_callback(world, iss=ISSUER + "/")

    with pytest.raises(InvalidAuthorizationResponse):
        session.get(MCP_URL, auth=make_oauth())

    assert world.all_token_requests() == []


def test_missing_iss_is_rejected_when_the_as_advertises_it(world, make_oauth, session):
    world.auth.metadata["authorization_response_iss_parameter_supported"] = True
    world.auth.send_iss = False

    with pytest.raises(InvalidAuthorizationResponse, match="iss"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.all_token_requests() == []


def test_missing_iss_is_accepted_when_the_as_does_not_advertise_it(world, make_oauth, session):
    world.auth.send_iss = False

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200


def test_access_denied_raises_authorization_denied(world, make_oauth, session):
    def deny(query, default):
        params = {"error": "access_denied", "state": query["state"], "iss": ISSUER}
        return f"{REDIRECT_URI}?{urlencode(params)}"

    world.callback = deny

    with pytest.raises(AuthorizationDenied) as caught:
        session.get(MCP_URL, auth=make_oauth())

    assert caught.value.error == "access_denied"
    assert world.all_token_requests() == []


def test_error_with_a_forged_state_is_an_invalid_response_not_a_denial(world, make_oauth, session):
    world.callback = lambda query, default: f"{REDIRECT_URI}?error=access_denied&state=x"

    with pytest.raises(InvalidAuthorizationResponse):
        session.get(MCP_URL, auth=make_oauth())


def test_response_without_code_is_rejected(world, make_oauth, session):
    with_callback(world, code=None)

    with pytest.raises(InvalidAuthorizationResponse, match="no code"):
        session.get(MCP_URL, auth=make_oauth())

    assert world.all_token_requests() == []


def test_handler_that_returns_no_url_is_an_invalid_response(world, make_oauth, session):
    with pytest.raises(InvalidAuthorizationResponse):
        session.get(MCP_URL, auth=make_oauth(redirect_handler=lambda url: None))


def test_authorization_endpoint_query_is_kept(world, make_oauth, session):
    world.auth.metadata["authorization_endpoint"] = ISSUER + "/authorize?tenant=t1"
    seen = []

    def handler(url):
        seen.append(url)
        return world.handler(url)

    assert session.get(MCP_URL, auth=make_oauth(redirect_handler=handler)).status_code == 200

    assert seen[0].startswith(ISSUER + "/authorize?tenant=t1&response_type=code&")


# -- client registration --------------------------------------------------------------------------


def test_dynamic_registration_body_describes_a_native_public_client(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth(client_name="My App"))

    (registration,) = world.auth.registrations
    assert registration.json == {
        "client_name": "My App",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }
    assert world.authorization_requests[0]["client_id"] == "as1-client-1"
    assert world.auth.token_requests[0].form["client_id"] == "as1-client-1"


def test_registration_asks_for_a_secret_when_the_as_has_no_public_clients(
    world, make_oauth, session
):
    world.auth.metadata["token_endpoint_auth_methods_supported"] = ["client_secret_post"]

    session.get(MCP_URL, auth=make_oauth())

    assert world.auth.registrations[0].json["token_endpoint_auth_method"] == "client_secret_post"


def test_registration_failure_raises_registration_error_with_status_and_error(
    world, make_oauth, session
):
    world.auth.registration_answer = json_answer(
        {"error": "invalid_redirect_uri", "error_description": "loopback not allowed"}, 400
    )

    with pytest.raises(RegistrationError) as caught:
        session.get(MCP_URL, auth=make_oauth())

    assert caught.value.status == 400
    assert caught.value.error == "invalid_redirect_uri"
    assert caught.value.description == "loopback not allowed"
    assert world.authorization_requests == []


def test_registration_answer_without_client_id_is_a_registration_error(world, make_oauth, session):
    world.auth.registration_answer = json_answer({"client_name": "x"}, 201)

    with pytest.raises(RegistrationError, match="client_id"):
        session.get(MCP_URL, auth=make_oauth())


def test_no_registration_endpoint_and_no_client_id_is_a_registration_error(
    world, make_oauth, session
):
    del world.auth.metadata["registration_endpoint"]

    with pytest.raises(RegistrationError, match="client_id="):
        session.get(MCP_URL, auth=make_oauth())

    assert world.authorization_requests == []


def test_pre_registered_client_is_used_without_registration(world, make_oauth, session):
    del world.auth.metadata["registration_endpoint"]

    assert session.get(MCP_URL, auth=make_oauth(client_id="pre-registered")).status_code == 200

    assert world.all_registrations() == []
    assert world.authorization_requests[0]["client_id"] == "pre-registered"
    (token_request,) = world.auth.token_requests
    assert token_request.form["client_id"] == "pre-registered"
    assert token_request.authorization is None


def test_pre_registered_client_is_preferred_over_cimd(world, make_oauth, session):
    world.auth.metadata["client_id_metadata_document_supported"] = True

    session.get(MCP_URL, auth=make_oauth(client_id="pre-registered", client_metadata_url=CIMD_URL))

    assert world.authorization_requests[0]["client_id"] == "pre-registered"


def test_cimd_url_is_the_client_id_when_the_as_supports_it(world, make_oauth, session):
    world.auth.metadata["client_id_metadata_document_supported"] = True

    assert session.get(MCP_URL, auth=make_oauth(client_metadata_url=CIMD_URL)).status_code == 200

    assert world.all_registrations() == []
    assert world.authorization_requests[0]["client_id"] == CIMD_URL
    assert world.auth.token_requests[0].form["client_id"] == CIMD_URL


def test_cimd_is_not_used_when_the_as_does_not_advertise_it(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth(client_metadata_url=CIMD_URL))

    assert len(world.auth.registrations) == 1
    assert world.authorization_requests[0]["client_id"] == "as1-client-1"


def test_cimd_is_preferred_over_a_stored_registration(world, make_oauth, session):
    storage = MemoryStorage()
    first = make_oauth(storage=storage)
    session.get(MCP_URL, auth=first)
    first.logout()
    world.auth.metadata["client_id_metadata_document_supported"] = True

    session.get(MCP_URL, auth=make_oauth(storage=storage, client_metadata_url=CIMD_URL))

    assert world.authorization_requests[1]["client_id"] == CIMD_URL


def test_registered_secret_is_sent_with_basic_auth(world, make_oauth, session):
    world.auth.registration_extra = {
        "client_secret": "registered-secret",
        "token_endpoint_auth_method": "client_secret_basic",
    }

    session.get(MCP_URL, auth=make_oauth())

    (token_request,) = world.auth.token_requests
    assert token_request.basic == ("as1-client-1", "registered-secret")
    assert "client_secret" not in token_request.form


def test_registered_secret_is_sent_in_the_form_for_client_secret_post(world, make_oauth, session):
    world.auth.registration_extra = {
        "client_secret": "registered-secret",
        "token_endpoint_auth_method": "client_secret_post",
    }

    session.get(MCP_URL, auth=make_oauth())

    (token_request,) = world.auth.token_requests
    assert token_request.form["client_id"] == "as1-client-1"
    assert token_request.form["client_secret"] == "registered-secret"
    assert token_request.authorization is None


def test_registered_secret_without_a_method_defaults_to_basic(world, make_oauth, session):
    world.auth.registration_answer = lambda seen: json_answer(
        {"client_id": "c1", "client_secret": "registered-secret"}, 201
    )

    session.get(MCP_URL, auth=make_oauth())

    assert world.auth.token_requests[0].basic == ("c1", "registered-secret")


def test_public_client_sends_only_its_client_id(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth())

    (token_request,) = world.auth.token_requests
    assert token_request.form["client_id"] == "as1-client-1"
    assert "client_secret" not in token_request.form
    assert token_request.authorization is None


def test_pre_registered_secret_uses_basic_when_the_as_lists_it(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth(client_id="app", client_secret="app-secret"))

    assert world.auth.token_requests[0].basic == ("app", "app-secret")


def test_pre_registered_secret_goes_in_the_form_when_only_post_is_listed(
    world, make_oauth, session
):
    world.auth.metadata["token_endpoint_auth_methods_supported"] = ["client_secret_post"]

    session.get(MCP_URL, auth=make_oauth(client_id="app", client_secret="app-secret"))

    (token_request,) = world.auth.token_requests
    assert token_request.form["client_secret"] == "app-secret"
    assert token_request.authorization is None


def test_basic_credentials_are_form_encoded(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth(client_id="app:1", client_secret="p@ss:w/rd"))

    (token_request,) = world.auth.token_requests
    raw = base64.b64decode(token_request.authorization[len("Basic ") :]).decode("ascii")
    assert raw == "app%3A1:p%40ss%3Aw%2Frd"
    assert token_request.basic == ("app:1", "p@ss:w/rd")


def test_stored_registration_is_reused_for_the_same_issuer(world, make_oauth, session):
    storage = MemoryStorage()
    first = make_oauth(storage=storage)
    session.get(MCP_URL, auth=first)
    first.logout()

    second = make_oauth(storage=storage)
    assert session.get(MCP_URL, auth=second).status_code == 200

    assert len(world.auth.registrations) == 1
    assert [r["client_id"] for r in world.authorization_requests] == ["as1-client-1"] * 2


def test_stored_registration_for_another_redirect_uri_is_not_reused(world, make_oauth, session):
    storage = MemoryStorage()
    first = make_oauth(storage=storage)
    session.get(MCP_URL, auth=first)
    first.logout()

    session.get(MCP_URL, auth=make_oauth(storage=storage, redirect_uri="http://localhost:9/cb"))

    assert len(world.auth.registrations) == 2


def test_authorization_server_migration_registers_again(world, make_oauth, session):
    storage = MemoryStorage()
    auth = make_oauth(storage=storage)
    session.get(MCP_URL, auth=auth)
    second = world.add_auth_server(ISSUER2, "as2")
    world.prm["authorization_servers"] = [ISSUER2]
    world.auth.refuse_refresh = True
    world.valid.clear()

    assert session.get(MCP_URL, auth=auth).status_code == 200

    assert len(world.auth.registrations) == 1
    assert len(second.registrations) == 1
    assert world.authorization_requests[-1]["client_id"] == "as2-client-1"
    assert second.token_requests[-1].form["client_id"] == "as2-client-1"
    assert all(r.form.get("client_id") != "as1-client-1" for r in second.token_requests)


# -- tokens ------------------------------------------------------------------------------------


def test_dpop_token_for_a_client_without_dpop_is_refused(world, make_oauth, session):
    world.auth.token_script.append(json_answer({"access_token": "x", "token_type": "DPoP"}))

    with pytest.raises(TokenRequestError, match="DPoP"):
        session.get(MCP_URL, auth=make_oauth())


def test_unknown_token_type_is_refused(world, make_oauth, session):
    world.auth.token_script.append(json_answer({"access_token": "x", "token_type": "mac"}))

    with pytest.raises(TokenRequestError, match="token_type"):
        session.get(MCP_URL, auth=make_oauth())


def test_token_endpoint_error_is_a_token_request_error(world, make_oauth, session):
    world.auth.token_script.append(
        json_answer({"error": "invalid_grant", "error_description": "code expired"}, 400)
    )

    with pytest.raises(TokenRequestError) as caught:
        session.get(MCP_URL, auth=make_oauth())

    assert caught.value.error == "invalid_grant"
    assert caught.value.description == "code expired"
    assert caught.value.status == 400


def test_tokens_are_saved_and_a_new_auth_uses_them_without_signing_in(world, make_oauth, session):
    storage = MemoryStorage()
    session.get(MCP_URL, auth=make_oauth(storage=storage))

    fresh = make_oauth(storage=storage)
    assert session.get(MCP_URL, auth=fresh).status_code == 200

    assert len(world.authorization_requests) == 1
    assert world.mcp_requests()[-1].authorization.startswith("Bearer as1-access-1")


def test_refresh_on_401_invalid_token_uses_the_refresh_token_without_a_browser(
    world, make_oauth, session
):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    world.valid.clear()  # the server revoked the access token

    assert session.get(MCP_URL, auth=auth).status_code == 200

    assert len(world.authorization_requests) == 1
    refresh = world.auth.token_requests[-1]
    assert refresh.form == {
        "grant_type": "refresh_token",
        "refresh_token": "as1-refresh-1",
        "client_id": "as1-client-1",
        "resource": MCP_URL,
    }
    assert world.mcp_requests()[-1].authorization == f"Bearer {auth.token.access_token}"
    assert auth.token.access_token.startswith("as1-access-2")


def test_refresh_answer_without_refresh_token_keeps_the_old_one(world, make_oauth, session):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    world.valid.clear()
    world.auth.issue_refresh_tokens = False

    session.get(MCP_URL, auth=auth)

    assert auth.token.refresh_token == "as1-refresh-1"


def test_refresh_failure_falls_back_to_full_authorization(world, make_oauth, session):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    world.valid.clear()
    world.auth.refuse_refresh = True

    assert session.get(MCP_URL, auth=auth).status_code == 200

    grants = [r.form["grant_type"] for r in world.auth.token_requests]
    assert grants == ["authorization_code", "refresh_token", "authorization_code"]
    assert len(world.authorization_requests) == 2


def test_expired_token_is_refreshed_before_sending(world, make_oauth, session):
    world.auth.expires_in = 0  # expired at once
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    requests_before = len(world.mcp_requests())

    assert session.get(MCP_URL, auth=auth).status_code == 200

    (sent,) = world.mcp_requests()[requests_before:]
    assert world.auth.token_requests[-1].form["grant_type"] == "refresh_token"
    assert sent.authorization == f"Bearer {auth.token.access_token}"
    assert auth.token.access_token.startswith("as1-access-2")


def test_failed_proactive_refresh_sends_without_token_and_signs_in_again(
    world, make_oauth, session
):
    world.auth.expires_in = 0
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    world.auth.refuse_refresh = True
    requests_before = len(world.mcp_requests())

    assert session.get(MCP_URL, auth=auth).status_code == 200

    first, second = world.mcp_requests()[requests_before:]
    assert first.authorization is None
    assert second.authorization is not None
    assert len(world.authorization_requests) == 2


def test_a_second_401_after_a_fresh_token_raises_instead_of_looping(world, make_oauth, session):
    world.accept_tokens = False

    with pytest.raises(AuthorizationError) as caught:
        session.get(MCP_URL, auth=make_oauth())

    assert caught.value.status == 401
    assert len(world.mcp_requests()) == 2
    assert len(world.auth.token_requests) == 1


def test_logout_forgets_the_token_so_the_next_request_signs_in_again(world, make_oauth, session):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)

    auth.logout()

    assert auth.token is None
    session.get(MCP_URL, auth=auth)
    assert len(world.authorization_requests) == 2


def test_logout_forgets_a_token_loaded_from_storage(world, make_oauth, session):
    storage = MemoryStorage()
    session.get(MCP_URL, auth=make_oauth(storage=storage))
    restarted = make_oauth(storage=storage)
    session.get(MCP_URL, auth=restarted)  # uses the stored token

    restarted.logout()

    session.get(MCP_URL, auth=make_oauth(storage=storage))
    assert len(world.authorization_requests) == 2


def test_logout_before_any_request_forgets_stored_tokens(world, make_oauth, session):
    storage = MemoryStorage()
    session.get(MCP_URL, auth=make_oauth(storage=storage))

    make_oauth(storage=storage, server_url=MCP_URL).logout()

    session.get(MCP_URL, auth=make_oauth(storage=storage))
    assert len(world.authorization_requests) == 2


def revoke_and_fail_the_refresh(world, failure):
    """The access token is refused from now on, and the refresh that follows fails."""
    world.valid.clear()
    if failure == "503":
        world.auth.token_script.append((503, {"Content-Type": "text/html"}, "<html>down</html>"))
    else:

        def refuse(seen):
            raise requests.ConnectionError("connection refused")

        world.auth.token_script.append(refuse)


@pytest.mark.parametrize("failure", ["503", "connection refused"])
def test_a_transient_refresh_failure_raises_and_keeps_the_refresh_token(
    world, make_oauth, session, failure
):
    storage = MemoryStorage()
    auth = make_oauth(storage=storage)
    session.get(MCP_URL, auth=auth)
    revoke_and_fail_the_refresh(world, failure)

    with pytest.raises(TokenRequestError):
        session.get(MCP_URL, auth=auth)

    assert auth.token.refresh_token == "as1-refresh-1"
    # The next run refreshes with the stored refresh token; nobody signs in again.
    assert session.get(MCP_URL, auth=make_oauth(storage=storage)).status_code == 200
    assert world.auth.token_requests[-1].form["refresh_token"] == "as1-refresh-1"
    assert len(world.authorization_requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        json_answer({"error": "invalid_grant"}, 400),
        json_answer({"error": "invalid_request"}, 400),
        (401, {"Content-Type": "text/html"}, "<html>no</html>"),
    ],
    ids=["invalid_grant", "invalid_request", "401-html"],
)
def test_a_refresh_token_refused_by_the_server_is_forgotten_in_storage_too(
    world, make_oauth, session, answer
):
    storage = MemoryStorage()
    auth = make_oauth(storage=storage)
    session.get(MCP_URL, auth=auth)
    world.valid.clear()
    world.auth.token_script.append(answer)
    with_callback(world, error="access_denied", code=None)  # and the new sign-in is refused

    with pytest.raises(AuthorizationDenied):
        session.get(MCP_URL, auth=auth)

    assert auth.token is None
    with pytest.raises(AuthorizationDenied):
        session.get(MCP_URL, auth=make_oauth(storage=storage))
    assert [r.form["grant_type"] for r in world.auth.token_requests] == [
        "authorization_code",
        "refresh_token",
    ]


@pytest.mark.parametrize("error", ["invalid_client", "unauthorized_client"])
def test_a_refresh_refused_for_the_client_registers_the_client_again(
    world, make_oauth, session, error
):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    world.valid.clear()
    world.auth.token_script.append(json_answer({"error": error}, 400))

    assert session.get(MCP_URL, auth=auth).status_code == 200

    assert len(world.auth.registrations) == 2
    assert world.authorization_requests[-1]["client_id"] == "as1-client-2"


def changed_token_answer(world, change):
    """Let the token endpoint answer as usual, with ``change`` applied to its JSON."""

    def answer(seen):
        status, headers, body = world.auth.token_answer(seen)
        data = json.loads(body)
        change(data)
        return status, headers, json.dumps(data)

    world.auth.token_script.append(answer)


def test_expires_in_given_as_a_string_sets_the_expiry(world, make_oauth, session):
    changed_token_answer(world, lambda data: data.update(expires_in="3600"))
    auth = make_oauth()

    session.get(MCP_URL, auth=auth)

    assert auth.token.expires_at == pytest.approx(time.time() + 3600, abs=60)


def test_a_token_answer_without_scope_has_the_scope_asked_for(world, make_oauth, session):
    world.challenge = f'Bearer scope="files:read", resource_metadata="{PRM_PATH_URL}"'
    changed_token_answer(world, lambda data: data.pop("scope"))
    auth = make_oauth()

    session.get(MCP_URL, auth=auth)

    assert auth.token.scope == "files:read"


# -- step-up (403 insufficient_scope) -------------------------------------------------------------


def test_step_up_requests_the_union_of_scopes(world, make_oauth, session):
    world.challenge = f'Bearer scope="files:read", resource_metadata="{PRM_PATH_URL}"'
    world.required_scope = "files:read files:write"
    world.step_up_scope = "files:write"

    assert session.get(MCP_URL, auth=make_oauth()).status_code == 200

    assert [r["scope"] for r in world.authorization_requests] == [
        "files:read",
        "files:read files:write",
    ]


def test_step_up_limit_raises_insufficient_scope_error(world, make_oauth, session):
    world.challenge = f'Bearer scope="files:read", resource_metadata="{PRM_PATH_URL}"'
    world.required_scope = "admin"
    world.auth.grant_scope = "files:read"  # the AS never grants more

    with pytest.raises(InsufficientScopeError) as caught:
        session.get(MCP_URL, auth=make_oauth(max_step_ups=2))

    assert caught.value.scopes == "admin"
    assert caught.value.status == 403
    # The first step-up was not granted "admin", so it is not asked for a second time.
    assert len(world.authorization_requests) == 2


def test_no_step_up_when_max_step_ups_is_zero(world, make_oauth, session):
    world.required_scope = "admin"

    with pytest.raises(InsufficientScopeError):
        session.get(MCP_URL, auth=make_oauth(max_step_ups=0))

    assert len(world.authorization_requests) == 1


def test_403_without_insufficient_scope_is_returned_as_is(world, make_oauth, session):
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    world.mcp_script.append((403, {"WWW-Authenticate": 'Bearer error="forbidden"'}, "no"))

    assert session.get(MCP_URL, auth=auth).status_code == 403
    assert len(world.authorization_requests) == 1


def test_negative_max_step_ups_is_a_value_error():
    with pytest.raises(ValueError):
        OAuth(redirect_handler=lambda url: url, redirect_uri=REDIRECT_URI, max_step_ups=-1)


def test_a_late_403_for_an_older_token_is_resent_with_the_current_token(world, make_oauth, session):
    world.challenge = f'Bearer scope="read", resource_metadata="{PRM_PATH_URL}"'
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    late = session.prepare_request(requests.Request("GET", MCP_URL, auth=auth))  # old token
    world.required_scope = "read write"
    world.step_up_scope = "write"
    session.get(MCP_URL, auth=auth)  # another request steps up first

    assert session.send(late).status_code == 200

    assert len(world.authorization_requests) == 2
    assert world.mcp_requests()[-1].authorization == f"Bearer {auth.token.access_token}"


def test_step_up_after_a_restart_keeps_the_stored_tokens_scope(world, make_oauth, session):
    storage = MemoryStorage()
    world.challenge = f'Bearer scope="read", resource_metadata="{PRM_PATH_URL}"'
    session.get(MCP_URL, auth=make_oauth(storage=storage))
    world.required_scope = "read write"
    world.step_up_scope = "write"

    assert session.get(MCP_URL, auth=make_oauth(storage=storage)).status_code == 200

    assert world.authorization_requests[-1]["scope"] == "read write"
    assert len(world.authorization_requests) == 2


def test_a_scope_not_granted_in_a_step_up_is_not_asked_for_again(world, make_oauth, session):
    world.challenge = f'Bearer scope="read", resource_metadata="{PRM_PATH_URL}"'
    world.required_scope = "admin"
    world.auth.grant_scope = "read"  # the AS never grants admin
    auth = make_oauth()
    with pytest.raises(InsufficientScopeError):
        session.get(MCP_URL, auth=auth)
    asked = len(world.authorization_requests)

    with pytest.raises(InsufficientScopeError) as caught:
        session.get(MCP_URL, auth=auth)

    assert caught.value.scopes == "admin"
    assert len(world.authorization_requests) == asked


# -- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"client_metadata_url": "http://app.example.com/client.json"},
        {"client_metadata_url": "https://app.example.com/"},
        {"redirect_uri": "http://app.example.com/callback"},
        {"redirect_uri": "http://127.0.0.1:9/cb#frag"},
        {"redirect_uri": "myapp:/callback"},
        {"application_type": "desktop"},
        {"client_secret": "s"},
    ],
)
def test_bad_options_are_value_errors(options):
    with pytest.raises(ValueError):
        OAuth(redirect_handler=lambda url: url, **options)


@pytest.mark.parametrize(
    "redirect_uri", ["https://app.example.com/cb", "http://localhost:9/cb", "http://127.0.0.1/cb"]
)
def test_https_and_loopback_redirect_uris_are_accepted(redirect_uri):
    OAuth(redirect_handler=lambda url: url, redirect_uri=redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    ["com.example.app:/oauth2redirect", "http://app.example.com/cb", "javascript:alert(1)"],
)
def test_other_redirect_uris_are_refused(redirect_uri):
    with pytest.raises(ValueError, match="redirect_uri"):
        OAuth(redirect_handler=lambda url: url, redirect_uri=redirect_uri)


def test_a_handler_without_redirect_uri_is_a_value_error(world, session):
    with pytest.raises(ValueError, match="redirect_uri"):
        session.get(MCP_URL, auth=OAuth(redirect_handler=world.handler))


def test_web_application_type_is_registered(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth(application_type="web"))

    assert world.auth.registrations[0].json["application_type"] == "web"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_fixed_loopback_redirect_uri_without_a_handler_is_listened_on(
    world, session, monkeypatch
):
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    pages = []

    def browser(url):  # the person signs in, and the browser follows the redirect back
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(world.handler(url), timeout=5) as page:
            pages.append(page.status)
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    auth = OAuth(redirect_uri=redirect_uri, login_timeout=2)

    assert session.get(MCP_URL, auth=auth).status_code == 200

    assert pages == [200]
    assert world.auth.token_requests[0].form["redirect_uri"] == redirect_uri


def test_a_redirect_uri_elsewhere_without_a_handler_needs_start_authorization_to_sign_in(
    world, session
):
    auth = OAuth(redirect_uri="https://app.example.com/cb", open_browser=False, login_timeout=1)

    with pytest.raises(AuthorizationError, match="start_authorization") as caught:
        session.get(MCP_URL, auth=auth)

    assert isinstance(caught.value, mcp_sync.AuthorizationRequired)

    assert world.all_token_requests() == []


@pytest.mark.parametrize(
    "make",
    [
        lambda **options: OAuth(
            redirect_handler=lambda url: url, redirect_uri=REDIRECT_URI, **options
        ),
        lambda **options: WorkloadIdentity("platform.jwt.token", **options),
    ],
    ids=["OAuth", "WorkloadIdentity"],
)
def test_private_key_jwt_without_a_private_key_is_a_value_error(make):
    with pytest.raises(ValueError, match="private_key"):
        make(client_id="app", token_endpoint_auth_method="private_key_jwt")


# -- concurrency -----------------------------------------------------------------------------------


class FlightWaiters:
    """Counts the threads waiting for another thread's authorization."""

    def __init__(self, monkeypatch):
        self.count = 0
        self.changed = threading.Condition()
        waiters = self

        class CountingFlight(oauth_base._Flight):
            def __init__(self):
                super().__init__()
                wait = self.done.wait

                def counting_wait(timeout=None):
                    with waiters.changed:
                        waiters.count += 1
                        waiters.changed.notify_all()
                    return wait(timeout)

                self.done.wait = counting_wait

        monkeypatch.setattr(oauth_base, "_Flight", CountingFlight)

    def wait_for(self, n, timeout=5.0):
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= n, timeout), self.count


def run_threads(n, target):
    results = [None] * n
    errors = [None] * n

    def run(i):
        try:
            results[i] = target()
        except BaseException as exc:
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    return results, errors


def line_up_401s(world, n):
    """Hold the first n 401 answers until all n requests arrived."""
    barrier = threading.Barrier(n, timeout=5)
    count = [0]
    lock = threading.Lock()

    def before_401():
        with lock:
            count[0] += 1
            mine = count[0]
        if mine <= n:
            barrier.wait()

    world.before_401 = before_401


def test_concurrent_401s_run_one_authorization(world, make_oauth, monkeypatch):
    waiters = FlightWaiters(monkeypatch)
    line_up_401s(world, 8)
    world.before_redirect = lambda: waiters.wait_for(7)
    auth = make_oauth()

    def fetch():
        return requests.get(MCP_URL, auth=auth, timeout=5).status_code

    results, errors = run_threads(8, fetch)

    assert errors == [None] * 8
    assert results == [200] * 8
    assert len(world.authorization_requests) == 1
    assert len(world.auth.token_requests) == 1
    assert len(world.auth.registrations) == 1
    assert len(world.requests_to(PRM_PATH_URL)) == 1


def test_a_failing_authorization_fails_the_waiting_threads_fast(world, make_oauth, monkeypatch):
    waiters = FlightWaiters(monkeypatch)
    line_up_401s(world, 8)
    world.before_redirect = lambda: waiters.wait_for(7)
    world.callback = lambda query, default: (
        f"{REDIRECT_URI}?{urlencode({'error': 'access_denied', 'state': query['state']})}"
    )
    auth = make_oauth()

    def fetch():
        return requests.get(MCP_URL, auth=auth, timeout=5)

    started = time.monotonic()
    _, errors = run_threads(8, fetch)

    assert time.monotonic() - started < 3
    assert all(isinstance(e, AuthorizationError) for e in errors), errors
    # The waiting threads get the leader's error, of the same type.
    assert sum(isinstance(e, AuthorizationDenied) for e in errors) == 8
    assert len(world.authorization_requests) == 1
    assert world.auth.token_requests == []


def test_concurrent_401s_with_a_revoked_token_refresh_once(world, make_oauth, monkeypatch):
    auth = make_oauth()
    with requests.Session() as http:
        assert http.get(MCP_URL, auth=auth).status_code == 200
    world.valid.clear()
    waiters = FlightWaiters(monkeypatch)
    line_up_401s(world, 8)

    def slow_refresh(seen):
        waiters.wait_for(7)
        return world.auth.token_answer(seen)

    world.auth.token_script.append(slow_refresh)

    results, errors = run_threads(8, lambda: requests.get(MCP_URL, auth=auth, timeout=5))

    assert errors == [None] * 8
    assert [r.status_code for r in results] == [200] * 8
    grants = [r.form["grant_type"] for r in world.auth.token_requests]
    assert grants == ["authorization_code", "refresh_token"]
    assert len(world.authorization_requests) == 1


def test_concurrent_requests_with_an_expired_token_refresh_once(world, make_oauth, monkeypatch):
    world.auth.expires_in = 0  # expired at once
    auth = make_oauth()
    with requests.Session() as http:
        assert http.get(MCP_URL, auth=auth).status_code == 200
    world.auth.expires_in = 3600
    waiters = FlightWaiters(monkeypatch)

    def slow_refresh(seen):
        waiters.wait_for(7)
        return world.auth.token_answer(seen)

    world.auth.token_script.append(slow_refresh)
    before = len(world.mcp_requests())

    results, errors = run_threads(8, lambda: requests.get(MCP_URL, auth=auth, timeout=5))

    assert errors == [None] * 8
    assert [r.status_code for r in results] == [200] * 8
    assert [r.form["grant_type"] for r in world.auth.token_requests] == [
        "authorization_code",
        "refresh_token",
    ]
    sent = world.mcp_requests()[before:]
    assert len(sent) == 8
    assert {s.authorization for s in sent} == {f"Bearer {auth.token.access_token}"}


def test_waiting_for_another_threads_sign_in_does_not_count_against_the_timeout(
    world, make_oauth, monkeypatch
):
    waiters = FlightWaiters(monkeypatch)

    def person(url):
        waiters.wait_for(1)
        time.sleep(0.6)  # longer than the waiting call's timeout
        return world.handler(url)

    auth = make_oauth(redirect_handler=person)
    leader = threading.Thread(target=lambda: requests.get(MCP_URL, auth=auth, timeout=5))
    leader.start()
    call = Call(1, "tools/list", 0.4, None, None, True)
    with engine.sending(call):
        response = requests.get(MCP_URL, auth=auth, timeout=5)
    leader.join(5)

    assert response.status_code == 200
    assert call.remaining() > 0
    assert len(world.authorization_requests) == 1


@pytest.mark.parametrize(
    "stop",
    [
        lambda call: call.interrupt(Call.CANCELLED),
        lambda call: call.complete(error=mcp_sync.ClientClosedError("closed")),  # Engine.close()
    ],
    ids=["cancelled", "client-closed"],
)
def test_a_stopped_call_ends_its_wait_for_another_threads_sign_in(
    world, make_oauth, monkeypatch, stop
):
    waiters = FlightWaiters(monkeypatch)
    signing_in, signed_in = threading.Event(), threading.Event()

    def person(url):
        signing_in.set()
        signed_in.wait(5)
        return world.handler(url)

    auth = make_oauth(redirect_handler=person)
    leader = threading.Thread(target=lambda: requests.get(MCP_URL, auth=auth, timeout=5))
    leader.start()
    assert signing_in.wait(5)
    call = Call(1, "tools/list", 30.0, None, None, True)
    outcome = []

    def follower():
        try:
            with engine.sending(call):
                outcome.append(requests.get(MCP_URL, auth=auth, timeout=5))
        except Exception as exc:
            outcome.append(exc)

    waiting = threading.Thread(target=follower)
    waiting.start()
    waiters.wait_for(1)
    stop(call)
    waiting.join(2)
    ended_before_the_sign_in = not waiting.is_alive()
    signed_in.set()
    waiting.join(5)
    leader.join(5)

    assert ended_before_the_sign_in
    assert isinstance(outcome[0], CallInterrupted)


def test_client_calls_waiting_for_another_threads_sign_in_do_not_time_out(world, make_oauth):
    world.auth.issue_refresh_tokens = False
    delay = [0.0]

    def person(url):
        time.sleep(delay[0])
        return world.handler(url)

    auth = make_oauth(redirect_handler=person)
    client = mcp_sync.Client(
        MCP_URL, auth=auth, protocol_version="2025-11-25", timeout=0.5, listen=False
    )
    try:
        client.connect()
        world.valid.clear()  # every token is refused from now on: both calls need a sign-in
        delay[0] = 1.0  # longer than the calls' timeout
        line_up_401s(world, 2)

        _, errors = run_threads(2, client.list_tools)
    finally:
        client.close()

    assert errors == [None, None]
    assert len(world.authorization_requests) == 2


def test_a_redirect_handler_sending_through_its_own_auth_gets_an_error_not_a_deadlock(
    world, make_oauth
):
    nested = []

    def person(url):
        try:
            requests.get(MCP_URL, auth=auth, timeout=5)
        except Exception as exc:
            nested.append(exc)
        return world.handler(url)

    auth = make_oauth(redirect_handler=person)
    outcome = []
    sender = threading.Thread(
        target=lambda: outcome.append(requests.get(MCP_URL, auth=auth, timeout=5)), daemon=True
    )
    sender.start()
    sender.join(5)

    assert not sender.is_alive()
    assert isinstance(nested[0], ClientStateError)
    assert outcome[0].status_code == 200


# -- background streams (listeners) -------------------------------------------------------------


def test_a_background_request_that_needs_a_sign_in_fails_without_asking_anyone(
    world, make_oauth, session
):
    asked = []

    def person(url):
        asked.append(url)
        return world.handler(url)

    auth = make_oauth(redirect_handler=person)

    with engine.in_background(), pytest.raises(AuthorizationError):
        session.get(MCP_URL, auth=auth)

    assert asked == []
    assert world.all_token_requests() == []


def test_a_background_request_still_refreshes_an_expired_token(world, make_oauth, session):
    world.auth.expires_in = 0  # expired at once
    auth = make_oauth()
    session.get(MCP_URL, auth=auth)
    world.auth.expires_in = 3600

    with engine.in_background():
        assert session.get(MCP_URL, auth=auth).status_code == 200

    grants = [r.form["grant_type"] for r in world.auth.token_requests]
    assert grants == ["authorization_code", "refresh_token"]
    assert len(world.authorization_requests) == 1


def test_a_caller_waiting_for_a_background_stream_that_could_not_sign_in_signs_in_itself(
    world, make_oauth, monkeypatch
):
    auth = make_oauth()
    with requests.Session() as http:
        assert http.get(MCP_URL, auth=auth).status_code == 200
    world.valid.clear()  # the server forgets the token; the refresh is refused too
    world.auth.token_script.append(json_answer({"error": "invalid_grant"}, 400))
    waiters = FlightWaiters(monkeypatch)
    refreshing = threading.Event()
    run = auth._run

    def run_once_the_caller_waits(kind, challenge):
        if engine.is_background():
            refreshing.set()  # the background stream leads
            waiters.wait_for(1)  # and the caller waits for it
        return run(kind, challenge)

    monkeypatch.setattr(auth, "_run", run_once_the_caller_waits)

    def listener():
        with engine.in_background():
            return requests.get(MCP_URL, auth=auth, timeout=5)

    outcome = []
    background = threading.Thread(target=lambda: outcome.append(_outcome(listener)))
    background.start()
    assert refreshing.wait(5)
    caller = requests.get(MCP_URL, auth=auth, timeout=5)
    background.join(5)

    assert caller.status_code == 200  # the caller signed in, though a background stream led
    assert isinstance(outcome[0], AuthorizationError)
    assert len(world.authorization_requests) == 2


def _outcome(fetch):
    try:
        return fetch()
    except BaseException as exc:
        return exc


# -- with mcp_sync.Client ------------------------------------------------------------------------


def test_client_connects_through_oauth_and_sends_the_token_on_every_post(world, make_oauth):
    auth = make_oauth()
    with mcp_sync.Client(MCP_URL, auth=auth, protocol_version="2025-11-25", timeout=5) as client:
        tools = client.list_tools()

    assert list(tools) == []
    posts = [s for s in world.mcp_requests() if s.method == "POST"]
    assert [s.json["method"] for s in posts] == [
        "initialize",
        "initialize",
        "notifications/initialized",
        "tools/list",
    ]
    assert posts[0].authorization is None
    assert all(s.authorization == f"Bearer {auth.token.access_token}" for s in posts[1:])
    assert len(world.authorization_requests) == 1


def test_client_connect_raises_the_typed_authorization_error(world, make_oauth):
    with_callback(world, state="forged")

    client = mcp_sync.Client(MCP_URL, auth=make_oauth(), protocol_version="2025-11-25")
    try:
        with pytest.raises(mcp_sync.InvalidAuthorizationResponse):
            client.connect()
    finally:
        client.close()


def test_short_lived_token_is_used_for_most_of_its_lifetime():
    now = time.time()
    fresh = TokenSet(access_token="t", expires_at=now + 8, issued_at=now)
    ending = TokenSet(access_token="t", expires_at=now + 1, issued_at=now - 7)

    assert not fresh.expired()
    assert ending.expired()


def test_long_lived_token_is_refreshed_thirty_seconds_before_it_expires():
    now = time.time()
    token = TokenSet(access_token="t", expires_at=now + 20, issued_at=now - 3580)

    assert token.expired()
