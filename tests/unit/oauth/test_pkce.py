"""PKCE (RFC 7636) and state values."""

from __future__ import annotations

import re

from mcp_sync.oauth.pkce import code_challenge, new_code_verifier, new_state

UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")


def test_s256_challenge_matches_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_challenge_is_unpadded_base64url():
    challenge = code_challenge(new_code_verifier())

    assert len(challenge) == 43
    assert re.fullmatch(r"[A-Za-z0-9\-_]+", challenge)


def test_verifier_length_is_within_43_to_128():
    for _ in range(50):
        assert 43 <= len(new_code_verifier()) <= 128


def test_verifier_uses_only_unreserved_characters():
    for _ in range(50):
        assert UNRESERVED.fullmatch(new_code_verifier())


def test_verifiers_are_unique():
    assert len({new_code_verifier() for _ in range(200)}) == 200


def test_state_values_are_unique():
    assert len({new_state() for _ in range(200)}) == 200


def test_state_is_url_safe_and_carries_at_least_128_bits():
    state = new_state()

    assert re.fullmatch(r"[A-Za-z0-9\-_]+", state)
    assert len(state) * 6 >= 128
