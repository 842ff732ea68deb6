"""JWT signing for OAuth extensions: ``private_key_jwt`` client assertions and DPoP proofs.

Needs the optional extra ``mcp_sync[jwt]`` (PyJWT with cryptography). Importing this module
does not import either; the first call that needs them raises ``ImportError`` if they are
missing. Private key material never appears in a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    _PrivateKey = Union[EllipticCurvePrivateKey, RSAPrivateKey, Ed25519PrivateKey, Ed448PrivateKey]

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "DPoPKey",
    "SigningKey",
    "client_assertion",
    "dpop_algs_supported",
    "jwk_thumbprint",
]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` form value that goes with :func:`client_assertion`."""

_MISSING = "mcp_sync.oauth.jwt needs PyJWT with cryptography: pip install 'mcp_sync[jwt]'"

_RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
# JWA (RFC 7518 section 3.4) ties each ES algorithm to exactly one curve.
_EC_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_EC_CRV = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_GENERATE_ALGS = ("ES256", "ES384", "ES512", *_RSA_ALGS, "EdDSA")
# RFC 7518 section 3.3: RSA keys for JWS MUST be 2048 bits or larger.
_MIN_RSA_BITS = 2048

# RFC 7638 section 3.2: the members that make up a key's thumbprint, per key type.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}

# RFC 9110 section 5.6.2: a method is a token.
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _require() -> None:
    """Raise the install hint unless PyJWT and cryptography can both be imported."""
    try:
        import cryptography  # noqa: F401
        import jwt.algorithms
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    # PyJWT imports without cryptography and then just lacks the asymmetric algorithms.
    if not getattr(jwt.algorithms, "has_crypto", False):
        raise ImportError(_MISSING)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _inspect(key: object) -> tuple[_PrivateKey, tuple[str, ...], dict[str, str]]:
    """``key`` itself, the algorithms it may sign with (default first) and its public JWK.

    Raises ``ValueError`` for public keys, unsupported key types and weak RSA keys.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        name = key.curve.name
        if name not in _EC_ALGS:
            raise ValueError(f"unsupported elliptic curve {name!r}; use P-256, P-384 or P-521")
        numbers = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        members = {
            "kty": "EC",
            "crv": _EC_CRV[name],
            "x": _b64url(numbers.x.to_bytes(size, "big")),
            "y": _b64url(numbers.y.to_bytes(size, "big")),
        }
        return key, (_EC_ALGS[name],), members
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < _MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {_MIN_RSA_BITS} bits")
        pub = key.public_key().public_numbers()
        return key, _RSA_ALGS, {"kty": "RSA", "n": _b64url_uint(pub.n), "e": _b64url_uint(pub.e)}
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        crv = "Ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "Ed448"
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return key, ("EdDSA",), {"kty": "OKP", "crv": crv, "x": _b64url(raw)}
    public_types = (
        ec.EllipticCurvePublicKey,
        rsa.RSAPublicKey,
        ed25519.Ed25519PublicKey,
        ed448.Ed448PublicKey,
    )
    if isinstance(key, public_types):
        raise ValueError("a SigningKey needs a private key, not a public key")
    raise ValueError(
        f"unsupported key type {type(key).__name__}; "
        "use an EC (P-256, P-384, P-521), RSA or Ed25519/Ed448 private key"
    )


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``jwk``, base64url without padding.

    Only the required public members count, so a private JWK has the same thumbprint as its
    public half. Raises ``ValueError`` for an unknown ``kty`` or a missing member.
    """
    kty = jwk.get("kty")
    names = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if names is None:
        raise ValueError("the JWK has no supported 'kty' (EC, RSA, OKP or oct)")
    members: dict[str, str] = {}
    for name in names:
        value = jwk.get(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"the JWK lacks the string member {name!r}")
        members[name] = value
    # Sorted keys and no whitespace are the canonical form RFC 7638 section 3 asks for.
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


class SigningKey:
    """A private key with the JWS algorithm it signs with and an optional key id (``kid``).

    ``SigningKey(private_key, alg=None, kid=None)`` takes a ``cryptography`` private key: EC on
    P-256/P-384/P-521, RSA of 2048 bits or more, Ed25519 or Ed448. With ``alg=None`` the
    algorithm follows from the key (ES256/ES384/ES512, RS256, EdDSA). Raises ``ValueError``
    for an unsuitable key or an algorithm that does not fit it. Immutable and thread-safe.
    """

    __slots__ = ("_alg", "_key", "_kid", "_members")

    def __init__(
        self, private_key: _PrivateKey, alg: Optional[str] = None, kid: Optional[str] = None
    ) -> None:
        _require()
        checked, algs, members = _inspect(private_key)
        if alg is None:
            alg = algs[0]
        elif alg not in algs:
            raise ValueError(
                f"alg {alg!r} does not fit a {members['kty']} key; use one of {', '.join(algs)}"
            )
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise ValueError("kid must be a non-empty string")
        self._key = checked
        self._alg = alg
        self._kid = kid
        self._members = members

    @classmethod
    def from_pem(
        cls,
        pem: Union[str, bytes],
        alg: Optional[str] = None,
        kid: Optional[str] = None,
        password: Optional[bytes] = None,
    ) -> SigningKey:
        """Load a PEM private key (PKCS#8, PKCS#1 or SEC1), decrypting it with ``password``.

        Raises ``ValueError`` if the PEM is not a private key or the password is wrong/missing.
        """
        _require()
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            key = load_pem_private_key(data, password=password)
        # cryptography raises TypeError for a missing or superfluous password.
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ValueError(
                "could not load the PEM private key (not a private key, or wrong password)"
            ) from exc
        # _inspect narrows the loaded key to a supported private key, or raises ValueError.
        return cls(_inspect(key)[0], alg=alg, kid=kid)

    @classmethod
    def from_jwk(cls, jwk: Union[Mapping[str, Any], str], alg: Optional[str] = None) -> SigningKey:
        """Load a private JWK (one with ``"d"``), as a mapping or a JSON string.

        ``alg`` defaults to the JWK's ``"alg"``, else follows from the key; ``kid`` comes from
        the JWK's ``"kid"``. Raises ``ValueError`` for a public, symmetric or malformed JWK.
        """
        _require()
        from cryptography.exceptions import UnsupportedAlgorithm
        from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
        from jwt.exceptions import PyJWTError

        if isinstance(jwk, str):
            try:
                parsed = json.loads(jwk)
            except ValueError:
                # from None: a JSONDecodeError carries the whole document, the private key.
                raise ValueError("the JWK is not valid JSON") from None
        else:
            parsed = jwk
        if not isinstance(parsed, Mapping):
            raise ValueError("a JWK must be a JSON object")
        data = dict(parsed)
        if "d" not in data:
            raise ValueError("the JWK has no private key ('d')")
        kty = data.get("kty")
        if kty not in ("EC", "RSA", "OKP"):
            raise ValueError("the JWK's 'kty' must be EC, RSA or OKP")
        key: object
        try:
            if kty == "EC":
                key = ECAlgorithm.from_jwk(data)
            elif kty == "RSA":
                key = RSAAlgorithm.from_jwk(data)
            else:
                key = OKPAlgorithm.from_jwk(data)
        except (PyJWTError, ValueError, TypeError, KeyError, UnsupportedAlgorithm) as exc:
            raise ValueError("the JWK is not a usable private key") from exc
        if alg is None and isinstance(data.get("alg"), str):
            alg = data["alg"]
        kid = data.get("kid")
        return cls(_inspect(key)[0], alg=alg, kid=kid if isinstance(kid, str) and kid else None)

    @classmethod
    def generate(cls, alg: str = "ES256", kid: Optional[str] = None) -> SigningKey:
        """A fresh key for ``alg``: ES256/ES384/ES512, RS*/PS* (RSA 2048) or EdDSA (Ed25519)."""
        _require()
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        key: _PrivateKey
        if alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        elif alg == "ES384":
            key = ec.generate_private_key(ec.SECP384R1())
        elif alg == "ES512":
            key = ec.generate_private_key(ec.SECP521R1())
        elif alg in _RSA_ALGS:
            key = rsa.generate_private_key(public_exponent=65537, key_size=_MIN_RSA_BITS)
        elif alg == "EdDSA":
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(
                f"cannot generate a key for alg {alg!r}; use one of {', '.join(_GENERATE_ALGS)}"
            )
        return cls(key, alg=alg, kid=kid)

    @property
    def alg(self) -> str:
        """The JWS ``alg`` this key signs with."""
        return self._alg

    @property
    def kid(self) -> Optional[str]:
        """The key id put into each JWS header, or ``None``."""
        return self._kid

    def sign(self, claims: Mapping[str, Any], headers: Optional[Mapping[str, Any]] = None) -> str:
        """A compact JWS of ``claims``; the header gets ``alg``, ``kid`` (if set) and ``headers``.

        Raises ``ValueError`` if ``headers`` names another ``alg``.
        """
        merged: dict[str, Any] = {} if self._kid is None else {"kid": self._kid}
        merged.update(headers or {})
        return self._encode(claims, merged)

    def _encode(self, claims: Mapping[str, Any], headers: Mapping[str, Any]) -> str:
        _require()
        import jwt

        # PyJWT lets a header "alg" override the algorithm argument; never sign with another.
        if headers.get("alg", self._alg) != self._alg:
            raise ValueError(f"headers must not change the alg from {self._alg!r}")
        token: str = jwt.encode(dict(claims), self._key, algorithm=self._alg, headers=dict(headers))
        return token

    def public_jwk(self) -> dict[str, str]:
        """The public JWK: ``kty`` with ``crv``/``x``/``y`` or ``n``/``e``, plus ``alg`` and ``kid``.

        Never contains private members (``d``, ``p``, ``q``, ...). A new dict on each call.
        """
        jwk = dict(self._members)
        jwk["alg"] = self._alg
        if self._kid is not None:
            jwk["kid"] = self._kid
        return jwk

    def thumbprint(self) -> str:
        """The RFC 7638 SHA-256 thumbprint of the public key (DPoP's ``jkt``)."""
        return jwk_thumbprint(self._members)

    def private_pem(self) -> str:
        """The private key as an unencrypted PKCS #8 PEM, for a token storage to keep.

        It is a secret: keep it where the tokens are kept, and nowhere else.
        """
        from cryptography.hazmat.primitives import serialization

        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def _required_jwk(self) -> dict[str, str]:
        # Just the key itself: DPoP's "jwk" header needs neither alg (it is in the header)
        # nor kid.
        return dict(self._members)

    def __repr__(self) -> str:
        return f"SigningKey(alg={self._alg!r}, kid={self._kid!r})"


def client_assertion(
    key: SigningKey,
    *,
    client_id: str,
    audience: str,
    lifetime: float = 300,
    now: Optional[float] = None,
) -> str:
    """A ``private_key_jwt`` client assertion (RFC 7523 section 2.2, OIDC Core section 9).

    Claims: ``iss`` = ``sub`` = ``client_id``, ``aud`` = ``audience`` (the token endpoint or
    issuer), ``iat``, ``exp`` = ``iat`` + ``lifetime`` seconds and a random ``jti``; header
    ``typ: JWT``. Send it as ``client_assertion`` with :data:`CLIENT_ASSERTION_TYPE`.
    """
    if not isinstance(client_id, str) or not client_id:
        raise ValueError("client_id must be a non-empty string")
    if not isinstance(audience, str) or not audience:
        raise ValueError("audience must be a non-empty string")
    if not (lifetime > 0 and math.isfinite(lifetime)):
        raise ValueError("lifetime must be a positive number of seconds")
    iat = int(time.time() if now is None else now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": iat,
        # ceil: a sub-second lifetime still yields exp > iat.
        "exp": iat + math.ceil(lifetime),
        # 128 random bits, so the server's replay check never sees a collision.
        "jti": secrets.token_urlsafe(16),
    }
    return key.sign(claims, {"typ": "JWT"})


def _htu(url: str) -> str:
    """``url`` without query, fragment and userinfo; scheme and host lowercased (RFC 9449 4.2)."""
    parts = urlsplit(url)
    # Userinfo is not part of an HTTP target URI, and a password must not end up in a proof.
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError("the DPoP target must be an absolute http(s) URL")
    return urlunsplit((parts.scheme.lower(), host.lower(), parts.path, "", ""))


class DPoPKey:
    """A DPoP key pair (RFC 9449) that makes proof JWTs; a fresh ES256 key by default.

    Holds no state but the key, so one instance serves any number of threads.
    """

    __slots__ = ("_jwk", "_key")

    def __init__(self, key: Optional[SigningKey] = None) -> None:
        self._key = SigningKey.generate("ES256") if key is None else key
        self._jwk = self._key._required_jwk()

    @property
    def key(self) -> SigningKey:
        """The signing key."""
        return self._key

    @property
    def alg(self) -> str:
        """The JWS ``alg`` of the proofs."""
        return self._key.alg

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: Optional[str] = None,
        nonce: Optional[str] = None,
        now: Optional[float] = None,
    ) -> str:
        """A DPoP proof for one request: the value of its ``DPoP`` header.

        Header ``typ: dpop+jwt``, ``alg`` and the public ``jwk``; claims ``jti``, ``htm``
        (uppercased), ``htu`` (``url`` without query and fragment), ``iat``, plus ``ath``
        (hash of ``access_token``) and ``nonce`` when given. Raises ``ValueError`` for a
        malformed method, URL or non-ASCII token.
        """
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            raise ValueError("the HTTP method must be a non-empty token")
        claims: dict[str, Any] = {
            # 128 random bits: servers reject a jti they have seen before.
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": _htu(url),
            "iat": int(time.time() if now is None else now),
        }
        if access_token is not None:
            try:
                raw = access_token.encode("ascii")
            except UnicodeEncodeError:
                raise ValueError("the access token must be ASCII") from None
            # RFC 9449 section 4.2: base64url of the SHA-256 of the token's ASCII bytes.
            claims["ath"] = _b64url(hashlib.sha256(raw).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": "dpop+jwt", "alg": self._key.alg, "jwk": dict(self._jwk)}
        return self._key._encode(claims, headers)

    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint of the public key: the ``dpop_jkt`` / ``cnf.jkt`` value."""
        return self._key.thumbprint()

    def __repr__(self) -> str:
        return f"DPoPKey(alg={self._key.alg!r})"


def dpop_algs_supported(key_alg: str, advertised: Optional[Iterable[object]]) -> bool:
    """Whether a server that advertises ``advertised`` accepts DPoP proofs signed with ``key_alg``.

    ``advertised`` is ``dpop_signing_alg_values_supported`` from server metadata: ``None``
    (not advertised) accepts anything; an empty list or one with only ``"none"`` accepts nothing.
    """
    if key_alg == "none":
        return False
    if advertised is None:
        return True
    # A bare string where the metadata should have an array counts as a one-element list,
    # rather than as a sequence of characters.
    values: list[object] = [advertised] if isinstance(advertised, str) else list(advertised)
    return key_alg in values
