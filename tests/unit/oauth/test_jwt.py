"""JWT signing: SigningKey, private_key_jwt client assertions, DPoP proofs (RFC 7523, 7638, 9449)."""

from __future__ import annotations

import base64
import hashlib
import importlib
import subprocess
import sys
import threading
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from support.oauth_world import REDIRECT_URI

from mcp_sync.oauth import ClientCredentials, OAuth
from mcp_sync.oauth.jwt import (
    CLIENT_ASSERTION_TYPE,
    DPoPKey,
    SigningKey,
    client_assertion,
    dpop_algs_supported,
    jwk_thumbprint,
)

ALGS = ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"]
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
NOW = 1_700_000_000.0

# RFC 7517 appendix A.2: the example RSA private key. Its public half is the RFC 7638
# section 3.1 example, whose thumbprint the RFC gives.
RFC_RSA_PRIVATE_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "d": "X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q",
    "p": "83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVnwD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XOuVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O0nVbfs",
    "q": "3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyumqjVZQO1dIrdwgTnCdpYzBcOfW5r370AFXjiWft_NGEiovonizhKpo9VVS78TzFgxkIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb6yelxk",
    "dp": "G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oimYwxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF402XRugKDTP8akYhFo5tAA77Qe_NmtuYZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8YeiKkTiBj0",
    "dq": "s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUvMfBcMpn8lqeW6vzznYY5SSQF7pMdC_agI3nG8Ibp1BUb0JUiraRNqUfLhcQb_d9GF4Dh7e74WbRsobRonujTYN1xCaP6TO61jvWrX-L18txXw494Q_cgk",
    "qi": "GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgUIZEVFEcOqwemRN81zoDAaa-Bk0KWNGDjJHZDdDmFhW3AN7lI-puxk_mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia6zTKhAVRU",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    """One generated key per algorithm; RSA generation is slow enough to share."""
    return {alg: SigningKey.generate(alg) for alg in ALGS}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verify(token: str, public_jwk: dict[str, Any]) -> dict[str, Any]:
    """The claims of ``token`` after checking its signature against ``public_jwk``."""
    pyjwk = jwt.PyJWK(public_jwk)
    claims: dict[str, Any] = jwt.decode(
        token,
        pyjwk.key,
        algorithms=[jwt.get_unverified_header(token)["alg"]],
        # Tests pin the clock, so time and audience checks are for the assertions below.
        options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
    )
    return claims


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def b64url_sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


# --- SigningKey -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_signed_token_verifies_with_public_jwk(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys[alg]
    token = key.sign({"hello": "world"})
    assert jwt.get_unverified_header(token)["alg"] == alg
    assert verify(token, key.public_jwk()) == {"hello": "world"}


@pytest.mark.parametrize("alg", ALGS)
def test_public_jwk_has_no_private_members(keys: dict[str, SigningKey], alg: str) -> None:
    jwk = keys[alg].public_jwk()
    assert not PRIVATE_MEMBERS & set(jwk)
    expected = {"EC": {"crv", "x", "y"}, "RSA": {"n", "e"}, "OKP": {"crv", "x"}}[jwk["kty"]]
    assert set(jwk) == {"kty", "alg"} | expected


def test_public_jwk_names_kid_when_set() -> None:
    jwk = SigningKey.generate("ES256", kid="key-1").public_jwk()
    assert jwk["kid"] == "key-1"


@pytest.mark.parametrize(
    ("private_key", "alg"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (ec.generate_private_key(ec.SECP384R1()), "ES384"),
        (ec.generate_private_key(ec.SECP521R1()), "ES512"),
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
        (ed448.Ed448PrivateKey.generate(), "EdDSA"),
    ],
)
def test_alg_is_inferred_from_key_type(private_key: Any, alg: str) -> None:
    assert SigningKey(private_key).alg == alg


def test_alg_of_rsa_key_defaults_to_rs256(rsa_key: rsa.RSAPrivateKey) -> None:
    assert SigningKey(rsa_key).alg == "RS256"


def test_rsa_key_accepts_ps256(rsa_key: rsa.RSAPrivateKey) -> None:
    key = SigningKey(rsa_key, alg="PS256")
    assert verify(key.sign({"a": 1}), key.public_jwk()) == {"a": 1}


def test_alg_that_does_not_fit_the_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="ES384"):
        SigningKey(ec.generate_private_key(ec.SECP256R1()), alg="ES384")


def test_symmetric_alg_is_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError):
        SigningKey(rsa_key, alg="HS256")


def test_rsa_key_below_2048_bits_is_rejected() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="2048"):
        SigningKey(small)


def test_public_key_is_rejected() -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ValueError, match="private key"):
        SigningKey(public)  # type: ignore[arg-type]


def test_unsupported_curve_is_rejected() -> None:
    with pytest.raises(ValueError, match="curve"):
        SigningKey(ec.generate_private_key(ec.SECP256K1()))


@pytest.mark.parametrize("alg", ["HS256", "none", "ES256K", "es256"])
def test_generate_rejects_unsupported_alg(alg: str) -> None:
    with pytest.raises(ValueError, match="cannot generate"):
        SigningKey.generate(alg)


def test_sign_adds_kid_header_when_set() -> None:
    key = SigningKey.generate("ES256", kid="key-1")
    assert jwt.get_unverified_header(key.sign({}))["kid"] == "key-1"


def test_sign_omits_kid_header_when_unset(keys: dict[str, SigningKey]) -> None:
    assert "kid" not in jwt.get_unverified_header(keys["ES256"].sign({}))


def test_sign_merges_extra_headers(keys: dict[str, SigningKey]) -> None:
    header = jwt.get_unverified_header(keys["ES256"].sign({}, {"typ": "at+jwt", "x": "y"}))
    assert header["typ"] == "at+jwt"
    assert header["x"] == "y"


@pytest.mark.parametrize("alg", ["none", "HS256", "ES384"])
def test_sign_refuses_header_that_changes_alg(keys: dict[str, SigningKey], alg: str) -> None:
    with pytest.raises(ValueError, match="alg"):
        keys["ES256"].sign({}, {"alg": alg})


def test_repr_shows_only_alg_and_kid() -> None:
    key = SigningKey.generate("ES256", kid="key-1")
    assert repr(key) == "SigningKey(alg='ES256', kid='key-1')"


def test_repr_holds_no_key_material() -> None:
    key = SigningKey.from_jwk(RFC_RSA_PRIVATE_JWK)
    text = repr(key) + str(key)
    for member in ("n", "d", "p", "q", "dp", "dq", "qi"):
        assert RFC_RSA_PRIVATE_JWK[member][:16] not in text


def test_kid_must_be_non_empty_string() -> None:
    with pytest.raises(ValueError, match="kid"):
        SigningKey.generate("ES256", kid="")


# --- PEM --------------------------------------------------------------------------------------


def test_from_pem_loads_encrypted_key_with_password() -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    key = SigningKey.from_pem(pem, kid="k", password=b"s3cret")
    token = key.sign({"a": 1})
    assert key.alg == "ES384"
    assert jwt.decode(token, private.public_key(), algorithms=["ES384"]) == {"a": 1}


def test_from_pem_accepts_str(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    key = SigningKey.from_pem(pem, alg="PS256")
    assert jwt.decode(key.sign({"a": 1}), rsa_key.public_key(), algorithms=["PS256"]) == {"a": 1}


def test_from_pem_with_wrong_password_raises_value_error_without_key() -> None:
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right"),
    )
    with pytest.raises(ValueError, match="PEM") as info:
        SigningKey.from_pem(pem, password=b"wrong")
    assert "right" not in str(info.value)
    assert pem.decode("ascii").splitlines()[1] not in str(info.value)


def test_from_pem_without_needed_password_raises_value_error() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(ValueError, match="PEM"):
        SigningKey.from_pem(pem)


def test_from_pem_rejects_public_key() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError):
        SigningKey.from_pem(pem)


# --- JWK --------------------------------------------------------------------------------------


def test_from_jwk_takes_alg_and_kid_from_the_jwk() -> None:
    key = SigningKey.from_jwk(RFC_RSA_PRIVATE_JWK)
    assert (key.alg, key.kid) == ("RS256", "2011-04-29")


def test_from_jwk_explicit_alg_wins_over_the_jwk() -> None:
    assert SigningKey.from_jwk(RFC_RSA_PRIVATE_JWK, alg="PS256").alg == "PS256"


def test_from_jwk_key_signs_tokens_that_verify() -> None:
    key = SigningKey.from_jwk(RFC_RSA_PRIVATE_JWK)
    assert verify(key.sign({"a": 1}), key.public_jwk()) == {"a": 1}


def test_from_jwk_accepts_json_string() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    text = jwt.algorithms.ECAlgorithm.to_jwk(private)
    key = SigningKey.from_jwk(text)
    assert key.alg == "ES256"
    assert jwt.decode(key.sign({"a": 1}), private.public_key(), algorithms=["ES256"]) == {"a": 1}


def test_from_jwk_loads_okp_key() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = SigningKey.from_jwk(jwt.algorithms.OKPAlgorithm.to_jwk(private, as_dict=True))
    assert key.alg == "EdDSA"
    assert jwt.decode(key.sign({"a": 1}), private.public_key(), algorithms=["EdDSA"]) == {"a": 1}


def test_from_jwk_rejects_public_jwk() -> None:
    public = {k: v for k, v in RFC_RSA_PRIVATE_JWK.items() if k not in PRIVATE_MEMBERS}
    with pytest.raises(ValueError, match="private"):
        SigningKey.from_jwk(public)


def test_from_jwk_rejects_symmetric_jwk() -> None:
    with pytest.raises(ValueError, match="kty"):
        SigningKey.from_jwk({"kty": "oct", "k": "c2VjcmV0", "d": "x"})


def test_from_jwk_rejects_malformed_key_without_echoing_it() -> None:
    broken = dict(RFC_RSA_PRIVATE_JWK, n="AQAB")
    with pytest.raises(ValueError) as info:
        SigningKey.from_jwk(broken)
    assert RFC_RSA_PRIVATE_JWK["d"][:16] not in str(info.value)


def test_from_jwk_rejects_invalid_json() -> None:
    with pytest.raises(ValueError, match="JSON"):
        SigningKey.from_jwk('{"kty": "EC", "d": ')


# --- thumbprints ------------------------------------------------------------------------------


def test_thumbprint_matches_rfc7638_example() -> None:
    assert SigningKey.from_jwk(RFC_RSA_PRIVATE_JWK).thumbprint() == RFC_THUMBPRINT


def test_jwk_thumbprint_of_public_rfc7638_key() -> None:
    public = {"kty": "RSA", "n": RFC_RSA_PRIVATE_JWK["n"], "e": "AQAB", "alg": "RS256"}
    assert jwk_thumbprint(public) == RFC_THUMBPRINT


def test_thumbprint_ignores_alg_and_kid() -> None:
    key = SigningKey.from_jwk(RFC_RSA_PRIVATE_JWK)
    assert jwk_thumbprint(key.public_jwk()) == key.thumbprint()


def test_jwk_thumbprint_rejects_missing_member() -> None:
    with pytest.raises(ValueError, match="'y'"):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "abc"})


# --- client assertion -------------------------------------------------------------------------


def test_client_assertion_type_is_rfc7523_jwt_bearer() -> None:
    assert CLIENT_ASSERTION_TYPE == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_client_assertion_claims(keys: dict[str, SigningKey]) -> None:
    key = keys["ES256"]
    token = client_assertion(
        key, client_id="client-1", audience="https://as.example/token", now=NOW
    )
    claims = verify(token, key.public_jwk())
    assert claims.pop("jti")
    assert claims == {
        "iss": "client-1",
        "sub": "client-1",
        "aud": "https://as.example/token",
        "iat": int(NOW),
        "exp": int(NOW) + 300,
    }


def test_client_assertion_exp_follows_lifetime(keys: dict[str, SigningKey]) -> None:
    token = client_assertion(keys["ES256"], client_id="c", audience="a", lifetime=60, now=NOW)
    claims = unverified_claims(token)
    assert claims["exp"] - claims["iat"] == 60


def test_client_assertion_header_has_typ_jwt_and_kid() -> None:
    key = SigningKey.generate("PS256", kid="key-1")
    header = jwt.get_unverified_header(client_assertion(key, client_id="c", audience="a"))
    assert header == {"alg": "PS256", "typ": "JWT", "kid": "key-1"}


def test_client_assertion_passes_pyjwt_validation(keys: dict[str, SigningKey]) -> None:
    key = keys["EdDSA"]
    token = client_assertion(key, client_id="c", audience="https://as.example/token")
    claims = jwt.decode(
        token,
        jwt.PyJWK(key.public_jwk()).key,
        algorithms=["EdDSA"],
        audience="https://as.example/token",
        issuer="c",
        options={"require": ["exp", "iat", "jti", "sub"]},
    )
    assert claims["sub"] == "c"


def test_client_assertion_jti_is_random_and_at_least_128_bits(
    keys: dict[str, SigningKey],
) -> None:
    jtis = {
        unverified_claims(client_assertion(keys["ES256"], client_id="c", audience="a"))["jti"]
        for _ in range(2)
    }
    assert len(jtis) == 2
    assert all(len(jti) * 6 >= 128 for jti in jtis)


@pytest.mark.parametrize("lifetime", [0, -1, float("inf"), float("nan")])
def test_client_assertion_rejects_bad_lifetime(
    keys: dict[str, SigningKey], lifetime: float
) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        client_assertion(keys["ES256"], client_id="c", audience="a", lifetime=lifetime)


@pytest.mark.parametrize(("client_id", "audience"), [("", "a"), ("c", "")])
def test_client_assertion_rejects_empty_client_id_or_audience(
    keys: dict[str, SigningKey], client_id: str, audience: str
) -> None:
    with pytest.raises(ValueError):
        client_assertion(keys["ES256"], client_id=client_id, audience=audience)


# --- DPoP -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dpop() -> DPoPKey:
    return DPoPKey()


def test_dpop_default_key_is_es256(dpop: DPoPKey) -> None:
    assert dpop.alg == "ES256"


def test_dpop_proof_header_has_typ_alg_and_public_jwk(dpop: DPoPKey) -> None:
    header = jwt.get_unverified_header(dpop.proof("GET", "https://rs.example/mcp"))
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    assert set(header) == {"typ", "alg", "jwk"}
    assert not PRIVATE_MEMBERS & set(header["jwk"])
    assert header["jwk"]["kty"] == "EC"


def test_dpop_proof_header_leaves_out_kid() -> None:
    proof = DPoPKey(SigningKey.generate("ES256", kid="k")).proof("GET", "https://rs.example/")
    header = jwt.get_unverified_header(proof)
    assert "kid" not in header
    assert "kid" not in header["jwk"]


@pytest.mark.parametrize("alg", ALGS)
def test_dpop_proof_verifies_with_embedded_jwk(keys: dict[str, SigningKey], alg: str) -> None:
    proof = DPoPKey(keys[alg]).proof("POST", "https://rs.example/mcp")
    header = jwt.get_unverified_header(proof)
    assert header["alg"] == alg
    assert verify(proof, dict(header["jwk"], alg=alg))["htm"] == "POST"


def test_dpop_jwk_thumbprint_is_key_thumbprint(dpop: DPoPKey) -> None:
    header = jwt.get_unverified_header(dpop.proof("GET", "https://rs.example/"))
    assert jwk_thumbprint(header["jwk"]) == dpop.thumbprint() == dpop.key.thumbprint()


def test_dpop_htm_is_uppercased(dpop: DPoPKey) -> None:
    assert unverified_claims(dpop.proof("post", "https://rs.example/"))["htm"] == "POST"


def test_dpop_htu_strips_query_and_fragment(dpop: DPoPKey) -> None:
    proof = dpop.proof("GET", "https://rs.example/mcp/path?session=1&x=2#frag")
    assert unverified_claims(proof)["htu"] == "https://rs.example/mcp/path"


def test_dpop_htu_lowercases_scheme_and_host_only(dpop: DPoPKey) -> None:
    proof = dpop.proof("GET", "HTTPS://RS.Example:8443/Some/Path")
    assert unverified_claims(proof)["htu"] == "https://rs.example:8443/Some/Path"


def test_dpop_htu_drops_userinfo(dpop: DPoPKey) -> None:
    proof = dpop.proof("GET", "https://user:hunter2@rs.example/mcp")
    assert unverified_claims(proof)["htu"] == "https://rs.example/mcp"


@pytest.mark.parametrize(
    "url", ["/relative/path", "ftp://rs.example/", "https:///no-host", "https://user@/x"]
)
def test_dpop_rejects_url_that_is_not_absolute_http(dpop: DPoPKey, url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        dpop.proof("GET", url)


@pytest.mark.parametrize("method", ["", "GE T", "GET\r\n"])
def test_dpop_rejects_malformed_method(dpop: DPoPKey, method: str) -> None:
    with pytest.raises(ValueError, match="method"):
        dpop.proof(method, "https://rs.example/")


def test_dpop_ath_is_sha256_of_access_token(dpop: DPoPKey) -> None:
    token = "an-opaque.access_token~value"
    proof = dpop.proof("GET", "https://rs.example/", access_token=token)
    assert unverified_claims(proof)["ath"] == b64url_sha256(token)


def test_dpop_ath_matches_rfc9449_example(dpop: DPoPKey) -> None:
    # RFC 9449 section 7.1: this access token hashes to this ath.
    proof = dpop.proof(
        "GET", "https://rs.example/", access_token="Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    )
    assert unverified_claims(proof)["ath"] == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_dpop_ath_absent_without_access_token(dpop: DPoPKey) -> None:
    assert "ath" not in unverified_claims(dpop.proof("GET", "https://rs.example/"))


def test_dpop_rejects_non_ascii_access_token_without_echoing_it(dpop: DPoPKey) -> None:
    with pytest.raises(ValueError, match="ASCII") as info:
        dpop.proof("GET", "https://rs.example/", access_token="tökén-secret")
    assert "secret" not in str(info.value)


def test_dpop_nonce_included_when_given(dpop: DPoPKey) -> None:
    proof = dpop.proof("GET", "https://rs.example/", nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v")
    assert unverified_claims(proof)["nonce"] == "eyJ7S_zG.eyJH0-Z.HX4w-7v"


def test_dpop_nonce_absent_when_not_given(dpop: DPoPKey) -> None:
    assert "nonce" not in unverified_claims(dpop.proof("GET", "https://rs.example/"))


def test_dpop_claims_are_exactly_the_rfc9449_set(dpop: DPoPKey) -> None:
    proof = dpop.proof("GET", "https://rs.example/", access_token="t", nonce="n")
    assert set(unverified_claims(proof)) == {"jti", "htm", "htu", "iat", "ath", "nonce"}


def test_dpop_jti_differs_between_proofs(dpop: DPoPKey) -> None:
    first = unverified_claims(dpop.proof("GET", "https://rs.example/"))["jti"]
    second = unverified_claims(dpop.proof("GET", "https://rs.example/"))["jti"]
    assert first != second


def test_dpop_iat_is_close_to_now(dpop: DPoPKey) -> None:
    iat = unverified_claims(dpop.proof("GET", "https://rs.example/"))["iat"]
    assert isinstance(iat, int)
    assert abs(iat - time.time()) <= 5


def test_dpop_iat_uses_given_now(dpop: DPoPKey) -> None:
    proof = dpop.proof("GET", "https://rs.example/", now=NOW + 0.9)
    assert unverified_claims(proof)["iat"] == int(NOW)


def test_dpop_proofs_from_many_threads_all_verify(dpop: DPoPKey) -> None:
    proofs: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        made = [dpop.proof("GET", "https://rs.example/", access_token="t") for _ in range(20)]
        with lock:
            proofs.extend(made)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    public = dict(jwt.get_unverified_header(proofs[0])["jwk"], alg="ES256")
    jtis = {verify(proof, public)["jti"] for proof in proofs}
    assert len(jtis) == len(proofs) == 160


def test_dpop_repr_holds_no_key_material(dpop: DPoPKey) -> None:
    jwk = jwt.get_unverified_header(dpop.proof("GET", "https://rs.example/"))["jwk"]
    assert repr(dpop) == "DPoPKey(alg='ES256')"
    assert jwk["x"] not in repr(dpop)


# --- dpop_algs_supported ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("advertised", "expected"),
    [
        (None, True),
        (["RS256", "ES256"], True),
        (["RS256"], False),
        ([], False),
        (["none"], False),
        ("ES256", True),
    ],
)
def test_dpop_algs_supported(advertised: Any, expected: bool) -> None:
    assert dpop_algs_supported("ES256", advertised) is expected


def test_dpop_algs_supported_never_accepts_none_alg() -> None:
    assert dpop_algs_supported("none", ["none"]) is False


# --- optional dependency ----------------------------------------------------------------------


def test_importing_module_loads_neither_pyjwt_nor_cryptography() -> None:
    code = (
        "import sys, mcp_sync.oauth.jwt; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'jwt', 'cryptography'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("missing", ["jwt", "cryptography"])
def test_using_module_without_extra_raises_install_hint(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    import mcp_sync.oauth

    # Re-import the module with the dependency hidden; put everything back afterwards.
    monkeypatch.setattr(mcp_sync.oauth, "jwt", sys.modules["mcp_sync.oauth.jwt"])
    monkeypatch.delitem(sys.modules, "mcp_sync.oauth.jwt")
    monkeypatch.setitem(sys.modules, missing, None)
    fresh = importlib.import_module("mcp_sync.oauth.jwt")

    with pytest.raises(
        ImportError, match=r"PyJWT with cryptography: pip install 'mcp_sync\[jwt\]'"
    ):
        fresh.DPoPKey()


@pytest.mark.parametrize("needs", ["dpop", "private_key"])
def test_an_auth_that_needs_the_extra_fails_when_it_is_made(
    monkeypatch: pytest.MonkeyPatch, needs: str
) -> None:
    key = SigningKey.generate()
    monkeypatch.setitem(sys.modules, "jwt", None)

    with pytest.raises(ImportError, match=r"pip install 'mcp_sync\[jwt\]'"):
        if needs == "dpop":
            OAuth(redirect_handler=lambda url: url, redirect_uri=REDIRECT_URI, dpop=True)
        else:
            ClientCredentials("service", private_key=key)
