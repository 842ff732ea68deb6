"""A real HTTP server on 127.0.0.1 that is an MCP server's origin and its own authorization server.

For the tests that need real sockets (the transports' connection pool, the old HTTP+SSE
stream), where `responses` cannot stand in. The origin serves the protected resource
metadata (for every path), its authorization server metadata, and a token endpoint that
issues ``token-1``, ``token-2``, ... for any code. Every other request goes to ``app``,
which answers it through the request handler (``send``); ``authorized(handler)`` tells
whether it carries a token issued here. ``redirect_handler`` plays the person signing in.
Each request is served on a daemon thread of its own.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qs, urlencode, urlsplit

REDIRECT_URI = "http://127.0.0.1:1/callback"

App = Callable[[BaseHTTPRequestHandler, str, bytes], None]


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: Union[bytes, str] = b"",
    headers: Optional[dict[str, str]] = None,
) -> None:
    """Answer with a body of known length (the connection stays open for the next request)."""
    data = body.encode() if isinstance(body, str) else body
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    handler.wfile.flush()


class LocalOAuthServer:
    """See the module docstring; use it as a context manager."""

    def __init__(self, app: App):
        self.app = app
        self.issued: list[str] = []
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._serve(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                owner._serve(self, self.rfile.read(length))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> LocalOAuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()

    # -- the authorization server ---------------------------------------------------------

    def authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        scheme, _, token = (handler.headers.get("Authorization") or "").partition(" ")
        with self._lock:
            return scheme == "Bearer" and token in self.issued

    def unauthorized(self, handler: BaseHTTPRequestHandler) -> None:
        send(handler, 401, headers={"WWW-Authenticate": "Bearer"})

    def redirect_handler(self, url: str) -> str:
        """The person signs in at once: back to the redirect URI with a code and the state."""
        state = parse_qs(urlsplit(url).query)["state"][0]
        return f"{REDIRECT_URI}?{urlencode({'code': 'code', 'state': state})}"

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = urlsplit(handler.path).path
        if handler.command == "GET" and path.startswith("/.well-known/oauth-protected-resource"):
            resource = self.origin + path[len("/.well-known/oauth-protected-resource") :]
            document = {"resource": resource, "authorization_servers": [self.origin]}
            send(handler, 200, json.dumps(document), {"Content-Type": "application/json"})
        elif handler.command == "GET" and path == "/.well-known/oauth-authorization-server":
            document = {
                "issuer": self.origin,
                "authorization_endpoint": self.origin + "/authorize",
                "token_endpoint": self.origin + "/token",
                "code_challenge_methods_supported": ["S256"],
            }
            send(handler, 200, json.dumps(document), {"Content-Type": "application/json"})
        elif handler.command == "POST" and path == "/token":
            with self._lock:
                token = f"token-{next(self._counter)}"
                self.issued.append(token)
            answer = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
            send(handler, 200, json.dumps(answer), {"Content-Type": "application/json"})
        else:
            self.app(handler, path, body)
