"""Pure helpers for OAuth discovery: challenges, well-known URLs, metadata checks.

Nothing here does I/O. Each function maps strings and dicts to strings and
dicts, so the rules of RFC 9728, RFC 8414, OpenID Connect Discovery and the MCP
authorization spec can be tested on their own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from ..errors import InsecureEndpointError, MetadataDiscoveryError

__all__ = [
    "AuthorizationServerMetadata",
    "Challenge",
    "ProtectedResourceMetadata",
    "authorization_server_metadata_urls",
    "canonical_url",
    "find_challenge",
    "is_loopback_url",
    "legacy_endpoints",
    "origin_of",
    "parse_www_authenticate",
    "protected_resource_metadata_urls",
    "require_secure_url",
    "resource_covers",
    "same_origin",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: its scheme and its parameters.

    Parameter names are lower-cased; the scheme keeps its case but compares without it.
    """

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Optional[str]:
        return self.params.get(name.lower())

    @property
    def error(self) -> Optional[str]:
        return self.params.get("error")

    @property
    def scope(self) -> Optional[str]:
        return self.params.get("scope")

    @property
    def resource_metadata(self) -> Optional[str]:
        return self.params.get("resource_metadata")


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _token(text: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(text) and text[i] not in ' \t,="':
        i += 1
    return text[start:i], i


def _quoted(text: str, i: int) -> tuple[str, int]:
    # text[i] is the opening quote; a backslash escapes the next character (RFC 9110 5.6.4).
    out = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i  # an unterminated string ends the header


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Split a ``WWW-Authenticate`` value into its challenges (RFC 9110 section 11.6.1).

    Handles several challenges in one value, quoted strings with escapes and
    ``token68`` credentials. Malformed parts are skipped rather than raised, since a
    server's header is only a hint.
    """
    text = header or ""
    challenges: list[Challenge] = []
    scheme: Optional[str] = None
    params: dict[str, str] = {}
    after_scheme = False  # the last thing read was a scheme name, with no comma since
    i = 0
    while i < len(text):
        i = _skip_space(text, i)
        if i >= len(text):
            break
        if text[i] == ",":
            after_scheme = False
            i += 1
            continue
        word, j = _token(text, i)
        if not word:  # a stray quote or '=': skip it
            i = _quoted(text, i)[1] if text[i] == '"' else i + 1
            continue
        k = _skip_space(text, j)
        is_param = k < len(text) and text[k] == "=" and text[k + 1 : k + 2] != "="
        if is_param and after_scheme:
            # "Scheme abc=" then a comma or the end: token68 with one padding character,
            # since a parameter needs a value.
            rest = _skip_space(text, k + 1)
            is_param = rest < len(text) and text[rest] != ","
        if is_param and scheme is not None:
            k = _skip_space(text, k + 1)
            if k < len(text) and text[k] == '"':
                value, i = _quoted(text, k)
            else:
                value, i = _token(text, k)
            params.setdefault(word.lower(), value)
            after_scheme = False
            continue
        if after_scheme:
            # "Scheme token68": the credentials of the scheme just named, with any padding.
            i = k
            while i < len(text) and text[i] == "=":
                i += 1
            after_scheme = False
            continue
        if is_param:  # a parameter before any scheme
            i = k + 1
            continue
        if scheme is not None:
            challenges.append(Challenge(scheme, params))
        scheme, params, after_scheme = word, {}, True
        i = j
    if scheme is not None:
        challenges.append(Challenge(scheme, params))
    return challenges


def find_challenge(
    headers: list[str], schemes: tuple[str, ...] = ("Bearer", "DPoP")
) -> Optional[Challenge]:
    """The first challenge, over all ``WWW-Authenticate`` values, whose scheme is in ``schemes``.

    ``schemes`` is in order of preference: a ``DPoP`` challenge is returned before a
    ``Bearer`` one only when ``DPoP`` comes first.
    """
    found = [c for h in headers for c in parse_www_authenticate(h)]
    for wanted in schemes:
        for challenge in found:
            if challenge.scheme.lower() == wanted.lower():
                return challenge
    return None


def origin_of(url: str) -> tuple[str, str, int]:
    """The (scheme, host, port) origin of ``url``, lower-cased with the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def same_origin(a: str, b: str) -> bool:
    return origin_of(a) == origin_of(b)


def canonical_url(url: str) -> str:
    """``url`` with a lower-case scheme and host, no default port, no fragment, no query.

    A path of only ``/`` is dropped, as the MCP spec's canonical server URI has no
    trailing slash unless it matters.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((scheme, netloc, path, "", ""))


def resource_covers(resource: str, server_url: str) -> bool:
    """Whether a protected resource identifier applies to the MCP endpoint ``server_url``.

    It does when both have the same origin and the resource's path is the endpoint's
    path or a parent of it (RFC 9728 section 3.3, with the MCP canonical URI rules).
    """
    if not same_origin(resource, server_url):
        return False
    res_path = urlsplit(canonical_url(resource)).path.rstrip("/")
    url_path = urlsplit(canonical_url(server_url)).path.rstrip("/")
    return url_path == res_path or url_path.startswith(res_path + "/")


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: Any, what: str, loopback_http: bool = True) -> str:
    """Return ``url`` if it is an absolute HTTPS URL, or HTTP on a loopback host (when
    ``loopback_http`` allows it).

    Anything else (another scheme, plain HTTP to a remote host, no host) raises
    :class:`InsecureEndpointError` naming ``what``.
    """
    if not isinstance(url, str) or not url:
        raise MetadataDiscoveryError(f"the {what} is missing or not a string")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not parts.hostname or scheme not in ("http", "https"):
        raise InsecureEndpointError(f"the {what} is not an absolute HTTP(S) URL")
    if parts.fragment:
        raise InsecureEndpointError(f"the {what} has a fragment")
    if scheme == "http" and not is_loopback_url(url):
        raise InsecureEndpointError(f"the {what} uses plain HTTP on a host that is not loopback")
    if scheme == "http" and not loopback_http:
        raise InsecureEndpointError(
            f"the {what} uses plain HTTP on loopback, which only a server on loopback may name"
        )
    return url


def protected_resource_metadata_urls(server_url: str) -> list[str]:
    """Where to look for protected resource metadata when no challenge names it.

    The path-inserted well-known URI comes first, then the one at the root (MCP
    2025-11-25, RFC 9728 section 3.1). A query on the endpoint is kept on neither.
    """
    parts = urlsplit(server_url)
    base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    root = base + "/.well-known/oauth-protected-resource"
    path = parts.path.rstrip("/")
    return [root + path, root] if path else [root]


def authorization_server_metadata_urls(issuer: str) -> list[str]:
    """Where to look for an issuer's metadata, in the order the MCP spec gives.

    With a path: RFC 8414 path-inserted, OIDC path-inserted, OIDC path-appended.
    Without: RFC 8414, then OIDC.
    """
    parts = urlsplit(issuer)
    base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    path = parts.path.rstrip("/")
    if not path:
        return [
            base + "/.well-known/oauth-authorization-server",
            base + "/.well-known/openid-configuration",
        ]
    return [
        base + "/.well-known/oauth-authorization-server" + path,
        base + "/.well-known/openid-configuration" + path,
        base + path + "/.well-known/openid-configuration",
    ]


def legacy_endpoints(server_url: str) -> dict[str, str]:
    """The 2025-03-26 defaults for a server without metadata: ``/authorize``, ``/token``
    and ``/register`` at the MCP server's origin."""
    parts = urlsplit(server_url)
    base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return {
        "issuer": base,
        "authorization_endpoint": base + "/authorize",
        "token_endpoint": base + "/token",
        "registration_endpoint": base + "/register",
    }


def _string_list(value: Any) -> Optional[list[str]]:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return list(value)


@dataclass(frozen=True)
class ProtectedResourceMetadata:
    """RFC 9728 metadata of the MCP server as a protected resource."""

    resource: Optional[str]
    authorization_servers: list[str]
    scopes_supported: Optional[list[str]] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any, *, url: str) -> ProtectedResourceMetadata:
        """Validate a metadata document fetched from ``url``."""
        if not isinstance(data, dict):
            raise MetadataDiscoveryError("the protected resource metadata is not a JSON object")
        servers = _string_list(data.get("authorization_servers"))
        if not servers:
            raise MetadataDiscoveryError(
                "the protected resource metadata names no authorization_servers"
            )
        resource = data.get("resource")
        if resource is not None and not isinstance(resource, str):
            raise MetadataDiscoveryError("the protected resource metadata has a bad resource")
        return cls(
            resource=resource,
            authorization_servers=servers,
            scopes_supported=_string_list(data.get("scopes_supported")),
            raw=data,
        )


@dataclass(frozen=True)
class AuthorizationServerMetadata:
    """RFC 8414 (or OpenID Connect) metadata of an authorization server, checked."""

    issuer: str
    authorization_endpoint: Optional[str]
    token_endpoint: str
    registration_endpoint: Optional[str] = None
    scopes_supported: Optional[list[str]] = None
    grant_types_supported: Optional[list[str]] = None
    code_challenge_methods_supported: Optional[list[str]] = None
    token_endpoint_auth_methods_supported: Optional[list[str]] = None
    client_id_metadata_document_supported: bool = False
    authorization_response_iss_parameter_supported: bool = False
    dpop_signing_alg_values_supported: Optional[list[str]] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        expected_issuer: Optional[str],
        legacy: bool = False,
        loopback_http: bool = True,
    ) -> AuthorizationServerMetadata:
        """Validate metadata; ``expected_issuer`` is the issuer the well-known URL was built from.

        The issuer must be identical to it (RFC 8414 section 3.3, MCP 2026-07-28);
        every endpoint must be HTTPS or loopback HTTP.
        """
        if not isinstance(data, dict):
            raise MetadataDiscoveryError("the authorization server metadata is not a JSON object")
        issuer = data.get("issuer")
        if not isinstance(issuer, str) or not issuer:
            if not legacy:
                raise MetadataDiscoveryError("the authorization server metadata has no issuer")
            issuer = expected_issuer or ""
        if expected_issuer is not None and issuer != expected_issuer:
            raise MetadataDiscoveryError(
                "the authorization server metadata names another issuer than the one "
                "it was fetched for, so it is not used"
            )
        token_endpoint = require_secure_url(
            data.get("token_endpoint"), "token endpoint", loopback_http
        )
        authorization_endpoint = data.get("authorization_endpoint")
        if authorization_endpoint is not None:
            require_secure_url(authorization_endpoint, "authorization endpoint", loopback_http)
        registration_endpoint = data.get("registration_endpoint")
        if registration_endpoint is not None:
            require_secure_url(registration_endpoint, "registration endpoint", loopback_http)
        return cls(
            issuer=issuer,
            authorization_endpoint=authorization_endpoint,
            token_endpoint=token_endpoint,
            registration_endpoint=registration_endpoint,
            scopes_supported=_string_list(data.get("scopes_supported")),
            grant_types_supported=_string_list(data.get("grant_types_supported")),
            code_challenge_methods_supported=_string_list(
                data.get("code_challenge_methods_supported")
            ),
            token_endpoint_auth_methods_supported=_string_list(
                data.get("token_endpoint_auth_methods_supported")
            ),
            client_id_metadata_document_supported=data.get("client_id_metadata_document_supported")
            is True,
            authorization_response_iss_parameter_supported=data.get(
                "authorization_response_iss_parameter_supported"
            )
            is True,
            dpop_signing_alg_values_supported=_string_list(
                data.get("dpop_signing_alg_values_supported")
            ),
            raw=data,
        )
