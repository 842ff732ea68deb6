"""Receiving the OAuth redirect on a loopback address, for a person at a browser.

This is the native-app flow of RFC 8252: the user authorizes in their browser, and
the authorization server sends the browser back to ``http://127.0.0.1:<port>/callback``
with a ``code`` (or an ``error``) and the ``state``. :class:`LoopbackRedirect`
listens there for the length of one authorization and hands the callback URL to
its caller, which checks and parses it. It suits scripts and notebooks on the
user's own machine; a web application receives the redirect on its own routes.

Any program on the machine can reach a loopback port, so when the authorization URL
carries a ``state``, only a callback with that same ``state`` ends the wait; the
listener answers the others with an error page and keeps listening.
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

#: The thread that accepts connections, while a call waits for its redirect.
_THREAD_NAME = "mcp_sync-oauth-redirect"

#: The threads that answer one connection each.
_CONNECTION_THREAD_NAME = "mcp_sync-oauth-redirect-conn"

#: How long a waiting caller sleeps between checks, so that Ctrl-C is handled promptly.
_POLL_INTERVAL = 0.2

#: How long a connection may sit idle before the listener drops it. Browsers open
#: connections they may never use (preconnects); each has a thread of its own, so
#: they do not hold up the callback, but they should not linger either.
_CONNECTION_TIMEOUT = 2.0

#: How long closing the listener waits for the connection threads to end, once their
#: connections are cut.
_CLOSE_TIMEOUT = _CONNECTION_TIMEOUT + 1.0

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


def _split_loopback_uri(uri: str) -> tuple[str, int, str]:
    """The host, port and path of a loopback redirect URI; ValueError if it is not one."""

    def refused(reason: str) -> ValueError:
        return ValueError(f"cannot listen for the redirect URI {uri!r}: {reason}")

    # Printable ASCII only: a browser would send anything else percent-encoded, and the
    # request would then not match the path listened on.
    if not uri or any(not "!" <= ch <= "~" for ch in uri):
        raise refused("it must be printable ASCII without whitespace")
    parts = urlsplit(uri)
    if parts.scheme.lower() != "http":
        scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise refused(f"a loopback redirect URI must use http (RFC 8252), not {scheme}")
    if "?" in uri or "#" in uri:
        raise refused("it must have no query and no fragment")
    if "@" in parts.netloc:
        raise refused("it must have no user name or password")
    host = parts.hostname or ""
    if "%" in host or not _is_loopback(host):
        raise refused(
            f"the host must be a loopback address (127.0.0.1, [::1]) or localhost, not {host!r}"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        raise refused("it must name its port: the listener cannot choose one for it")
    if not parts.netloc.rpartition(":")[2].isdigit() or not 0 < port <= 65535:
        raise refused("the port must be a number between 1 and 65535")
    return host, port, parts.path or "/"


def _first(query: dict[str, list[str]], name: str) -> Optional[str]:
    values = query.get(name)
    return values[0] if values else None


class _Server(http.server.ThreadingHTTPServer):
    """Answers each connection in a thread of its own and records the first valid callback.

    Connection threads are daemons named ``mcp_sync-oauth-redirect-conn``. With
    ``block_on_close``, :meth:`server_close` cuts the connections still open and
    joins their threads, for at most ``_CLOSE_TIMEOUT``. This class keeps track of
    them itself: the standard library's bookkeeping differs between Python versions
    (3.9 does not join daemon threads) and would wait without a bound.
    """

    # Lets the same port be bound again at once after a close, despite TIME_WAIT. On
    # Windows SO_REUSEADDR would also let another process bind the port, so not there.
    allow_reuse_address = os.name != "nt"
    daemon_threads = True
    block_on_close = True

    def __init__(
        self, host: str, port: int, family: int, uri_host: str, path: str, uri: Optional[str]
    ):
        self.address_family = family  # read by TCPServer.__init__ to create the socket
        # Set before binding: TCPServer.__init__ calls server_close() when binding fails.
        # Maps each connection thread to its connection, or to None once the thread
        # closes it (the thread may still be running then, so it is still joined).
        self._connections: dict[threading.Thread, Optional[socket.socket]] = {}
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)
        self.callback_path = path
        self.redirect_uri = (
            uri if uri is not None else f"http://{uri_host}:{self.server_port}{path}"
        )
        # The authorization request's state; set by the caller before the listener
        # thread starts, read by the connection threads.
        self.expected_state: Optional[str] = None
        # The callback URL; written once, under result_lock, by the connection thread
        # that answers the first valid callback, before it sets `done`.
        self.result: Optional[str] = None
        self.result_lock = threading.Lock()
        # Set once the first valid callback is answered, or when the server is closed.
        self.done = threading.Event()

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        # HTTPServer.server_bind would look up the host's FQDN: a DNS query that can stall.
        self.server_name = "localhost"
        self.server_port = int(self.socket.getsockname()[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=_CONNECTION_THREAD_NAME,
            daemon=self.daemon_threads,
        )
        with self._connections_lock:
            # Threads that have ended are forgotten; those still ending stay, to be joined.
            ended = [t for t, c in self._connections.items() if c is None and not t.is_alive()]
            for thread_ended in ended:
                del self._connections[thread_ended]
            self._connections[thread] = request
        try:
            thread.start()
        except BaseException:
            with self._connections_lock:
                del self._connections[thread]
            raise  # the caller closes the connection

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            # Marked closed before it is closed, so that server_close() never shuts down
            # a closed socket, whose descriptor may already belong to another one.
            with self._connections_lock:
                self._connections[threading.current_thread()] = None
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()  # closes the listening socket
        if not self.block_on_close:
            return
        with self._connections_lock:
            threads = list(self._connections)
            # Wakes threads waiting on an idle connection (a preconnect). shutdown()
            # does not block, and it runs under the lock so the socket is still open.
            for connection in self._connections.values():
                if connection is None:
                    continue
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        deadline = time.monotonic() + _CLOSE_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            log.debug("a connection to the OAuth redirect listener did not end in time")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a browser hanging up is no news.
        log.debug("error while answering a request for the OAuth redirect", exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = _CONNECTION_TIMEOUT
    # One request per connection: no connection thread waits on an idle keep-alive.
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
        expected = server.expected_state
        if expected is not None:
            # Anything on this machine that finds the port can send a request here, and
            # a tab left over from an earlier attempt may come back: neither may end
            # this sign-in. Answered, and the wait goes on.
            states = query.get("state", [])
            if not states:
                self._page(400, "This authorization response has no state; it was ignored.")
                return
            if len(states) != 1 or not hmac.compare_digest(
                states[0].encode("utf-8"), expected.encode("utf-8")
            ):
                self._page(400, "This authorization response belongs to another request.")
                return
        # Several connections are answered at once: the first valid callback wins.
        with server.result_lock:
            first = server.result is None and not server.done.is_set()
            if first:
                server.result = f"{server.redirect_uri}?{parts.query}"
        if not first:
            self._page(200, "Authorization already received. You can close this tab.")
            return
        try:
            # The page goes out before the caller is woken, since the caller then
            # closes the listener and cuts the connections still open.
            error = _first(query, "error")
            if error is None:
                self._page(200, "Authorization complete. You can close this tab.")
            else:
                description = _first(query, "error_description")
                detail = f"{error}: {description[:300]}" if description else error
                self._page(200, f"Authorization failed ({detail[:400]}). You can close this tab.")
        finally:
            server.done.set()

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
    To listen at a redirect URI registered beforehand, use :meth:`for_uri`.

    When the authorization URL has a ``state``, callbacks without it or with another
    one are answered with an error page and ignored. Each connection is answered in
    a daemon thread of its own, so idle connections (browser preconnects) do not
    delay the callback. A call, close() or a timeout ends once the listener's threads
    have ended: idle connections are cut, and the wait for their threads is bounded.
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
        self._uri: Optional[str] = None  # the exact redirect URI, for one made by for_uri()
        self._requested_port = port
        self._open_browser = open_browser
        self._timeout = timeout
        self._out = out
        # Guards the attributes below; touched by the threads that read redirect_uri,
        # call the object or call close(). Never held while blocking (shutting a server
        # down, joining a thread), and never taken by the listener's threads.
        self._lock = threading.Lock()
        # Notified, under _lock, whenever a server stopped outside the lock is closed.
        self._stopped = threading.Condition(self._lock)
        self._port = port  # the port to bind next: the one bound last, once there is one
        self._server: Optional[_Server] = None  # bound and listening, between bind and release
        self._thread: Optional[threading.Thread] = None  # the listener thread, while a call waits
        self._busy = False  # a call is waiting for its redirect
        self._stopping = 0  # servers released but not yet closed; they may hold the port

    @classmethod
    def for_uri(cls, redirect_uri: str, **options: Any) -> LoopbackRedirect:
        """A listener at exactly ``redirect_uri``, a loopback redirect URI registered beforehand.

        The host, port and path come from the URI: it must be ``http``, on a loopback
        address or ``localhost`` (which listens on 127.0.0.1), with an explicit
        non-zero port, and without query or fragment; otherwise ValueError. The
        ``redirect_uri`` property then returns the URI exactly as given. ``options``
        are the other constructor arguments (``open_browser``, ``timeout``, ``out``).
        """
        for name in ("host", "port", "path"):
            if name in options:
                raise TypeError(f"for_uri() takes the {name} from the redirect URI, not as {name}=")
        host, port, path = _split_loopback_uri(redirect_uri)
        listener = cls(host=host, port=port, path=path, **options)
        listener._uri = redirect_uri
        return listener

    @property
    def redirect_uri(self) -> str:
        """The URI to register and send as ``redirect_uri``; binds the port on first use.

        For a listener made by :meth:`for_uri`, the URI it was given, character for character.
        """
        with self._lock:
            return self._bind_locked().redirect_uri

    def __call__(self, authorization_url: str) -> str:
        """Send the user to ``authorization_url`` and return the callback URL they come back to.

        The result is ``redirect_uri`` with the query the browser sent, carrying
        ``code`` or ``error``. When ``authorization_url`` has a ``state``, only a
        callback with the same ``state`` is returned; checking the rest is the
        caller's job. Raises ValueError for a URL that is not http(s),
        AuthorizationTimeout when no redirect comes within ``timeout``, and
        AuthorizationError when the port cannot be bound or close() is called meanwhile.
        """
        _check_authorization_url(authorization_url)
        query = parse_qs(urlsplit(authorization_url).query, keep_blank_values=True)
        state = _first(query, "state")
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
                # Unless close() took the server already (and stops it itself).
                released = self._release_locked() if self._server is server else None
                self._busy = False
            if released is not None:
                self._stop(*released)
        if result is None:
            raise AuthorizationError(
                "the OAuth redirect listener was closed before the browser flow completed"
            )
        return result

    def close(self) -> None:
        """Stop listening and join the listener's threads; calling it again does nothing.

        A call waiting in another thread then raises AuthorizationError. Returns once
        no listener thread of this object remains (each join is bounded).
        """
        with self._lock:
            released = self._release_locked()
        if released is not None:
            self._stop(*released)
        with self._lock:
            # A server that another thread released just before may still be closing.
            while self._stopping:
                self._stopped.wait()

    def __enter__(self) -> LoopbackRedirect:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LoopbackRedirect(host={self._host!r}, port={self._port}, path={self._path!r})"

    def _bind_locked(self) -> _Server:
        while self._server is None and self._stopping:
            # A server released a moment ago may still hold the port: wait (the lock is
            # released meanwhile) until it is closed, so the port can be bound again.
            self._stopped.wait()
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
            return _Server(
                self._bind_host, port, self._family, self._uri_host, self._path, self._uri
            )
        except OSError as exc:
            raise AuthorizationError(
                f"cannot listen on {self._host} port {port} for the OAuth redirect: "
                f"{exc.strerror or exc}"
            ) from exc

    def _release_locked(self) -> Optional[tuple[_Server, Optional[threading.Thread]]]:
        """Take the server and its listener thread, for _stop() to stop outside the lock."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return None
        self._stopping += 1
        return server, thread

    def _stop(self, server: _Server, thread: Optional[threading.Thread]) -> None:
        """Stop and close a server taken by _release_locked(); called without the lock."""
        try:
            if thread is not None:
                server.shutdown()  # returns once the listener thread stops accepting
                thread.join()
        finally:
            try:
                server.server_close()  # cuts open connections and joins their threads
            finally:
                server.done.set()  # wakes a call still waiting, which then reports the close
                with self._lock:
                    self._stopping -= 1
                    self._stopped.notify_all()

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
