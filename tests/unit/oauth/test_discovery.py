"""The pure discovery helpers: WWW-Authenticate parsing, well-known URLs, URL and metadata checks."""

from __future__ import annotations

import random

import pytest

from mcp_sync.errors import AuthorizationError, InsecureEndpointError, MetadataDiscoveryError
from mcp_sync.oauth.discovery import (
    AuthorizationServerMetadata,
    Challenge,
    ProtectedResourceMetadata,
    authorization_server_metadata_urls,
    canonical_url,
    find_challenge,
    legacy_endpoints,
    parse_www_authenticate,
    protected_resource_metadata_urls,
    require_secure_url,
    resource_covers,
    same_origin,
)

ISSUER = "https://auth.example.com"


def metadata(**overrides):
    document = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/authorize",
        "token_endpoint": ISSUER + "/token",
        "registration_endpoint": ISSUER + "/register",
        "code_challenge_methods_supported": ["S256"],
    }
    document.update(overrides)
    return {k: v for k, v in document.items() if v is not None}


# -- WWW-Authenticate ---------------------------------------------------------------------


def test_bearer_challenge_parameters_are_parsed():
    (challenge,) = parse_www_authenticate(
        'Bearer error="invalid_token", scope="files:read files:write", '
        'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'
    )

    assert challenge.scheme == "Bearer"
    assert challenge.error == "invalid_token"
    assert challenge.scope == "files:read files:write"
    assert (
        challenge.resource_metadata
        == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    )


def test_parameter_names_are_case_insensitive_and_scheme_keeps_its_case():
    (challenge,) = parse_www_authenticate('bEaReR Error="invalid_token", SCOPE=read')

    assert challenge.scheme == "bEaReR"
    assert challenge.error == "invalid_token"
    assert challenge.get("Scope") == "read"


def test_unquoted_token_values_are_parsed():
    (challenge,) = parse_www_authenticate("Bearer error=invalid_token,scope=read")

    assert challenge.params == {"error": "invalid_token", "scope": "read"}


def test_several_challenges_in_one_header_are_split():
    challenges = parse_www_authenticate(
        'Basic realm="site", Bearer realm="api", error="insufficient_scope", scope="admin"'
    )

    assert [c.scheme for c in challenges] == ["Basic", "Bearer"]
    assert challenges[0].params == {"realm": "site"}
    assert challenges[1].params == {
        "realm": "api",
        "error": "insufficient_scope",
        "scope": "admin",
    }


def test_quoted_string_escapes_are_unescaped():
    (challenge,) = parse_www_authenticate(
        r'Bearer error_description="say \"hi\" to C:\\path", realm="a,b=c"'
    )

    assert challenge.get("error_description") == 'say "hi" to C:\\path'
    assert challenge.get("realm") == "a,b=c"


def test_token68_credentials_are_not_taken_for_parameters():
    challenges = parse_www_authenticate(
        'Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag==, Bearer scope="a"'
    )

    assert [c.scheme for c in challenges] == ["Negotiate", "Bearer"]
    assert challenges[0].params == {}
    assert challenges[1].scope == "a"


def test_token68_without_padding_followed_by_another_challenge():
    challenges = parse_www_authenticate("Basic dXNlcjpwYXNz, Bearer error=invalid_token")

    assert [c.scheme for c in challenges] == ["Basic", "Bearer"]
    assert challenges[1].error == "invalid_token"


def test_token68_with_single_padding_is_not_taken_for_a_parameter():
    (challenge,) = parse_www_authenticate("Basic YWJjZA=")

    assert challenge.params == {}


def test_scheme_without_parameters_is_a_challenge():
    challenges = parse_www_authenticate("Bearer, DPoP")

    assert [(c.scheme, c.params) for c in challenges] == [("Bearer", {}), ("DPoP", {})]


def test_repeated_parameter_keeps_the_first_value():
    (challenge,) = parse_www_authenticate('Bearer scope="a", scope="b"')

    assert challenge.scope == "a"


def test_dpop_and_bearer_challenges_are_both_found():
    header = 'DPoP algs="ES256 PS256", error="use_dpop_nonce", Bearer scope="mcp"'

    challenges = parse_www_authenticate(header)

    assert [c.scheme for c in challenges] == ["DPoP", "Bearer"]
    assert challenges[0].get("algs") == "ES256 PS256"
    assert challenges[0].error == "use_dpop_nonce"
    assert challenges[1].scope == "mcp"


def test_find_challenge_prefers_the_first_scheme_listed():
    header = 'DPoP error="use_dpop_nonce", Bearer scope="mcp"'

    assert find_challenge([header], ("Bearer", "DPoP")).scheme == "Bearer"
    assert find_challenge([header], ("DPoP", "Bearer")).scheme == "DPoP"


def test_find_challenge_searches_every_header_value():
    found = find_challenge(['Basic realm="x"', 'Bearer scope="s"'])

    assert found == Challenge("Bearer", {"scope": "s"})


def test_find_challenge_without_a_wanted_scheme_is_none():
    assert find_challenge(['Basic realm="x"', ""]) is None


@pytest.mark.parametrize(
    "header",
    [
        "",
        " ",
        ",,,",
        "=",
        "==",
        '"',
        '"unterminated',
        'Bearer error="unterminated',
        'Bearer error="trailing backslash\\',
        "Bearer =",
        'Bearer ="x"',
        "Bearer a= =b",
        "Bearer ,=, ,",
        "realm=x",
        'realm="x", Bearer',
        "\x00\x01\x7f",
        "Bearer \u00e9rror=\u00fcber",
        "Bearer error=" + "x" * 10000,
    ],
)
def test_malformed_header_never_raises(header):
    challenges = parse_www_authenticate(header)

    assert all(isinstance(c, Challenge) for c in challenges)


def test_random_headers_never_raise():
    alphabet = ' \t,="\\abBDPoeErtk=;\x00\u00e9'
    rng = random.Random(20250726)
    for _ in range(3000):
        header = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        parse_www_authenticate(header)


def test_none_header_gives_no_challenges():
    assert parse_www_authenticate(None) == []


# -- well-known URLs --------------------------------------------------------------------------


def test_prm_path_inserted_url_is_tried_before_root():
    assert protected_resource_metadata_urls("https://mcp.example.com/public/mcp") == [
        "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp",
        "https://mcp.example.com/.well-known/oauth-protected-resource",
    ]


def test_prm_url_for_a_server_without_path_is_the_root_only():
    expected = ["https://mcp.example.com/.well-known/oauth-protected-resource"]

    assert protected_resource_metadata_urls("https://mcp.example.com") == expected
    assert protected_resource_metadata_urls("https://mcp.example.com/") == expected


def test_prm_urls_drop_the_query_and_keep_the_port():
    assert protected_resource_metadata_urls("https://mcp.example.com:8443/mcp?tenant=1") == [
        "https://mcp.example.com:8443/.well-known/oauth-protected-resource/mcp",
        "https://mcp.example.com:8443/.well-known/oauth-protected-resource",
    ]


def test_as_metadata_urls_for_an_issuer_with_path():
    assert authorization_server_metadata_urls("https://auth.example.com/tenant1") == [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
    ]


def test_as_metadata_urls_for_an_issuer_without_path():
    assert authorization_server_metadata_urls("https://auth.example.com") == [
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration",
    ]


def test_legacy_endpoints_are_at_the_server_origin():
    assert legacy_endpoints("https://mcp.example.com:8443/v1/mcp") == {
        "issuer": "https://mcp.example.com:8443",
        "authorization_endpoint": "https://mcp.example.com:8443/authorize",
        "token_endpoint": "https://mcp.example.com:8443/token",
        "registration_endpoint": "https://mcp.example.com:8443/register",
    }


# -- canonical URLs and resources ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://MCP.Example.COM/mcp", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com:443/mcp", "https://mcp.example.com/mcp"),
        ("http://localhost:80/mcp", "http://localhost/mcp"),
        ("https://mcp.example.com:8443/mcp", "https://mcp.example.com:8443/mcp"),
        ("https://mcp.example.com/", "https://mcp.example.com"),
        ("https://mcp.example.com/mcp/", "https://mcp.example.com/mcp/"),
        ("https://mcp.example.com/mcp?x=1#frag", "https://mcp.example.com/mcp"),
        ("http://[::1]:3000/mcp", "http://[::1]:3000/mcp"),
        ("https://mcp.example.com/Path/Case", "https://mcp.example.com/Path/Case"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_same_origin_fills_in_default_ports():
    assert same_origin("https://a.example.com/x", "https://A.example.com:443/y")
    assert not same_origin("https://a.example.com", "http://a.example.com")
    assert not same_origin("https://a.example.com", "https://a.example.com:8443")


@pytest.mark.parametrize(
    ("resource", "server"),
    [
        ("https://mcp.example.com/mcp", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com/", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com/v1", "https://mcp.example.com/v1/mcp"),
        ("https://MCP.example.com:443/mcp", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com/mcp/", "https://mcp.example.com/mcp"),
    ],
)
def test_resource_covers_same_origin_and_path_prefix(resource, server):
    assert resource_covers(resource, server)


@pytest.mark.parametrize(
    ("resource", "server"),
    [
        ("https://evil.example.com/mcp", "https://mcp.example.com/mcp"),
        ("http://mcp.example.com/mcp", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com:8443/mcp", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com/other", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com/mc", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com/mcp/sub", "https://mcp.example.com/mcp"),
    ],
)
def test_resource_does_not_cover_another_origin_or_path(resource, server):
    assert not resource_covers(resource, server)


# -- secure URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://auth.example.com/token",
        "HTTPS://auth.example.com/token",
        "http://localhost:8080/token",
        "http://LOCALHOST/token",
        "http://app.localhost/token",
        "http://127.0.0.1:9000/token",
        "http://127.5.6.7/token",
        "http://[::1]:9000/token",
    ],
)
def test_https_and_loopback_http_are_accepted(url):
    assert require_secure_url(url, "token endpoint") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://auth.example.com/token",
        "http://10.0.0.1/token",
        "http://localhost.evil.com/token",
        "http://127.0.0.1.nip.io/token",
        "http://[::2]/token",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(url):
    with pytest.raises(InsecureEndpointError, match="token endpoint"):
        require_secure_url(url, "token endpoint")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://auth.example.com/token",
        "data:text/html,hi",
        "/token",
        "https:///token",
        "https://auth.example.com/token#frag",
    ],
)
def test_other_schemes_relative_urls_and_fragments_are_refused(url):
    with pytest.raises(InsecureEndpointError):
        require_secure_url(url, "token endpoint")


@pytest.mark.parametrize("value", [None, "", 42, ["https://a.example.com"]])
def test_missing_or_non_string_url_is_a_discovery_error(value):
    with pytest.raises(MetadataDiscoveryError):
        require_secure_url(value, "token endpoint")


# -- metadata documents --------------------------------------------------------------------------


def test_as_metadata_with_the_expected_issuer_is_accepted():
    parsed = AuthorizationServerMetadata.from_dict(
        metadata(
            scopes_supported=["a", "offline_access"],
            authorization_response_iss_parameter_supported=True,
            client_id_metadata_document_supported=True,
            dpop_signing_alg_values_supported=["ES256"],
        ),
        expected_issuer=ISSUER,
    )

    assert parsed.issuer == ISSUER
    assert parsed.token_endpoint == ISSUER + "/token"
    assert parsed.code_challenge_methods_supported == ["S256"]
    assert parsed.scopes_supported == ["a", "offline_access"]
    assert parsed.authorization_response_iss_parameter_supported is True
    assert parsed.client_id_metadata_document_supported is True
    assert parsed.dpop_signing_alg_values_supported == ["ES256"]


def test_as_metadata_for_another_issuer_is_refused():
    with pytest.raises(MetadataDiscoveryError, match="another issuer"):
        AuthorizationServerMetadata.from_dict(
            metadata(issuer="https://evil.example.com"), expected_issuer=ISSUER
        )


def test_as_metadata_issuer_with_a_trailing_slash_is_another_issuer():
    with pytest.raises(MetadataDiscoveryError):
        AuthorizationServerMetadata.from_dict(metadata(issuer=ISSUER + "/"), expected_issuer=ISSUER)


def test_as_metadata_issuer_compare_is_exact_not_case_folded():
    with pytest.raises(MetadataDiscoveryError):
        AuthorizationServerMetadata.from_dict(
            metadata(issuer="https://AUTH.example.com"), expected_issuer=ISSUER
        )


def test_as_metadata_without_issuer_is_refused():
    with pytest.raises(MetadataDiscoveryError, match="no issuer"):
        AuthorizationServerMetadata.from_dict(metadata(issuer=None), expected_issuer=ISSUER)


def test_as_metadata_without_token_endpoint_is_refused():
    with pytest.raises(MetadataDiscoveryError, match="token endpoint"):
        AuthorizationServerMetadata.from_dict(metadata(token_endpoint=None), expected_issuer=ISSUER)


@pytest.mark.parametrize(
    "endpoint", ["token_endpoint", "authorization_endpoint", "registration_endpoint"]
)
def test_as_metadata_with_a_plain_http_remote_endpoint_is_refused(endpoint):
    document = metadata(**{endpoint: "http://auth.example.com/" + endpoint})

    with pytest.raises(InsecureEndpointError):
        AuthorizationServerMetadata.from_dict(document, expected_issuer=ISSUER)


def test_as_metadata_that_is_not_an_object_is_refused():
    with pytest.raises(MetadataDiscoveryError):
        AuthorizationServerMetadata.from_dict(["issuer"], expected_issuer=ISSUER)


def test_as_metadata_flags_are_true_only_for_json_true():
    parsed = AuthorizationServerMetadata.from_dict(
        metadata(
            authorization_response_iss_parameter_supported="true",
            client_id_metadata_document_supported=1,
        ),
        expected_issuer=ISSUER,
    )

    assert parsed.authorization_response_iss_parameter_supported is False
    assert parsed.client_id_metadata_document_supported is False


def test_as_metadata_lists_of_the_wrong_type_are_ignored():
    parsed = AuthorizationServerMetadata.from_dict(
        metadata(code_challenge_methods_supported="S256", scopes_supported=[1, 2]),
        expected_issuer=ISSUER,
    )

    assert parsed.code_challenge_methods_supported is None
    assert parsed.scopes_supported is None


def test_legacy_metadata_without_issuer_is_accepted():
    parsed = AuthorizationServerMetadata.from_dict(
        metadata(issuer=None), expected_issuer=None, legacy=True
    )

    assert parsed.issuer == ""
    assert parsed.token_endpoint == ISSUER + "/token"


def test_prm_is_parsed():
    parsed = ProtectedResourceMetadata.from_dict(
        {
            "resource": "https://mcp.example.com/mcp",
            "authorization_servers": [ISSUER],
            "scopes_supported": ["a", "b"],
        },
        url="https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
    )

    assert parsed.resource == "https://mcp.example.com/mcp"
    assert parsed.authorization_servers == [ISSUER]
    assert parsed.scopes_supported == ["a", "b"]


@pytest.mark.parametrize(
    "document",
    [
        None,
        "text",
        {"resource": "https://mcp.example.com/mcp"},
        {"resource": "https://mcp.example.com/mcp", "authorization_servers": []},
        {"resource": "https://mcp.example.com/mcp", "authorization_servers": ISSUER},
        {"resource": 5, "authorization_servers": [ISSUER]},
    ],
)
def test_malformed_prm_is_a_discovery_error(document):
    with pytest.raises(MetadataDiscoveryError):
        ProtectedResourceMetadata.from_dict(document, url="https://mcp.example.com/x")


def test_discovery_errors_are_authorization_errors():
    assert issubclass(MetadataDiscoveryError, AuthorizationError)
    assert issubclass(InsecureEndpointError, AuthorizationError)
