"""Grants without a person: client credentials, workload identity, enterprise-managed (ID-JAG)."""

from __future__ import annotations

import itertools

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from support.oauth_world import ISSUER, MCP_URL, PRM_PATH_URL, json_answer

from mcp_sync.errors import (
    AuthorizationError,
    InsecureEndpointError,
    RegistrationError,
    TokenRequestError,
)
from mcp_sync.oauth import ClientCredentials, EnterpriseAuth, SigningKey, WorkloadIdentity
from mcp_sync.oauth.jwt import CLIENT_ASSERTION_TYPE

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
IDP = "https://idp.example.com"


def ok(session, auth):
    response = session.get(MCP_URL, auth=auth)
    assert response.status_code == 200
    return response


# -- client credentials ------------------------------------------------------------------------


def test_client_credentials_sends_the_secret_with_basic_when_listed(world, session):
    world.auth.metadata["token_endpoint_auth_methods_supported"] = [
        "client_secret_basic",
        "client_secret_post",
    ]

    ok(session, ClientCredentials("service", "service-secret"))

    (request,) = world.auth.token_requests
    assert request.basic == ("service", "service-secret")
    assert request.form == {
        "grant_type": "client_credentials",
        "client_id": "service",
        "resource": MCP_URL,
    }
    assert world.authorization_requests == []
    assert world.all_registrations() == []


def test_client_credentials_sends_the_secret_in_the_form_when_only_post_is_listed(world, session):
    world.auth.metadata["token_endpoint_auth_methods_supported"] = ["client_secret_post"]

    ok(session, ClientCredentials("service", "service-secret"))

    (request,) = world.auth.token_requests
    assert request.authorization is None
    assert request.form == {
        "grant_type": "client_credentials",
        "client_id": "service",
        "client_secret": "service-secret",
        "resource": MCP_URL,
    }


def test_client_credentials_default_to_basic_without_a_methods_list(world, session):
    del world.auth.metadata["token_endpoint_auth_methods_supported"]

    ok(session, ClientCredentials("service", "service-secret"))

    assert world.auth.token_requests[0].basic == ("service", "service-secret")


def test_explicit_token_endpoint_auth_method_wins(world, session):
    ok(
        session,
        ClientCredentials(
            "service", "service-secret", token_endpoint_auth_method="client_secret_post"
        ),
    )

    (request,) = world.auth.token_requests
    assert request.authorization is None
    assert request.form["client_secret"] == "service-secret"


def test_client_credentials_request_the_challenge_scope(world, session):
    world.challenge = f'Bearer scope="reports:read", resource_metadata="{PRM_PATH_URL}"'

    ok(session, ClientCredentials("service", "service-secret"))

    assert world.auth.token_requests[0].form["scope"] == "reports:read"


def test_client_credentials_with_a_private_key_send_a_verifiable_assertion(world, session):
    private = ec.generate_private_key(ec.SECP256R1())

    ok(session, ClientCredentials("service", private_key=SigningKey(private, kid="k1")))

    (request,) = world.auth.token_requests
    form = request.form
    assert request.authorization is None
    assert "client_secret" not in form
    assert form["client_id"] == "service"
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert CLIENT_ASSERTION_TYPE == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    claims = jwt.decode(
        form["client_assertion"], private.public_key(), algorithms=["ES256"], audience=ISSUER
    )
    assert claims["iss"] == claims["sub"] == "service"
    assert claims["aud"] == ISSUER
    assert claims["exp"] > claims["iat"]
    assert claims["jti"]
    assert jwt.get_unverified_header(form["client_assertion"])["kid"] == "k1"


def test_each_private_key_assertion_has_a_new_jti(world, session):
    world.auth.expires_in = 0
    auth = ClientCredentials("service", private_key=SigningKey.generate())
    ok(session, auth)
    ok(session, auth)

    first, second = (
        jwt.decode(r.form["client_assertion"], options={"verify_signature": False})["jti"]
        for r in world.auth.token_requests
    )
    assert first != second


def test_client_credentials_run_the_grant_again_when_the_token_expires(world, session):
    world.auth.expires_in = 0  # expired at once
    world.auth.issue_refresh_tokens = False
    auth = ClientCredentials("service", "service-secret")

    ok(session, auth)
    ok(session, auth)

    grants = [r.form["grant_type"] for r in world.auth.token_requests]
    assert grants == ["client_credentials", "client_credentials"]
    assert world.mcp_requests()[-1].authorization == f"Bearer {auth.token.access_token}"
    assert len(world.mcp_requests()) == 3  # one 401, then each request once


def test_client_credentials_never_use_a_refresh_token(world, session):
    world.auth.expires_in = 0
    auth = ClientCredentials("service", "service-secret")

    ok(session, auth)
    ok(session, auth)
    world.valid.clear()
    ok(session, auth)

    assert {r.form["grant_type"] for r in world.auth.token_requests} == {"client_credentials"}


def test_client_credentials_run_the_grant_again_on_401(world, session):
    auth = ClientCredentials("service", "service-secret")
    ok(session, auth)
    world.valid.clear()

    ok(session, auth)

    assert len(world.auth.token_requests) == 2


def test_client_credentials_refused_raise_token_request_error(world, session):
    world.auth.token_script.append(json_answer({"error": "invalid_client"}, 401))

    with pytest.raises(TokenRequestError) as caught:
        session.get(MCP_URL, auth=ClientCredentials("service", "wrong"))

    assert caught.value.error == "invalid_client"
    assert len(world.auth.token_requests) == 1


def test_credentials_for_another_issuer_are_not_sent(world, session):
    auth = ClientCredentials(
        "service", "service-secret", authorization_server="https://other-as.example.com"
    )

    with pytest.raises(RegistrationError, match="other-as"):
        session.get(MCP_URL, auth=auth)

    assert world.auth.token_requests == []


@pytest.mark.parametrize("kwargs", [{}, {"client_secret": "s", "private_key": object()}])
def test_client_credentials_need_exactly_one_credential(kwargs):
    with pytest.raises(ValueError):
        ClientCredentials("service", **kwargs)


# -- workload identity ----------------------------------------------------------------------------


def test_workload_identity_sends_the_jwt_bearer_grant_with_resource(world, session):
    ok(session, WorkloadIdentity("platform.jwt.token"))

    (request,) = world.auth.token_requests
    assert request.form == {
        "grant_type": JWT_BEARER,
        "assertion": "platform.jwt.token",
        "resource": MCP_URL,
    }
    assert request.authorization is None


def test_workload_identity_passes_the_challenge_scope(world, session):
    world.challenge = f'Bearer scope="jobs:run", resource_metadata="{PRM_PATH_URL}"'

    ok(session, WorkloadIdentity("platform.jwt.token"))

    assert world.auth.token_requests[0].form["scope"] == "jobs:run"


def test_workload_identity_calls_the_source_for_each_grant(world, session):
    world.auth.expires_in = 0
    counter = itertools.count(1)
    calls = []

    def source():
        calls.append(next(counter))
        return f"platform.jwt.{calls[-1]}"

    auth = WorkloadIdentity(source)
    ok(session, auth)
    ok(session, auth)

    assert calls == [1, 2]
    assert [r.form["assertion"] for r in world.auth.token_requests] == [
        "platform.jwt.1",
        "platform.jwt.2",
    ]


def test_workload_identity_refused_raises_once_without_retry(world, session):
    world.auth.token_script.append(
        json_answer({"error": "invalid_grant", "error_description": "expired"}, 400)
    )

    with pytest.raises(TokenRequestError) as caught:
        session.get(MCP_URL, auth=WorkloadIdentity("expired.jwt"))

    assert caught.value.error == "invalid_grant"
    assert len(world.auth.token_requests) == 1
    assert len(world.mcp_requests()) == 1
    assert world.authorization_requests == []


def test_workload_identity_with_a_public_client_id_names_the_client(world, session):
    ok(session, WorkloadIdentity("platform.jwt.token", client_id="wl"))

    (request,) = world.auth.token_requests
    assert request.form["client_id"] == "wl"
    assert request.form["assertion"] == "platform.jwt.token"
    assert request.authorization is None


@pytest.mark.parametrize("value", ["", None, 42])
def test_workload_identity_source_without_a_token_is_an_authorization_error(world, session, value):
    with pytest.raises(AuthorizationError, match="assertion"):
        session.get(MCP_URL, auth=WorkloadIdentity(lambda: value))

    assert world.auth.token_requests == []


def test_workload_identity_with_a_secret_authenticates_the_client(world, session):
    ok(session, WorkloadIdentity("platform.jwt", client_id="wl", client_secret="wl-secret"))

    (request,) = world.auth.token_requests
    assert request.basic == ("wl", "wl-secret")
    assert request.form["assertion"] == "platform.jwt"


# -- enterprise-managed authorization (ID-JAG) -----------------------------------------------------


@pytest.fixture
def idp(world):
    server = world.add_auth_server(IDP, "idp")
    server.token_script.extend(
        [
            json_answer(
                {
                    "access_token": f"id-jag-{n}",
                    "issued_token_type": ID_JAG,
                    "token_type": "N_A",
                    "expires_in": 300,
                }
            )
            for n in (1, 2, 3)
        ]
    )
    return server


def enterprise(**options):
    settings = {
        "id_token": "employee-id-token",
        "idp_token_endpoint": IDP + "/token",
        "idp_client_id": "idp-app",
        "idp_client_secret": "idp-secret",
        "client_id": "mcp-app",
        "client_secret": "mcp-secret",
    }
    settings.update(options)
    return EnterpriseAuth(**settings)


def test_enterprise_auth_exchanges_the_id_token_for_an_id_jag_at_the_idp(world, idp, session):
    ok(session, enterprise())

    (exchange,) = idp.token_requests
    assert exchange.form == {
        "grant_type": TOKEN_EXCHANGE,
        "requested_token_type": ID_JAG,
        "subject_token": "employee-id-token",
        "subject_token_type": ID_TOKEN,
        "audience": ISSUER,
        "resource": MCP_URL,
        "client_id": "idp-app",
        "client_secret": "idp-secret",
    }
    assert exchange.authorization is None


def test_enterprise_auth_trades_the_id_jag_at_the_authorization_server(world, idp, session):
    auth = enterprise()
    ok(session, auth)

    (grant,) = world.auth.token_requests
    assert grant.form == {
        "grant_type": JWT_BEARER,
        "assertion": "id-jag-1",
        "client_id": "mcp-app",
        "resource": MCP_URL,
    }
    assert grant.basic == ("mcp-app", "mcp-secret")
    assert world.mcp_requests()[-1].authorization == f"Bearer {auth.token.access_token}"
    assert world.authorization_requests == []


def test_enterprise_auth_passes_the_scope_to_the_idp(world, idp, session):
    world.challenge = f'Bearer scope="crm:read", resource_metadata="{PRM_PATH_URL}"'

    ok(session, enterprise())

    assert idp.token_requests[0].form["scope"] == "crm:read"


def test_enterprise_auth_public_idp_client_sends_only_its_id(world, idp, session):
    ok(session, enterprise(idp_client_secret=None))

    form = idp.token_requests[0].form
    assert form["client_id"] == "idp-app"
    assert "client_secret" not in form


def test_enterprise_auth_idp_refusal_stops_before_the_authorization_server(world, idp, session):
    idp.token_script[:] = [json_answer({"error": "invalid_grant"}, 400)]

    with pytest.raises(TokenRequestError) as caught:
        session.get(MCP_URL, auth=enterprise())

    assert caught.value.error == "invalid_grant"
    assert world.auth.token_requests == []


def test_enterprise_auth_reads_a_fresh_id_token_for_each_grant(world, idp, session):
    world.auth.expires_in = 0
    tokens = iter(["id-token-a", "id-token-b"])
    auth = enterprise(id_token=lambda: next(tokens))

    ok(session, auth)
    ok(session, auth)

    assert [r.form["subject_token"] for r in idp.token_requests] == ["id-token-a", "id-token-b"]


def test_enterprise_auth_refuses_a_plain_http_idp_endpoint():
    with pytest.raises(InsecureEndpointError):
        enterprise(idp_token_endpoint="http://idp.example.com/token")
