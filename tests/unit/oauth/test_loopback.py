"""The loopback listener that receives the OAuth redirect from the user's browser."""

from __future__ import annotations

import _thread
import io
import re
import socket
import threading
import time
import webbrowser
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from mcp_sync.errors import AuthorizationError, AuthorizationTimeout
from mcp_sync.oauth.loopback import LoopbackRedirect, _Server

AUTH_URL = "https://auth.example.com/authorize?response_type=code&client_id=c&state=st4te"
AUTH_URL_WITHOUT_STATE = "https://auth.example.com/authorize?response_type=code&client_id=c"
THREAD_NAME = "mcp_sync-oauth-redirect"
CONNECTION_THREAD_NAME = "mcp_sync-oauth-redirect-conn"


def listener_threads() -> list[threading.Thread]:
    """The listener's threads: the one accepting connections and those answering them."""
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME)]


def connection_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == CONNECTION_THREAD_NAME]


def preconnect(uri: str) -> socket.socket:
    """A connection that sends nothing, as a browser's preconnect."""
    parts = urlsplit(uri)
    return socket.create_connection(("127.0.0.1", parts.port), timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Browser:
    """Stands in for the user's browser and replaces ``webbrowser.open``.

    ``open`` records the URL; then, in a thread of its own, it visits the URLs
    queued with ``visit_on_open`` one after the other, as a browser redirected
    back would. ``responses`` holds what the listener answered.
    """

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.available = True
        self.on_open: list[str] = []
        self.responses: list[requests.Response] = []
        self._threads: list[threading.Thread] = []

    def open(self, url: str, *args: Any, **kwargs: Any) -> bool:
        self.opened.append(url)
        if self.on_open:
            self.visit(*self.on_open)
        return self.available

    def visit(self, *urls: str) -> None:
        thread = threading.Thread(target=self._get, args=urls, name="test-browser", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _get(self, *urls: str) -> None:
        with requests.Session() as session:
            session.trust_env = False  # never through a proxy from the environment
            for url in urls:
                self.responses.append(session.get(url, timeout=10))

    def join(self) -> None:
        for thread in self._threads:
            thread.join(10)


@pytest.fixture(autouse=True)
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """No test opens a real browser; each leaves no listener thread behind."""
    fake = Browser()
    monkeypatch.setattr(webbrowser, "open", fake.open)
    yield fake
    fake.join()
    assert listener_threads() == []


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def redirect(out: io.StringIO) -> Iterator[LoopbackRedirect]:
    listener = LoopbackRedirect(timeout=10, out=out)
    yield listener
    listener.close()


def port_of(uri: str) -> int:
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/callback", uri)
    assert match, uri
    return int(match.group(1))


# --- redirect_uri ----------------------------------------------------------------------------


def test_redirect_uri_has_a_real_listening_port(redirect: LoopbackRedirect) -> None:
    port = port_of(redirect.redirect_uri)
    assert port > 0
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def test_redirect_uri_is_the_same_on_every_read(redirect: LoopbackRedirect) -> None:
    assert redirect.redirect_uri == redirect.redirect_uri


def test_custom_path_appears_in_redirect_uri(out: io.StringIO) -> None:
    with LoopbackRedirect(path="/oauth/done", out=out) as listener:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/oauth/done", listener.redirect_uri)


def test_close_releases_the_port(redirect: LoopbackRedirect) -> None:
    port = port_of(redirect.redirect_uri)
    redirect.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_close_is_idempotent(redirect: LoopbackRedirect) -> None:
    redirect.redirect_uri  # noqa: B018 - binds
    redirect.close()
    redirect.close()


# --- the callback ----------------------------------------------------------------------------


def test_callback_with_code_is_returned_as_received(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    callback = f"{redirect.redirect_uri}?code=the-c0de&state=st4te"
    browser.on_open = [callback]
    assert redirect(AUTH_URL) == callback
    browser.join()
    assert browser.responses[0].status_code == 200
    assert "Authorization complete. You can close this tab." in browser.responses[0].text


def test_other_paths_get_404_and_do_not_complete_the_flow(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    base = redirect.redirect_uri.rsplit("/", 1)[0]
    callback = f"{redirect.redirect_uri}?code=c&state=st4te"
    browser.on_open = [f"{base}/favicon.ico", f"{base}/other?code=c&state=st4te", callback]
    assert redirect(AUTH_URL) == callback
    browser.join()
    assert [r.status_code for r in browser.responses] == [404, 404, 200]


def test_callback_without_code_or_error_does_not_complete_the_flow(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    callback = f"{redirect.redirect_uri}?code=c&state=st4te"
    browser.on_open = [f"{redirect.redirect_uri}?state=st4te", callback]
    assert redirect(AUTH_URL) == callback
    browser.join()
    assert [r.status_code for r in browser.responses] == [400, 200]


@pytest.mark.parametrize(
    "stray",
    [
        "code=stale&state=old",
        "code=forged",
        "error=access_denied",
        "code=x&state=st4te&state=other",
    ],
    ids=["another-state", "no-state", "error-without-state", "state-twice"],
)
def test_a_callback_without_exactly_the_requests_state_is_ignored(
    redirect: LoopbackRedirect, browser: Browser, stray: str
) -> None:
    callback = f"{redirect.redirect_uri}?code=c&state=st4te"
    browser.on_open = [f"{redirect.redirect_uri}?{stray}", callback]
    assert redirect(AUTH_URL) == callback
    browser.join()
    assert [r.status_code for r in browser.responses] == [400, 200]


def test_callback_without_state_completes_when_the_request_has_none(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    callback = f"{redirect.redirect_uri}?code=c"
    browser.on_open = [callback]
    assert redirect(AUTH_URL_WITHOUT_STATE) == callback


def test_error_response_is_returned_as_the_url(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    callback = f"{redirect.redirect_uri}?error=access_denied&state=st4te"
    browser.on_open = [callback]
    assert redirect(AUTH_URL) == callback
    browser.join()
    assert "access_denied" in browser.responses[0].text


def test_error_page_escapes_html(redirect: LoopbackRedirect, browser: Browser) -> None:
    browser.on_open = [
        f"{redirect.redirect_uri}?error=access_denied&error_description=%3Cscript%3Ex%3C/script%3E"
        "&state=st4te"
    ]
    redirect(AUTH_URL)
    browser.join()
    page = browser.responses[0].text
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_request_that_arrived_before_the_call_is_answered(
    out: io.StringIO, browser: Browser
) -> None:
    with LoopbackRedirect(open_browser=False, timeout=10, out=out) as listener:
        callback = f"{listener.redirect_uri}?code=early&state=st4te"
        browser.visit(callback)
        assert listener(AUTH_URL) == callback


def test_no_listener_thread_remains_after_return(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    browser.on_open = [f"{redirect.redirect_uri}?code=c&state=st4te"]
    redirect(AUTH_URL)
    assert listener_threads() == []


def test_listener_thread_is_a_named_daemon_while_waiting(
    redirect: LoopbackRedirect, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[threading.Thread] = []

    def open_and_look(url: str, *args: Any, **kwargs: Any) -> bool:
        seen.extend(listener_threads())
        browser.visit(f"{redirect.redirect_uri}?code=c&state=st4te")
        return True

    monkeypatch.setattr(webbrowser, "open", open_and_look)
    redirect(AUTH_URL)
    assert [t.name for t in seen] == [THREAD_NAME]
    assert seen[0].daemon


def test_the_same_port_is_bound_again_for_the_next_call(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    first = redirect.redirect_uri
    browser.on_open = [f"{first}?code=one&state=st4te"]
    redirect(AUTH_URL)
    assert redirect.redirect_uri == first
    browser.on_open = [f"{first}?code=two&state=st4te"]
    assert redirect(AUTH_URL) == f"{first}?code=two&state=st4te"


def test_request_lines_are_not_written_to_stderr(
    redirect: LoopbackRedirect, browser: Browser, capfd: pytest.CaptureFixture[str]
) -> None:
    browser.on_open = [f"{redirect.redirect_uri}?code=the-c0de&state=st4te"]
    redirect(AUTH_URL)
    browser.join()
    captured = capfd.readouterr()
    assert "the-c0de" not in captured.err + captured.out


# --- connections and threads -----------------------------------------------------------------


def test_idle_preconnect_does_not_delay_the_callback(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    callback = f"{redirect.redirect_uri}?code=c&state=st4te"
    idle = [preconnect(redirect.redirect_uri) for _ in range(3)]
    try:
        browser.on_open = [callback]
        started = time.monotonic()
        assert redirect(AUTH_URL) == callback
        assert time.monotonic() - started < 0.5
    finally:
        for connection in idle:
            connection.close()


def test_connections_are_answered_in_named_daemon_threads(
    redirect: LoopbackRedirect, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[threading.Thread] = []

    def open_and_look(url: str, *args: Any, **kwargs: Any) -> bool:
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            seen.extend(connection_threads())
            time.sleep(0.01)
        browser.visit(f"{redirect.redirect_uri}?code=c&state=st4te")
        return True

    monkeypatch.setattr(webbrowser, "open", open_and_look)
    with preconnect(redirect.redirect_uri):
        redirect(AUTH_URL)
    assert len(seen) == 1 and seen[0].daemon


def test_no_listener_thread_remains_after_return_with_a_preconnect_open(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    with preconnect(redirect.redirect_uri):
        browser.on_open = [f"{redirect.redirect_uri}?code=c&state=st4te"]
        redirect(AUTH_URL)
        assert listener_threads() == []


def test_no_listener_thread_remains_after_timeout_with_a_preconnect_open(
    out: io.StringIO,
) -> None:
    listener = LoopbackRedirect(timeout=0.3, open_browser=False, out=out)
    with preconnect(listener.redirect_uri):
        with pytest.raises(AuthorizationTimeout):
            listener(AUTH_URL)
        assert listener_threads() == []


def test_no_listener_thread_remains_after_close_with_a_preconnect_open(out: io.StringIO) -> None:
    listener = LoopbackRedirect(timeout=30, open_browser=False, out=out)
    with preconnect(listener.redirect_uri):
        timer = threading.Timer(0.3, listener.close)
        timer.start()
        try:
            with pytest.raises(AuthorizationError, match="closed"):
                listener(AUTH_URL)
        finally:
            timer.join()
        assert listener_threads() == []


def test_close_does_not_wait_for_idle_connections_to_time_out(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    with preconnect(redirect.redirect_uri):
        browser.on_open = [f"{redirect.redirect_uri}?code=c&state=st4te"]
        started = time.monotonic()
        redirect(AUTH_URL)
        # The connection timeout is 2 s: the idle connection was cut, not waited for.
        assert time.monotonic() - started < 1


def test_server_is_stopped_without_holding_the_lock_on_return(
    redirect: LoopbackRedirect, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[bool] = []
    shutdown, server_close = _Server.shutdown, _Server.server_close

    def spy_shutdown(self: _Server) -> None:
        held.append(redirect._lock.locked())
        shutdown(self)

    def spy_server_close(self: _Server) -> None:
        held.append(redirect._lock.locked())
        server_close(self)

    monkeypatch.setattr(_Server, "shutdown", spy_shutdown)
    monkeypatch.setattr(_Server, "server_close", spy_server_close)
    browser.on_open = [f"{redirect.redirect_uri}?code=c&state=st4te"]
    redirect(AUTH_URL)
    assert held == [False, False]


def test_close_stops_the_server_without_holding_the_lock(
    out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = LoopbackRedirect(timeout=30, open_browser=False, out=out)
    held: list[bool] = []
    shutdown, server_close = _Server.shutdown, _Server.server_close

    def spy_shutdown(self: _Server) -> None:
        held.append(listener._lock.locked())
        shutdown(self)

    def spy_server_close(self: _Server) -> None:
        held.append(listener._lock.locked())
        server_close(self)

    monkeypatch.setattr(_Server, "shutdown", spy_shutdown)
    monkeypatch.setattr(_Server, "server_close", spy_server_close)
    timer = threading.Timer(0.3, listener.close)
    timer.start()
    try:
        with pytest.raises(AuthorizationError, match="closed"):
            listener(AUTH_URL)
    finally:
        timer.join()
    assert held == [False, False]


# --- timeout and interruption ----------------------------------------------------------------


def test_timeout_raises_authorization_timeout_quickly(out: io.StringIO) -> None:
    listener = LoopbackRedirect(timeout=0.3, open_browser=False, out=out)
    started = time.monotonic()
    with pytest.raises(AuthorizationTimeout, match=r"did not complete.*within 0\.3 s"):
        listener(AUTH_URL)
    assert time.monotonic() - started < 2


def test_timeout_is_an_authorization_error(out: io.StringIO) -> None:
    with pytest.raises(AuthorizationError):
        LoopbackRedirect(timeout=0.3, open_browser=False, out=out)(AUTH_URL)


def test_no_listener_thread_remains_after_timeout(out: io.StringIO) -> None:
    listener = LoopbackRedirect(timeout=0.3, open_browser=False, out=out)
    with pytest.raises(AuthorizationTimeout):
        listener(AUTH_URL)
    assert listener_threads() == []


def test_keyboard_interrupt_stops_the_wait_promptly(out: io.StringIO) -> None:
    listener = LoopbackRedirect(timeout=30, open_browser=False, out=out)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            listener(AUTH_URL)
    finally:
        timer.cancel()
        timer.join()
    assert time.monotonic() - started < 5
    assert listener_threads() == []


def test_close_from_another_thread_ends_the_wait(out: io.StringIO) -> None:
    listener = LoopbackRedirect(timeout=30, open_browser=False, out=out)
    timer = threading.Timer(0.3, listener.close)
    timer.start()
    try:
        with pytest.raises(AuthorizationError, match="closed"):
            listener(AUTH_URL)
    finally:
        timer.join()


def test_close_from_another_thread_wakes_the_waiting_call_promptly(out: io.StringIO) -> None:
    listener = LoopbackRedirect(timeout=30, open_browser=False, out=out)
    timer = threading.Timer(0.3, listener.close)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(AuthorizationError, match="closed"):
            listener(AUTH_URL)
        assert time.monotonic() - started < 2
    finally:
        timer.join()
    assert listener_threads() == []


# --- the browser and the printed line --------------------------------------------------------


def test_browser_is_opened_with_the_authorization_url(
    redirect: LoopbackRedirect, browser: Browser
) -> None:
    browser.on_open = [f"{redirect.redirect_uri}?code=c&state=st4te"]
    redirect(AUTH_URL)
    assert browser.opened == [AUTH_URL]


def test_open_browser_false_does_not_open_a_browser(out: io.StringIO, browser: Browser) -> None:
    with LoopbackRedirect(open_browser=False, timeout=10, out=out) as listener:
        browser.visit(f"{listener.redirect_uri}?code=c&state=st4te")
        listener(AUTH_URL)
    assert browser.opened == []


def test_url_line_is_printed_to_out(
    redirect: LoopbackRedirect, browser: Browser, out: io.StringIO
) -> None:
    browser.on_open = [f"{redirect.redirect_uri}?code=c&state=st4te"]
    redirect(AUTH_URL)
    assert out.getvalue() == f"Open this URL to authorize mcp_sync: {AUTH_URL}\n"


def test_url_line_is_printed_when_no_browser_is_available(
    redirect: LoopbackRedirect, browser: Browser, out: io.StringIO
) -> None:
    browser.available = False
    browser.on_open = [f"{redirect.redirect_uri}?code=c&state=st4te"]
    redirect(AUTH_URL)
    assert AUTH_URL in out.getvalue()


def test_url_line_goes_to_stderr_by_default(
    browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackRedirect(timeout=10) as listener:
        browser.on_open = [f"{listener.redirect_uri}?code=c&state=st4te"]
        listener(AUTH_URL)
    assert capsys.readouterr().err == f"Open this URL to authorize mcp_sync: {AUTH_URL}\n"


def test_closed_out_does_not_stop_the_flow(browser: Browser) -> None:
    closed = io.StringIO()
    closed.close()
    with LoopbackRedirect(timeout=10, out=closed) as listener:
        callback = f"{listener.redirect_uri}?code=c&state=st4te"
        browser.on_open = [callback]
        assert listener(AUTH_URL) == callback


# --- what is refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,hi",
        "ftp://auth.example.com/authorize",
        "auth.example.com/authorize",
        "https:///no-host",
        "https://auth.example.com/authorize?state=a\nb",
    ],
)
def test_url_that_is_not_http_raises_value_error(
    url: str, redirect: LoopbackRedirect, browser: Browser
) -> None:
    with pytest.raises(ValueError):
        redirect(url)
    assert browser.opened == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::", ""])
def test_host_that_is_not_loopback_raises_value_error(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        LoopbackRedirect(host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    LoopbackRedirect(host=host).close()


def test_localhost_listens_on_127_0_0_1_and_keeps_the_name(out: io.StringIO) -> None:
    with LoopbackRedirect(host="localhost", out=out) as listener:
        match = re.fullmatch(r"http://localhost:(\d+)/callback", listener.redirect_uri)
        assert match
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5):
            pass


@pytest.mark.parametrize("path", ["callback", "/cb?x=1", "/cb#frag", "/c b"])
def test_path_that_is_not_an_absolute_path_raises_value_error(path: str) -> None:
    with pytest.raises(ValueError):
        LoopbackRedirect(path=path)


@pytest.mark.parametrize("timeout", [0, -1, float("nan")])
def test_timeout_that_is_not_positive_raises_value_error(timeout: float) -> None:
    with pytest.raises(ValueError):
        LoopbackRedirect(timeout=timeout)


def test_port_in_use_raises_authorization_error(out: io.StringIO) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listener = LoopbackRedirect(port=taken.getsockname()[1], out=out)
        with pytest.raises(AuthorizationError, match="cannot listen"):
            listener.redirect_uri  # noqa: B018


# --- for_uri ---------------------------------------------------------------------------------


def test_for_uri_listens_on_the_given_port_and_path(out: io.StringIO, browser: Browser) -> None:
    uri = f"http://127.0.0.1:{free_port()}/oauth/done"
    with LoopbackRedirect.for_uri(uri, timeout=10, out=out) as listener:
        callback = f"{uri}?code=c&state=st4te"
        browser.on_open = [f"{uri.rsplit('/', 1)[0]}/callback?code=c&state=st4te", callback]
        assert listener(AUTH_URL) == callback
    browser.join()
    assert [r.status_code for r in browser.responses] == [404, 200]


def test_for_uri_reports_the_uri_exactly_as_given(out: io.StringIO) -> None:
    port = free_port()
    uri = f"http://localhost:{port}/cb"
    with LoopbackRedirect.for_uri(uri, out=out) as listener:
        assert listener.redirect_uri == uri
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_for_uri_without_a_path_listens_on_the_root(out: io.StringIO, browser: Browser) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    with LoopbackRedirect.for_uri(uri, timeout=10, out=out) as listener:
        assert listener.redirect_uri == uri
        browser.on_open = [f"{uri}/?code=c&state=st4te"]
        assert listener(AUTH_URL) == f"{uri}?code=c&state=st4te"


def test_for_uri_keeps_the_uri_from_one_call_to_the_next(
    out: io.StringIO, browser: Browser
) -> None:
    uri = f"http://127.0.0.1:{free_port()}/cb"
    with LoopbackRedirect.for_uri(uri, timeout=10, out=out) as listener:
        for code in ("one", "two"):
            browser.on_open = [f"{uri}?code={code}&state=st4te"]
            assert listener(AUTH_URL) == f"{uri}?code={code}&state=st4te"
            assert listener.redirect_uri == uri


@pytest.mark.parametrize(
    "uri",
    [
        "https://127.0.0.1:8765/cb",
        "ftp://127.0.0.1:8765/cb",
        "127.0.0.1:8765/cb",
        "http://example.com:8765/cb",
        "http://192.168.1.10:8765/cb",
        "http://0.0.0.0:8765/cb",
        "http://[::]:8765/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:port/cb",
        "http://127.0.0.1:8765/cb?x=1",
        "http://127.0.0.1:8765/cb#frag",
        "http://user@127.0.0.1:8765/cb",
        "http://127.0.0.1:8765/c b",
        "",
    ],
)
def test_for_uri_refuses_a_uri_that_is_not_a_loopback_http_uri_with_a_port(uri: str) -> None:
    with pytest.raises(ValueError, match="cannot listen for the redirect URI"):
        LoopbackRedirect.for_uri(uri)


@pytest.mark.parametrize("option", [{"host": "127.0.0.1"}, {"port": 8765}, {"path": "/cb"}])
def test_for_uri_refuses_host_port_or_path_as_options(option: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="from the redirect URI"):
        LoopbackRedirect.for_uri("http://127.0.0.1:8765/cb", **option)
