"""DPoP (RFC 9449) in the flow: proofs at the token endpoint and the MCP server, and nonces."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
from support.oauth_world import ISSUER, MCP_URL, OTHER_URL, json_answer

from mcp_sync.errors import TokenRequestError
from mcp_sync.oauth import ClientCredentials, DPoPKey, MemoryStorage
from mcp_sync.oauth.jwt import jwk_thumbprint

TOKEN_URL = ISSUER + "/token"


def verified_proof(seen):
    """The claims and header of a request's DPoP proof, its signature checked with its jwk."""
    proof = seen.headers["DPoP"]
    header = jwt.get_unverified_header(proof)
    key = jwt.PyJWK(header["jwk"], algorithm=header["alg"])
    claims = jwt.decode(proof, key.key, algorithms=[header["alg"]])
    return claims, header


def ath(token):
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@pytest.fixture
def signed_in(world, make_oauth, session):
    """An OAuth with DPoP that has signed in; the world's token endpoint binds tokens."""

    def sign_in(**options):
        options.setdefault("dpop", True)
        auth = make_oauth(**options)
        assert session.get(MCP_URL, auth=auth).status_code == 200
        return auth

    return sign_in


def test_token_request_carries_a_dpop_proof_for_the_token_endpoint(world, signed_in):
    signed_in()

    (request,) = world.auth.token_requests
    claims, header = verified_proof(request)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    assert "d" not in header["jwk"]
    assert claims["htm"] == "POST"
    assert claims["htu"] == TOKEN_URL
    assert "ath" not in claims
    assert claims["jti"]


def test_dpop_token_is_sent_with_the_dpop_scheme_and_a_proof(world, signed_in):
    auth = signed_in()

    assert auth.token.bound is True
    assert auth.token.token_type == "DPoP"
    last = world.mcp_requests()[-1]
    assert last.authorization == f"DPoP {auth.token.access_token}"
    claims, _ = verified_proof(last)
    assert claims["ath"] == ath(auth.token.access_token)
    assert claims["htm"] == "GET"


def test_resource_proof_htu_has_no_query(world, signed_in, session):
    auth = signed_in()

    session.post(MCP_URL + "?session=1#frag", json={}, auth=auth)

    claims, _ = verified_proof(world.mcp_requests()[-1])
    assert claims["htu"] == MCP_URL
    assert claims["htm"] == "POST"


def test_every_request_gets_a_fresh_proof(world, signed_in, session):
    auth = signed_in()
    session.get(MCP_URL, auth=auth)

    jtis = [verified_proof(s)[0]["jti"] for s in world.mcp_requests()[1:]]
    assert len(jtis) == 2
    assert len(set(jtis)) == 2


def test_proofs_at_the_as_and_the_mcp_server_use_the_given_key(world, signed_in):
    key = DPoPKey()
    signed_in(dpop=key)

    token_header = verified_proof(world.auth.token_requests[0])[1]
    resource_header = verified_proof(world.mcp_requests()[-1])[1]
    assert token_header["jwk"] == resource_header["jwk"]
    assert jwk_thumbprint(token_header["jwk"]) == key.thumbprint()


def test_as_use_dpop_nonce_is_retried_once_with_the_nonce_and_a_new_jti(world, signed_in):
    world.auth.dpop_nonce = "as-nonce-1"

    signed_in()

    first, second = world.auth.token_requests
    first_claims, _ = verified_proof(first)
    second_claims, _ = verified_proof(second)
    assert "nonce" not in first_claims
    assert second_claims["nonce"] == "as-nonce-1"
    assert first_claims["jti"] != second_claims["jti"]
    assert first.form == second.form


def test_as_nonce_is_remembered_for_the_next_token_request(world, signed_in, session):
    world.auth.dpop_nonce = "as-nonce-1"
    auth = signed_in()
    world.valid.clear()

    assert session.get(MCP_URL, auth=auth).status_code == 200

    refresh = world.auth.token_requests[-1]
    assert refresh.form["grant_type"] == "refresh_token"
    assert verified_proof(refresh)[0]["nonce"] == "as-nonce-1"
    assert len(world.auth.token_requests) == 3  # 400, code, refresh (no second 400)


def test_as_asking_for_a_nonce_twice_is_a_token_request_error(world, make_oauth, session):
    nonce_please = json_answer({"error": "use_dpop_nonce"}, 400, {"DPoP-Nonce": "n"})
    world.auth.token_script.extend([nonce_please, nonce_please])

    with pytest.raises(TokenRequestError) as caught:
        session.get(MCP_URL, auth=make_oauth(dpop=True))

    assert caught.value.error == "use_dpop_nonce"
    assert len(world.auth.token_requests) == 2


def test_use_dpop_nonce_without_a_nonce_header_is_not_retried(world, make_oauth, session):
    world.auth.token_script.append(json_answer({"error": "use_dpop_nonce"}, 400))

    with pytest.raises(TokenRequestError):
        session.get(MCP_URL, auth=make_oauth(dpop=True))

    assert len(world.auth.token_requests) == 1


def test_rs_use_dpop_nonce_is_answered_by_one_resend_with_the_nonce(world, signed_in):
    world.rs_dpop_nonce = "rs-nonce-1"

    auth = signed_in()

    unauthenticated, without_nonce, with_nonce = world.mcp_requests()
    assert unauthenticated.authorization is None
    assert "nonce" not in verified_proof(without_nonce)[0]
    assert verified_proof(with_nonce)[0]["nonce"] == "rs-nonce-1"
    assert with_nonce.authorization == f"DPoP {auth.token.access_token}"
    assert len(world.auth.token_requests) == 1


def test_rs_nonce_is_used_on_the_next_request(world, signed_in, session):
    world.rs_dpop_nonce = "rs-nonce-1"
    auth = signed_in()

    session.get(MCP_URL, auth=auth)

    assert verified_proof(world.mcp_requests()[-1])[0]["nonce"] == "rs-nonce-1"
    assert len(world.mcp_requests()) == 4


def test_rs_asking_for_a_new_nonce_again_gets_its_401_back(world, signed_in, session):
    auth = signed_in()
    for n in (1, 2):
        world.mcp_script.append(
            (
                401,
                {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": f"n{n}"},
                "",
            )
        )
    before = len(world.mcp_requests())

    response = session.get(MCP_URL, auth=auth)

    assert response.status_code == 401
    assert len(world.mcp_requests()) == before + 2
    assert len(world.authorization_requests) == 1


def test_dpop_nonce_on_a_200_is_remembered(world, signed_in, session):
    world.rs_nonce_on_success = "fresh-nonce"
    auth = signed_in()

    session.get(MCP_URL, auth=auth)

    assert verified_proof(world.mcp_requests()[-1])[0]["nonce"] == "fresh-nonce"


def test_as_without_a_matching_alg_gets_no_proof_and_bearer_is_used(world, signed_in):
    world.auth.metadata["dpop_signing_alg_values_supported"] = ["RS256", "PS256"]

    auth = signed_in()

    (request,) = world.auth.token_requests
    assert "DPoP" not in request.headers
    assert auth.token.bound is False
    last = world.mcp_requests()[-1]
    assert last.authorization == f"Bearer {auth.token.access_token}"
    assert "DPoP" not in last.headers


def test_as_that_advertises_the_alg_gets_a_proof(world, signed_in):
    world.auth.metadata["dpop_signing_alg_values_supported"] = ["ES256"]

    signed_in()

    assert "DPoP" in world.auth.token_requests[0].headers


def test_bearer_answer_to_a_dpop_request_is_used_as_bearer(world, signed_in):
    world.auth.bind_dpop = False

    auth = signed_in()

    assert auth.token.bound is False
    last = world.mcp_requests()[-1]
    assert last.authorization.startswith("Bearer ")
    assert "DPoP" not in last.headers


def test_without_dpop_no_proof_is_sent(world, make_oauth, session):
    session.get(MCP_URL, auth=make_oauth())

    assert "DPoP" not in world.auth.token_requests[0].headers
    assert all("DPoP" not in s.headers for s in world.mcp_requests())


def test_refresh_of_a_bound_token_carries_a_proof(world, signed_in, session):
    auth = signed_in()
    world.valid.clear()

    session.get(MCP_URL, auth=auth)

    refresh = world.auth.token_requests[-1]
    assert refresh.form["grant_type"] == "refresh_token"
    assert verified_proof(refresh)[0]["htu"] == TOKEN_URL
    assert auth.token.bound is True


def test_client_credentials_with_dpop_get_a_bound_token(world, session):
    auth = ClientCredentials("service", "service-secret", dpop=True)

    assert session.get(MCP_URL, auth=auth).status_code == 200

    assert auth.token.bound is True
    assert "DPoP" in world.auth.token_requests[0].headers
    assert world.mcp_requests()[-1].authorization.startswith("DPoP ")


def test_stored_bound_token_is_not_used_without_dpop(world, signed_in, make_oauth, session):
    storage = MemoryStorage()
    signed_in(storage=storage)

    plain = make_oauth(storage=storage)
    session.get(MCP_URL, auth=plain)

    assert world.mcp_requests()[2].authorization is None


def test_dpop_proof_is_not_forwarded_on_a_redirect_to_another_origin(world, signed_in, session):
    auth = signed_in()
    world.mcp_script.append((307, {"Location": OTHER_URL}, ""))

    session.get(MCP_URL, auth=auth)

    (other,) = world.requests_to(OTHER_URL)
    assert other.authorization is None
    assert "DPoP" not in other.headers


def test_dpop_key_is_kept_in_the_storage_so_the_next_run_reuses_its_bound_token(
    world, make_oauth, session
):
    storage = MemoryStorage()
    first = make_oauth(dpop=True, storage=storage)
    assert session.get(MCP_URL, auth=first).status_code == 200

    second = make_oauth(dpop=True, storage=storage)
    assert session.get(MCP_URL, auth=second).status_code == 200

    assert len(world.authorization_requests) == 1
    assert jwk_thumbprint(verified_proof(world.mcp_requests()[-1])[1]["jwk"]) == (
        first._dpop().thumbprint()
    )


def test_a_same_origin_redirect_carries_a_fresh_proof_and_costs_no_refresh(
    world, signed_in, session
):
    auth = signed_in()
    world.mcp_script.append((307, {"Location": MCP_URL + "?moved=1"}, ""))

    assert session.get(MCP_URL, auth=auth).status_code == 200

    redirected = world.mcp_requests()[-1]
    claims, _ = verified_proof(redirected)
    assert claims["htm"] == "GET"
    assert claims["ath"] == ath(auth.token.access_token)
    assert claims["jti"] != verified_proof(world.mcp_requests()[-2])[0]["jti"]
    assert len(world.auth.token_requests) == 1
