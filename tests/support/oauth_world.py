"""A scripted OAuth world for `responses`: an MCP server, its metadata, authorization servers.

One `responses` callback answers every URL and records each request in ``world.log``
(in order), so a test can assert which metadata URLs were tried, and in which order.

- ``MCP_URL`` is the protected MCP endpoint. Without a valid token it answers 401
  with ``world.challenge`` (``world.invalid_token_challenge`` when a token was sent);
  with one, it answers 200 (a minimal JSON-RPC server for JSON-RPC bodies, else
  ``{"ok": true}``), or 403 ``insufficient_scope`` when the token lacks
  ``world.required_scope``. ``world.mcp_script`` queues raw answers that come first.
- ``world.documents`` maps metadata URLs to the JSON they serve; every other GET is 404.
- Each :class:`AuthServer` has a registration and a token endpoint; its token endpoint
  checks PKCE against the authorization request the redirect handler saw, and issues
  unique tokens. ``auth_server.token_script`` queues raw answers that come first.
- ``world.handler`` is the headless redirect handler: it records the authorization
  request and returns ``redirect_uri?code=...&state=...&iss=...``.

Callbacks run on whichever thread sends the request; all state is guarded by one lock.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

MCP_ORIGIN = "https://mcp.example.com"
MCP_URL = MCP_ORIGIN + "/mcp"
PRM_PATH_URL = MCP_ORIGIN + "/.well-known/oauth-protected-resource/mcp"
PRM_ROOT_URL = MCP_ORIGIN + "/.well-known/oauth-protected-resource"
ISSUER = "https://auth.example.com"
AS_METADATA_URL = ISSUER + "/.well-known/oauth-authorization-server"
OIDC_METADATA_URL = ISSUER + "/.well-known/openid-configuration"
REDIRECT_URI = "http://127.0.0.1:8976/callback"
OTHER_URL = "https://other.example.com/page"

Answer = tuple[int, dict[str, str], Union[str, bytes]]


def json_answer(body: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def unverified_claims(token: str) -> dict[str, Any]:
    import jwt  # PyJWT, the optional extra: only DPoP tests need it

    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


@dataclass
class Seen:
    """One request a fake server received."""

    method: str
    url: str
    headers: CaseInsensitiveDict
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    @property
    def path_url(self) -> str:
        """The URL without its query."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    @property
    def authorization(self) -> Optional[str]:
        return self.headers.get("Authorization")

    @property
    def basic(self) -> Optional[tuple[str, str]]:
        """The (client_id, secret) of an HTTP Basic Authorization header."""
        value = self.authorization or ""
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        return unquote(user), unquote(password)

    @property
    def dpop_claims(self) -> Optional[dict[str, Any]]:
        proof = self.headers.get("DPoP")
        return unverified_claims(proof) if proof else None


@dataclass
class Issued:
    """A token an authorization server issued."""

    access_token: str
    scope: Optional[str]
    bound: bool
    issuer: str
    refresh_token: Optional[str] = None


@dataclass
class AuthServer:
    """A fake authorization server: metadata, dynamic registration and a token endpoint."""

    world: World
    issuer: str
    prefix: str
    metadata: dict[str, Any] = field(default_factory=dict)
    registrations: list[Seen] = field(default_factory=list)
    token_requests: list[Seen] = field(default_factory=list)
    #: Raw answers (or callables taking the Seen) the token endpoint gives first.
    token_script: list[Any] = field(default_factory=list)
    #: Replaces the registration answer (a callable taking the Seen, or an Answer).
    registration_answer: Any = None
    #: Merged into each successful registration answer.
    registration_extra: dict[str, Any] = field(default_factory=dict)
    issue_refresh_tokens: bool = True
    refuse_refresh: bool = False
    expires_in: Optional[int] = 3600
    #: Issue DPoP-bound tokens when the token request carries a proof.
    bind_dpop: bool = True
    #: Require this DPoP nonce in token request proofs (400 use_dpop_nonce otherwise).
    dpop_nonce: Optional[str] = None
    #: The scope granted, whatever was asked (None: what was asked).
    grant_scope: Optional[str] = None
    send_iss: bool = True

    def __post_init__(self) -> None:
        issuer = self.issuer
        self.metadata.update(
            {
                "issuer": issuer,
                "authorization_endpoint": issuer + "/authorize",
                "token_endpoint": issuer + "/token",
                "registration_endpoint": issuer + "/register",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "none",
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )
        self._counter = itertools.count(1)
        self.codes: dict[str, dict[str, str]] = {}
        self.refresh_tokens: dict[str, Issued] = {}

    @property
    def token_url(self) -> str:
        return self.issuer + "/token"

    @property
    def register_url(self) -> str:
        return self.issuer + "/register"

    @property
    def authorize_url(self) -> str:
        return self.issuer + "/authorize"

    def issue(self, seen: Seen, scope: Optional[str]) -> Answer:
        n = next(self._counter)
        bound = self.bind_dpop and "DPoP" in seen.headers
        token = Issued(
            access_token=f"{self.prefix}-access-{n}-{hashlib.sha1(seen.body).hexdigest()[:8]}",
            scope=self.grant_scope if self.grant_scope is not None else scope,
            bound=bound,
            issuer=self.issuer,
        )
        answer: dict[str, Any] = {
            "access_token": token.access_token,
            "token_type": "DPoP" if bound else "Bearer",
        }
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        if self.issue_refresh_tokens:
            token.refresh_token = f"{self.prefix}-refresh-{n}"
            answer["refresh_token"] = token.refresh_token
            self.refresh_tokens[token.refresh_token] = token
        if token.scope:
            answer["scope"] = token.scope
        self.world.valid[token.access_token] = token
        return json_answer(answer)

    def on_register(self, seen: Seen) -> Answer:
        self.registrations.append(seen)
        if self.registration_answer is not None:
            answer = self.registration_answer
            return answer(seen) if callable(answer) else answer
        n = len(self.registrations)
        body = {"client_id": f"{self.prefix}-client-{n}", **seen.json, **self.registration_extra}
        return json_answer(body, 201)

    def on_token(self, seen: Seen) -> Answer:
        self.token_requests.append(seen)
        if self.token_script:
            answer = self.token_script.pop(0)
            return answer(seen) if callable(answer) else answer
        return self.token_answer(seen)

    def token_answer(self, seen: Seen) -> Answer:
        """What the token endpoint answers when nothing is scripted."""
        if self.dpop_nonce is not None:
            claims = seen.dpop_claims or {}
            if claims.get("nonce") != self.dpop_nonce:
                return json_answer(
                    {"error": "use_dpop_nonce"}, 400, {"DPoP-Nonce": self.dpop_nonce}
                )
        form = seen.form
        grant = form.get("grant_type")
        if grant == "authorization_code":
            request = self.codes.pop(form.get("code", ""), None)
            if (
                request is None
                or s256(form.get("code_verifier", "")) != request["code_challenge"]
                or form.get("redirect_uri") != request["redirect_uri"]
            ):
                return json_answer({"error": "invalid_grant"}, 400)
            return self.issue(seen, request.get("scope"))
        if grant == "refresh_token":
            previous = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if previous is None or self.refuse_refresh:
                return json_answer({"error": "invalid_grant"}, 400)
            return self.issue(seen, previous.scope)
        return self.issue(seen, form.get("scope"))


class World:
    """Every fake server of a test, behind one `responses` callback."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.log: list[Seen] = []
        self.valid: dict[str, Issued] = {}
        self.auth = AuthServer(self, ISSUER, "as1")
        self.auth_servers: dict[str, AuthServer] = {ISSUER: self.auth}
        self.prm: dict[str, Any] = {
            "resource": MCP_URL,
            "authorization_servers": [ISSUER],
        }
        self.documents: dict[str, Any] = {
            PRM_PATH_URL: self.prm,
            AS_METADATA_URL: self.auth.metadata,
        }
        self.challenge = f'Bearer resource_metadata="{PRM_PATH_URL}"'
        self.invalid_token_challenge = (
            f'Bearer error="invalid_token", resource_metadata="{PRM_PATH_URL}"'
        )
        self.required_scope: Optional[str] = None
        #: The scope the 403 insufficient_scope challenge names (default: required_scope).
        self.step_up_scope: Optional[str] = None
        #: False: every token is refused with 401, as a server that rejects them all.
        self.accept_tokens = True
        #: The answer of other.example.com.
        self.other_answer: Answer = (200, {}, "other")
        self.mcp_script: list[Any] = []
        #: Called with each 401 before it is answered (to line up threads).
        self.before_401: Optional[Callable[[], None]] = None
        #: With a DPoP-bound token, require this nonce in the resource request's proof.
        self.rs_dpop_nonce: Optional[str] = None
        #: Sent as DPoP-Nonce on every successful MCP answer.
        self.rs_nonce_on_success: Optional[str] = None
        self.authorization_requests: list[dict[str, str]] = []
        #: Builds the redirect back from (query of the authorization request, default URL).
        self.callback: Optional[Callable[[dict[str, str], str], str]] = None
        self.before_redirect: Optional[Callable[[], None]] = None

    # -- set-up helpers ---------------------------------------------------------------

    def add_auth_server(self, issuer: str, prefix: str) -> AuthServer:
        server = AuthServer(self, issuer, prefix)
        self.auth_servers[issuer] = server
        parts = urlsplit(issuer)
        base = f"{parts.scheme}://{parts.netloc}"
        path = parts.path.rstrip("/")
        self.documents[base + "/.well-known/oauth-authorization-server" + path] = server.metadata
        return server

    # -- queries ---------------------------------------------------------------------

    def requests_to(self, url: str, method: Optional[str] = None) -> list[Seen]:
        with self.lock:
            return [
                s for s in self.log if s.path_url == url and (method is None or s.method == method)
            ]

    def urls(self, method: str = "GET") -> list[str]:
        with self.lock:
            return [s.path_url for s in self.log if s.method == method]

    def mcp_requests(self) -> list[Seen]:
        return self.requests_to(MCP_URL)

    def all_token_requests(self) -> list[Seen]:
        return [s for a in self.auth_servers.values() for s in a.token_requests]

    def all_registrations(self) -> list[Seen]:
        return [s for a in self.auth_servers.values() for s in a.registrations]

    def secrets(self) -> list[str]:
        """Every token value issued so far, and the codes handed out."""
        values = []
        for issued in self.valid.values():
            values.append(issued.access_token)
            if issued.refresh_token:
                values.append(issued.refresh_token)
        return values

    # -- the redirect handler ---------------------------------------------------------

    def handler(self, url: str) -> str:
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        with self.lock:
            self.authorization_requests.append(query)
            server = next(
                (
                    a
                    for a in self.auth_servers.values()
                    if url.startswith(str(a.metadata.get("authorization_endpoint")) + "?")
                ),
                None,
            )
            if server is None:  # 2025-03-26 default endpoints at the MCP server's origin
                server = self.auth
            code = f"code-{server.prefix}-{len(self.authorization_requests)}"
            server.codes[code] = query
        if self.before_redirect is not None:
            self.before_redirect()
        answer = {"code": code, "state": query.get("state", "")}
        if server.send_iss:
            answer["iss"] = server.issuer
        default = f"{query['redirect_uri']}?{urlencode(answer)}"
        if self.callback is not None:
            return self.callback(query, default)
        return default

    # -- the MCP server ---------------------------------------------------------------

    def _mcp(self, seen: Seen) -> Answer:
        with self.lock:
            scripted = self.mcp_script.pop(0) if self.mcp_script else None
        if scripted is not None:
            return scripted(seen) if callable(scripted) else scripted
        scheme, _, value = (seen.authorization or "").partition(" ")
        issued = self.valid.get(value) if value and self.accept_tokens else None
        if issued is not None and issued.bound:
            proof = seen.dpop_claims
            if scheme != "DPoP" or proof is None:
                issued = None
            elif self.rs_dpop_nonce is not None and proof.get("nonce") != self.rs_dpop_nonce:
                return (
                    401,
                    {
                        "WWW-Authenticate": 'DPoP error="use_dpop_nonce", algs="ES256"',
                        "DPoP-Nonce": self.rs_dpop_nonce,
                    },
                    "",
                )
        elif issued is not None and scheme != "Bearer":
            issued = None
        if issued is None:
            if self.before_401 is not None:
                self.before_401()
            challenge = self.invalid_token_challenge if value else self.challenge
            headers = {"WWW-Authenticate": challenge} if challenge is not None else {}
            return 401, headers, ""
        if self.required_scope:
            granted = set((issued.scope or "").split())
            if not set(self.required_scope.split()) <= granted:
                header = (
                    'Bearer error="insufficient_scope", '
                    f'scope="{self.step_up_scope or self.required_scope}", '
                    f'resource_metadata="{PRM_PATH_URL}"'
                )
                return 403, {"WWW-Authenticate": header}, ""
        headers = {}
        if self.rs_nonce_on_success is not None:
            headers["DPoP-Nonce"] = self.rs_nonce_on_success
        return self._mcp_answer(seen, headers)

    def _mcp_answer(self, seen: Seen, headers: dict[str, str]) -> Answer:
        if seen.method == "GET":
            if "text/event-stream" in seen.headers.get("Accept", ""):
                return 405, headers, ""
            return json_answer({"ok": True}, headers=headers)
        if seen.method == "DELETE":
            return 200, headers, ""
        try:
            message = json.loads(seen.body) if seen.body else None
        except ValueError:
            message = None
        if not isinstance(message, dict) or "method" not in message:
            return json_answer({"ok": True}, headers=headers)
        if "id" not in message:
            return 202, headers, ""
        results = {
            "initialize": {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "oauth-test-server", "version": "1.0"},
            },
            "ping": {},
            "tools/list": {"tools": []},
        }
        method = message["method"]
        if method in results:
            reply = {"jsonrpc": "2.0", "id": message["id"], "result": results[method]}
        else:
            reply = {
                "jsonrpc": "2.0",
                "id": message["id"],
                "error": {"code": -32601, "message": "Method not found"},
            }
        return json_answer(reply, headers=headers)

    # -- the one callback ------------------------------------------------------------

    def on_request(self, request: requests.PreparedRequest) -> Answer:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        seen = Seen(
            request.method or "", request.url or "", CaseInsensitiveDict(request.headers), body
        )
        with self.lock:
            self.log.append(seen)
        url = seen.path_url
        if url == MCP_URL:
            return self._mcp(seen)
        if urlsplit(url).netloc == "other.example.com":
            return self.other_answer
        for server in list(self.auth_servers.values()):
            if seen.method == "POST" and url == server.metadata.get("token_endpoint"):
                with self.lock:
                    return server.on_token(seen)
            if seen.method == "POST" and url == server.metadata.get("registration_endpoint"):
                with self.lock:
                    return server.on_register(seen)
        if seen.method == "GET":
            document = self.documents.get(seen.url, self.documents.get(url))
            if document is None:
                return 404, {}, "not found"
            if callable(document):
                return document(seen)
            if isinstance(document, tuple):
                return document
            return json_answer(document)
        return 404, {}, "not found"
