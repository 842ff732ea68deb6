"""The mcp_sync exception tree.

Every exception mcp_sync raises derives from :class:`MCPSyncError`. Each class
name says what went wrong, and each instance carries what a caller needs to act
on it (a JSON-RPC code, an HTTP status, a short excerpt of the body) and never a
secret such as a token or a session id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

__all__ = [
    "AuthorizationDenied",
    "AuthorizationError",
    "AuthorizationRequired",
    "AuthorizationTimeout",
    "CapabilityNotSupported",
    "ClientClosedError",
    "ClientStateError",
    "ConnectError",
    "HTTPStatusError",
    "InsecureEndpointError",
    "InsufficientScopeError",
    "InvalidAuthorizationResponse",
    "MCPError",
    "MCPSyncError",
    "MessageTooLarge",
    "MetadataDiscoveryError",
    "MissingHandlerError",
    "ProtocolError",
    "RegistrationError",
    "RequestCancelled",
    "RequestTimeout",
    "SessionExpiredError",
    "TokenRequestError",
    "TransportError",
    "UnsupportedProtocolVersion",
    "excerpt",
]

#: How many characters of a server's body an exception keeps.
EXCERPT_LENGTH = 200


def excerpt(body: Any, limit: int = EXCERPT_LENGTH, hide: Sequence[str] = ()) -> str:
    """Return a short, printable excerpt of ``body`` (bytes or str) for error messages.

    Each string in ``hide`` (a token the server echoed, say) is replaced by ``<redacted>``.
    """
    if body is None:
        return ""
    if isinstance(body, (bytes, bytearray, memoryview)):
        text = bytes(body[: limit * 4]).decode("utf-8", "replace")
    else:
        text = str(body)
    for secret in hide:
        text = text.replace(secret, "<redacted>")
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "..."


class MCPSyncError(Exception):
    """Base class of every exception raised by mcp_sync."""


class ClientStateError(MCPSyncError):
    """The client is not in a state that allows the operation (for example, not connected)."""


class ClientClosedError(ClientStateError):
    """The client was closed; create a new one to talk to the server again."""


class MCPError(MCPSyncError):
    """The server answered a request with a JSON-RPC error.

    ``code``, ``message`` and ``data`` are the fields of the error object.
    """

    def __init__(self, code: int, message: str, data: Any = None, *, method: Optional[str] = None):
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        where = f" (to {method})" if method else ""
        super().__init__(f"server error {code}{where}: {message}")


class TransportError(MCPSyncError):
    """The message could not be carried: a connection failed, or a stream broke.

    ``permanent`` is true when trying again cannot help (a certificate that fails
    verification, a redirect to another origin): such errors are not retried.
    """

    permanent: bool = False


class ConnectError(TransportError):
    """No connection to the server could be made (refused, unreachable, no such host,
    connecting timed out): the request cannot have reached it."""


class HTTPStatusError(TransportError):
    """The server answered with an HTTP status mcp_sync cannot use.

    ``status`` is the HTTP status code and ``body_excerpt`` the start of the body;
    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self,
        status: int,
        body_excerpt: str = "",
        *,
        method: Optional[str] = None,
        retry_after: Optional[float] = None,
    ):
        self.status = status
        self.body_excerpt = body_excerpt
        self.method = method
        self.retry_after = retry_after
        where = f" to {method}" if method else ""
        tail = f": {body_excerpt}" if body_excerpt else ""
        super().__init__(f"HTTP {status}{where}{tail}")


class SessionExpiredError(TransportError):
    """The server forgot the session, and starting a new one did not help.

    mcp_sync re-initializes once on its own when a session expires; this is raised
    only when the request fails again on the fresh session, or when recovery was
    turned off.
    """

    def __init__(self, message: str, *, status: Optional[int] = None, body_excerpt: str = ""):
        self.status = status
        self.body_excerpt = body_excerpt
        super().__init__(message)


class RequestTimeout(MCPSyncError, TimeoutError):
    """No response arrived in time; mcp_sync told the server it cancelled the request."""

    def __init__(self, method: str, timeout: float):
        self.method = method
        self.timeout = timeout
        super().__init__(f"{method} got no response within {timeout:g} s")


class RequestCancelled(MCPSyncError):
    """The request was cancelled through its :class:`~mcp_sync.CancelToken`."""

    def __init__(self, method: str, reason: Optional[str] = None):
        self.method = method
        self.reason = reason
        super().__init__(f"{method} was cancelled" + (f": {reason}" if reason else ""))


class ProtocolError(MCPSyncError):
    """The server broke the protocol: malformed JSON, a malformed stream, a wrong message shape."""

    def __init__(self, message: str, *, body_excerpt: str = ""):
        self.body_excerpt = body_excerpt
        super().__init__(message + (f": {body_excerpt}" if body_excerpt else ""))


class MessageTooLarge(ProtocolError):
    """A message from the server is larger than the client's ``max_message_size``.

    ``limit`` is that size in bytes. The message is not read further; the client stays
    usable.
    """

    def __init__(self, limit: int, what: str = "a message"):
        self.limit = limit
        super().__init__(f"{what} from the server is over max_message_size ({limit} bytes)")


class UnsupportedProtocolVersion(ProtocolError):
    """The server chose a protocol version this client does not speak.

    ``version`` is what the server proposed; ``supported`` lists what mcp_sync speaks.
    """

    def __init__(self, version: Any, supported: tuple[str, ...]):
        self.version = version
        self.supported = supported
        super().__init__(
            f"server chose protocol version {version!r}; mcp_sync speaks {', '.join(supported)}"
        )


class CapabilityNotSupported(MCPSyncError):
    """The server did not declare the capability this call needs, so it was not sent."""

    def __init__(self, capability: str, method: str):
        self.capability = capability
        self.method = method
        super().__init__(
            f"{method} needs the server capability {capability!r}, which it did not declare"
        )


class MissingHandlerError(MCPSyncError):
    """The server asked for input (sampling, elicitation, roots) this client has no handler for.

    ``capability`` names the client capability that was missing, ``method`` the request.
    """

    def __init__(self, capability: str, method: str):
        self.capability = capability
        self.method = method
        super().__init__(
            f"the server asked for {method}, but the client has no {capability} handler; "
            f"pass {capability}_handler= (or roots=) to Client"
        )


class AuthorizationError(MCPSyncError):
    """Getting an OAuth access token for the server failed.

    ``error`` and ``description`` are the OAuth ``error`` and ``error_description``
    when the authorization server sent them; ``status`` is the HTTP status of the
    answer that failed, if any. Tokens, codes and client secrets are never included.
    """

    def __init__(
        self,
        message: str,
        *,
        error: Optional[str] = None,
        description: Optional[str] = None,
        status: Optional[int] = None,
    ):
        self.error = error
        self.description = description
        self.status = status
        details = [f"HTTP {status}"] if status is not None else []
        if error:
            details.append(excerpt(error, 80))
        if description:
            details.append(excerpt(description, 200))
        super().__init__(message + (f" ({': '.join(details)})" if details else ""))


class MetadataDiscoveryError(AuthorizationError):
    """No usable protected resource or authorization server metadata was found."""


class InsecureEndpointError(AuthorizationError):
    """An authorization endpoint is not HTTPS (only loopback may use plain HTTP), or the
    authorization server lacks a protection the client requires, such as PKCE with S256."""


class RegistrationError(AuthorizationError):
    """The client could not register with the authorization server."""


class TokenRequestError(AuthorizationError):
    """The token endpoint refused to issue a token (``error`` holds the OAuth error code)."""


class AuthorizationDenied(AuthorizationError):
    """The user or the authorization server refused the authorization request."""


class InvalidAuthorizationResponse(AuthorizationError):
    """The authorization response was not the one the client expects: its ``state`` or
    ``iss`` did not match, or it carried no code. The code was not used."""


class AuthorizationRequired(AuthorizationError):
    """A person has to sign in, and the auth cannot ask them here: on a background
    stream, or in a web application that signs people in through its own pages
    (:meth:`~mcp_sync.oauth.OAuth.start_authorization`)."""


class AuthorizationTimeout(AuthorizationError):
    """The interactive authorization did not complete in time."""


class InsufficientScopeError(AuthorizationError):
    """The server still refused the request for lack of scope after the allowed step-ups.

    ``scopes`` is the scope the server asked for last.
    """

    def __init__(self, message: str, *, scopes: Optional[str] = None, status: int = 403):
        self.scopes = scopes
        super().__init__(message, error="insufficient_scope", status=status)
