"""Receiving the OAuth redirect on a loopback address, for a person at a browser.

This is the native-app flow of RFC 8252: the user authorizes in their browser, and
the authorization server sends the browser back to ``http://127.0.0.1:<port>/callback``
with a ``code`` (or an ``error``) and the ``state``. :class:`LoopbackRedirect`
listens there for the length of one authorization and hands the callback URL to
its caller, which checks and parses it. It suits scripts and notebooks on the
user's own machine; a web application receives the redirect on its own routes.
"""

from __future__ import annotations

import hmac
import html
import http.server
import ipaddress
import logging
import os
import socket
import socketserver
import sys
import threading
import time
import webbrowser
from typing import Any, Optional, TextIO
from urllib.parse import parse_qs, urlsplit

from ..errors import AuthorizationError, AuthorizationTimeout, ClientStateError

__all__ = ["LoopbackRedirect"]

log = logging.getLogger("mcp_sync")

_THREAD_NAME = "mcp_sync-oauth-redirect"

#: How long a waiting caller sleeps between checks, so that Ctrl-C is handled promptly.
_POLL_INTERVAL = 0.2

#: How long the listener waits for a connection's request. Browsers open connections
#: they may never use (preconnects), and the listener answers one at a time.
_CONNECTION_TIMEOUT = 2.0

#: How often the listener thread checks whether it should stop.
_SERVE_POLL_INTERVAL = 0.05


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_authorization_url(url: str) -> None:
    """Raise ValueError unless ``url`` is an absolute http(s) URL fit to hand to a browser."""
    # Checked before urlsplit, which silently drops some of these characters.
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValueError("the authorization URL must not contain whitespace or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        scheme = f"a {parts.scheme}: URL" if parts.scheme else "a URL without a scheme"
        raise ValueError(f"the authorization URL must be an http or https URL, not {scheme}")


def _first(query: dict[str, list[str]], name: str) -> Optional[str]:
    values = query.get(name)
    return values[0] if values else None


class _Server(http.server.HTTPServer):
    """Answers the browser one request at a time and records the first valid callback."""

    # Lets the same port be bound again at once after a close, despite TIME_WAIT. On
    # Windows SO_REUSEADDR would also let another process bind the port, so not there.
    allow_reuse_address = os.name != "nt"

    def __init__(self, host: str, port: int, family: int, uri_host: str, path: str):
        self.address_family = family  # read by TCPServer.__init__ to create the socket
        super().__init__((host, port), _Handler)
        self.callback_path = path
        self.redirect_uri = f"http://{uri_host}:{self.server_port}{path}"
        # The authorization request's state; set by the caller before the listener
        # thread starts, read by that thread.
        self.expected_state: Optional[str] = None
        # The callback URL; written once by the listener thread before it sets `done`,
        # read by the caller after `done` is set.
        self.result: Optional[str] = None
        # Set by the listener thread on the first valid callback, or by close().
        self.done = threading.Event()

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        # HTTPServer.server_bind would look up the host's FQDN: a DNS query that can stall.
        self.server_name = "localhost"
        self.server_port = int(self.socket.getsockname()[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a browser hanging up is no news.
        log.debug("error while answering a request for the OAuth redirect", exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = _CONNECTION_TIMEOUT
    # One request per connection, so an idle keep-alive connection cannot hold the listener.
    protocol_version = "HTTP/1.0"
    server_version = "mcp_sync"
    sys_version = ""

    def do_GET(self) -> None:
        server = self.server
        parts = urlsplit(self.path)
        if not self.path.startswith("/") or parts.path != server.callback_path:
            self._page(404, "Not found.")
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        if "code" not in query and "error" not in query:
            self._page(400, "This is not an authorization response.")
            return
        state = _first(query, "state")
        expected = server.expected_state
        if (
            expected is not None
            and state is not None
            and not hmac.compare_digest(state.encode("utf-8"), expected.encode("utf-8"))
        ):
            # A tab left over from an earlier attempt (or a forgery): it must not end
            # this one. A missing state is passed on; the caller rejects it.
            self._page(400, "This authorization response belongs to another request.")
            return
        if server.done.is_set():
            self._page(200, "Authorization already received. You can close this tab.")
            return
        server.result = f"{server.redirect_uri}?{parts.query}"
        server.done.set()
        error = _first(query, "error")
        if error is None:
            self._page(200, "Authorization complete. You can close this tab.")
            return
        description = _first(query, "error_description")
        detail = f"{error}: {description[:300]}" if description else error
        self._page(200, f"Authorization failed ({detail[:400]}). You can close this tab.")

    def _page(self, status: int, message: str) -> None:
        body = (
            '<!doctype html><html><head><meta charset="utf-8"><title>mcp_sync</title></head>'
            f"<body><p>{html.escape(message)}</p></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # This page's own URL holds the code: keep it out of any Referer.
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", "default-src 'none'")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request line, code included, to stderr.
        pass


class LoopbackRedirect:
    """Listens on 127.0.0.1 (random port by default) for the authorization server's redirect.

    Pass ``redirect_uri`` to the authorization request, then call the object with the
    authorization URL: it shows (and, with ``open_browser``, opens) the URL and
    returns the callback URL once the browser comes back. ``host`` must be a loopback
    address (127.0.0.0/8, ``::1``) or ``localhost``, which listens on 127.0.0.1.
    ``out`` receives the line with the URL; None means ``sys.stderr`` at call time.
    The port stays the same from one call to the next whenever it is still free.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        path: str = "/callback",
        host: str = "127.0.0.1",
        open_browser: bool = True,
        timeout: float = 300.0,
        out: Optional[TextIO] = None,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(
                f"the redirect listener needs a loopback host (127.0.0.1, ::1 or localhost), not {host!r}"
            )
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {port}")
        if not path.startswith("/") or any(
            ch in "?#" or ch.isspace() or not ch.isprintable() for ch in path
        ):
            raise ValueError(f"path must be an absolute URL path without query, not {path!r}")
        if not timeout > 0:  # also rejects NaN
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        self._host = host
        self._bind_host = "127.0.0.1" if host.lower() == "localhost" else host
        self._family = socket.AF_INET6 if ":" in self._bind_host else socket.AF_INET
        self._uri_host = f"[{host}]" if ":" in host else host
        self._path = path
        self._requested_port = port
        self._open_browser = open_browser
        self._timeout = timeout
        self._out = out
        # Guards _port, _server, _thread and _busy; touched by the threads that read
        # redirect_uri, call the object or call close(). Never taken by the listener.
        self._lock = threading.Lock()
        self._port = port  # the port to bind next: the one bound last, once there is one
        self._server: Optional[_Server] = None  # bound and listening, between bind and release
        self._thread: Optional[threading.Thread] = None  # the listener thread, while a call waits
        self._busy = False  # a call is waiting for its redirect

    @property
    def redirect_uri(self) -> str:
        """The URI to register and send as ``redirect_uri``; binds the port on first use."""
        with self._lock:
            return self._bind_locked().redirect_uri

    def __call__(self, authorization_url: str) -> str:
        """Send the user to ``authorization_url`` and return the callback URL they come back to.

        The result is ``redirect_uri`` with the query the browser sent, carrying
        ``code`` or ``error``; checking ``state`` and the rest is the caller's job.
        Raises ValueError for a URL that is not http(s), AuthorizationTimeout when
        no redirect comes within ``timeout``, and AuthorizationError when the port
        cannot be bound or close() is called meanwhile.
        """
        _check_authorization_url(authorization_url)
        state = _first(parse_qs(urlsplit(authorization_url).query), "state")
        with self._lock:
            if self._busy:
                raise ClientStateError("this LoopbackRedirect is already waiting for a redirect")
            server = self._bind_locked()
            server.expected_state = state
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _SERVE_POLL_INTERVAL},
                name=_THREAD_NAME,
                daemon=True,
            )
            thread.start()
            self._thread = thread
            self._busy = True
        try:
            deadline = time.monotonic() + self._timeout
            self._announce(authorization_url)
            if self._open_browser:
                self._launch(authorization_url)
            # Short waits, so that a KeyboardInterrupt is raised promptly.
            while not server.done.wait(min(_POLL_INTERVAL, max(0.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    raise AuthorizationTimeout(
                        f"the browser authorization flow did not complete: no redirect "
                        f"reached {server.redirect_uri} within {self._timeout:g} s"
                    )
            result = server.result
        finally:
            with self._lock:
                if self._server is server:
                    self._release_locked()
                self._busy = False
        if result is None:
            raise AuthorizationError(
                "the OAuth redirect listener was closed before the browser flow completed"
            )
        return result

    def close(self) -> None:
        """Stop listening and join the listener thread; calling it again does nothing.

        A call waiting in another thread then raises AuthorizationError.
        """
        with self._lock:
            self._release_locked()

    def __enter__(self) -> LoopbackRedirect:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LoopbackRedirect(host={self._host!r}, port={self._port}, path={self._path!r})"

    def _bind_locked(self) -> _Server:
        if self._server is not None:
            return self._server
        try:
            server = self._listen(self._port)
        except AuthorizationError:
            if self._port == self._requested_port:
                raise
            # The port of the last call was taken meanwhile. A new one changes
            # redirect_uri, which the caller reads again for each authorization.
            log.warning(
                "port %d for the OAuth redirect is taken; listening on another one", self._port
            )
            server = self._listen(self._requested_port)
        self._port = server.server_port
        self._server = server
        return server

    def _listen(self, port: int) -> _Server:
        try:
            return _Server(self._bind_host, port, self._family, self._uri_host, self._path)
        except OSError as exc:
            raise AuthorizationError(
                f"cannot listen on {self._host} port {port} for the OAuth redirect: "
                f"{exc.strerror or exc}"
            ) from exc

    def _release_locked(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        if thread is not None:
            server.shutdown()  # returns once the request being answered, if any, is done
            thread.join()
        server.server_close()
        server.done.set()  # wakes a call still waiting, which then reports the close

    def _announce(self, url: str) -> None:
        out: Optional[TextIO] = self._out if self._out is not None else sys.stderr
        if out is None:  # pythonw and some embedded interpreters have no stderr
            return
        try:
            print(f"Open this URL to authorize mcp_sync: {url}", file=out, flush=True)
        except (OSError, ValueError):  # a closed or broken stream
            log.debug("could not print the authorization URL", exc_info=True)

    def _launch(self, url: str) -> None:
        try:
            opened = webbrowser.open(url)
        except Exception:  # webbrowser.Error, or a broken browser command
            log.debug("could not open a browser", exc_info=True)
            opened = False
        if not opened:
            log.debug("no browser available; the authorization URL was printed instead")
