"""HTTP redirects: nothing the client sends follows a redirect to another origin.

The client follows a redirect only on the server's own origin, or up from http to https
on the same host. A redirect anywhere else is not followed: the call that got it raises
:class:`mcp_sync.TransportError` naming the redirect (the listener's GET and the closing
DELETE, which no caller waits for, log it), and the other origin sees no request at all,
so neither the token, the headers given in ``headers=``, a cookie, the session id nor the
request body can reach it. A same-origin redirect, such as a server mounted under
``/mcp/`` that sends ``/mcp`` there, is followed with every header.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import responses
from support.scripted_http import PROTOCOL_VERSION, URL, Seen, serve

import mcp_sync

TOKEN = "tok-3c1f0e"
API_KEY = "key-9a8b7c"
REFUSED = "redirected to another origin"
ELSEWHERE = {
    "another host": "http://elsewhere.test",
    "another port": "http://mcp.test:8080",
    "https on another host": "https://elsewhere.test",
}
# How each origin of ELSEWHERE is named in the error.
NAMED = {
    "another host": "http://elsewhere.test:80",
    "another port": "http://mcp.test:8080",
    "https on another host": "https://elsewhere.test:443",
}
CREDENTIALS: dict[str, dict[str, Any]] = {
    "auth=": {"auth": TOKEN, "headers": {"X-Api-Key": API_KEY, "Cookie": "given=c00k1e"}},
    "headers=": {"headers": {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY}},
}


class Elsewhere:
    """Every request that reached an origin other than the server's."""

    def __init__(self, server):
        self.server = server
        self.seen: list[Seen] = []

    def register(self, origin: str) -> None:
        pattern = re.compile(re.escape(origin) + r"(/.*)?$")
        for verb in (responses.GET, responses.POST, responses.DELETE):
            self.server.mock.add_callback(verb, pattern, callback=self._answer, content_type=None)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], Any]:
        seen = self.server.record(request)  # wakes server.wait_for
        self.seen.append(seen)
        if seen.verb == "POST" and isinstance(seen.message, dict) and "id" in seen.message:
            return 200, {"Content-Type": "application/json"}, "{}"
        return 404, {}, b""


@pytest.fixture
def elsewhere(server):
    recorder = Elsewhere(server)
    for origin in ELSEWHERE.values():
        recorder.register(origin)
    return recorder


# Retries without waiting: a ping that got a redirect is sent again, and redirected again.
NO_WAIT = mcp_sync.RetryPolicy(backoff=0)


def _redirect(server, method: str, status: int, target: str) -> None:
    """Answer every ``method`` request with a redirect to ``target``."""
    reply = server.Reply(status, b"", {"Location": target})
    server.on(method, lambda seen: reply)


def _answer_with_redirect(server, how: str, target: str) -> None:
    """Arm the redirect: ``how`` is "POST 307", "POST 308", "POST 301", "GET 302" or "DELETE 307"."""
    verb, status = how.split()
    reply = server.Reply(int(status), b"", {"Location": target})
    if verb == "POST":
        _redirect(server, "ping", int(status), target)
    elif verb == "GET":
        server.get_reply = reply
    else:
        server.delete_reply = reply


def _exercise(server, make_client, how: str, caplog, **options: Any) -> str:
    """Connect, make the request that gets the redirect, and return what the client said.

    A ping raises; the listener's GET and the closing DELETE have no caller to raise
    to, so what they say is in the log.
    """
    caplog.set_level(logging.DEBUG, logger="mcp_sync")
    client = make_client(listen=how.startswith("GET"), retry=NO_WAIT, **options).connect()
    if how.startswith("POST"):
        with pytest.raises(mcp_sync.TransportError) as info:
            client.ping()
        return str(info.value)
    if how.startswith("DELETE"):
        client.close()
    else:  # the listener's GET runs on its own thread
        assert server.wait_for(lambda: REFUSED in caplog.text, timeout=5)
    return caplog.text


HOWS = ["POST 307", "POST 308", "POST 301", "GET 302", "DELETE 307"]


@pytest.mark.parametrize("credentials", list(CREDENTIALS))
@pytest.mark.parametrize("origin", list(ELSEWHERE))
@pytest.mark.parametrize("how", HOWS)
def test_a_redirect_to_another_origin_is_refused_and_nothing_reaches_it(
    server, make_client, elsewhere, caplog, how, origin, credentials
):
    server.init_headers = {"Set-Cookie": "server_session=c00k1e; Path=/"}
    _answer_with_redirect(server, how, ELSEWHERE[origin] + "/mcp")

    said = _exercise(server, make_client, how, caplog, **CREDENTIALS[credentials])

    assert REFUSED in said
    assert NAMED[origin] in said
    # No request at all: no token, header, cookie, session id or body.
    assert elsewhere.seen == []
    # The server itself got the request it redirected, with the token.
    verb = how.split()[0]
    redirected = [s for s in server.requests(verb) if s.method in (None, "ping")]
    assert redirected
    for seen in redirected:
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
        assert seen.session is not None


def test_a_request_body_is_not_resent_to_another_origin(server, make_client, elsewhere):
    # A 307 asks for the same request, body included (here the tool's arguments), elsewhere.
    _redirect(server, "tools/call", 307, ELSEWHERE["another host"] + "/mcp")
    client = make_client().connect()
    with pytest.raises(mcp_sync.TransportError, match=REFUSED):
        client.call_tool("add", {"a": 1, "b": 2})
    assert elsewhere.seen == []


def test_a_protocol_relative_redirect_to_another_host_is_refused(server, make_client, elsewhere):
    _redirect(server, "ping", 307, "//elsewhere.test/mcp")
    client = make_client(auth=TOKEN, retry=NO_WAIT).connect()
    with pytest.raises(mcp_sync.TransportError, match=REFUSED):
        client.ping()
    assert elsewhere.seen == []


def test_same_origin_redirect_keeps_the_token_and_the_session_id(server, make_client):
    # A redirect on the server's own origin is followed with every header, as the server asked.
    other_path = URL + "-moved"
    server.mount(other_path)
    server.script("ping", server.Reply(307, b"", {"Location": other_path}))
    client = make_client(auth=TOKEN, headers={"X-Api-Key": API_KEY}).connect()

    client.ping()

    moved = [s for s in server.posts("ping") if s.url == other_path]
    assert len(moved) == 1
    assert moved[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert moved[0].headers["X-Api-Key"] == API_KEY
    assert moved[0].session == client.session_id


def test_a_server_mounted_under_a_path_is_reached_through_its_redirect():
    # A server mounted at /mcp/ commonly answers /mcp with a 307 to /mcp/: every request
    # follows it, with the token, the headers and (once there is one) the session id.
    with serve(URL + "/") as server:

        def moved(request: Any) -> tuple[int, dict[str, str], Any]:
            server.record(request)
            return 307, {"Location": "/mcp/"}, b""

        for verb in (responses.POST, responses.GET, responses.DELETE):
            server.mock.add_callback(verb, URL, callback=moved, content_type=None)
        client = mcp_sync.Client(
            URL,
            auth=TOKEN,
            headers={"X-Api-Key": API_KEY},
            protocol_version=PROTOCOL_VERSION,
            listen=False,
            timeout=10,
        )
        try:
            client.connect()
            session_id = client.session_id
            client.ping()
            assert client.call_tool("add", {"a": 1, "b": 2}).text == "3"
        finally:
            client.close()

    redirected = [s for s in server.requests() if s.url == URL]
    reached = [s for s in server.requests() if s.url == URL + "/"]
    assert [(s.verb, s.method) for s in reached] == [
        ("POST", "initialize"),
        ("POST", "notifications/initialized"),
        ("POST", "ping"),
        ("POST", "tools/call"),
        ("DELETE", None),
    ]
    assert [(s.verb, s.method) for s in redirected] == [(s.verb, s.method) for s in reached]
    for seen in reached:
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["X-Api-Key"] == API_KEY
    assert session_id is not None
    assert [s.session for s in reached[1:]] == [session_id] * 4


HTTPS_URL = "https://mcp.test/mcp"


def test_a_redirect_from_http_up_to_https_on_the_same_host_is_followed(server, make_client):
    server.mount(HTTPS_URL)
    server.script("ping", server.Reply(307, b"", {"Location": HTTPS_URL}))
    client = make_client(auth=TOKEN, headers={"X-Api-Key": API_KEY}).connect()

    client.ping()

    [upgraded] = [s for s in server.posts("ping") if s.url == HTTPS_URL]
    assert upgraded.headers["Authorization"] == f"Bearer {TOKEN}"
    assert upgraded.headers["X-Api-Key"] == API_KEY
    assert upgraded.session == client.session_id


@pytest.mark.parametrize("credentials", list(CREDENTIALS))
def test_a_redirect_from_https_down_to_http_is_refused(server, make_client, credentials):
    server.mount(HTTPS_URL)
    _redirect(server, "ping", 307, URL)
    client = make_client(url=HTTPS_URL, retry=NO_WAIT, **CREDENTIALS[credentials]).connect()

    with pytest.raises(mcp_sync.TransportError, match=REFUSED):
        client.ping()

    # Nothing went out in clear text: no token, header or session id.
    assert [seen for seen in server.requests() if seen.url.startswith("http://")] == []
