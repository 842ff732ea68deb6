"""The environment (proxy variables, REQUESTS_CA_BUNDLE, ~/.netrc) is honoured as
requests honours it, but read once per server URL instead of on every request."""

from __future__ import annotations

import base64
import ssl

import pytest
import requests
from support.local_http import LocalHTTPServer, send, write_self_signed

from mcp_sync.transports._http import new_http


def _ok(handler, received):
    send(handler, 200, b"{}", {"Content-Type": "application/json"})


@pytest.fixture(autouse=True)
def _no_inherited_environment(monkeypatch, tmp_path):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE"):
        for variant in (name, name.lower()):
            monkeypatch.delenv(variant, raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


def test_an_http_proxy_from_the_environment_carries_the_requests(monkeypatch):
    with LocalHTTPServer(_ok) as proxy, new_http() as http:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        response = http.get("http://mcp.test/mcp", timeout=5)

    assert response.status_code == 200
    assert [hit.path for hit in proxy.hits()] == ["http://mcp.test/mcp"]


def test_the_environment_is_read_once_for_many_requests_to_one_url(monkeypatch):
    reads = []
    real = requests.utils.get_environ_proxies

    def counting(url, no_proxy=None):
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.utils, "get_environ_proxies", counting)
    with LocalHTTPServer(_ok) as server, new_http() as http:
        for _ in range(5):
            assert http.post(server.url("/mcp"), data=b"{}", timeout=5).status_code == 200

    assert reads == [server.url("/mcp")]


def _netrc_for_ada(monkeypatch, folder):
    netrc = folder / "netrc"
    netrc.write_text("machine 127.0.0.1 login ada password lovelace\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


def test_netrc_credentials_are_sent_when_no_auth_is_given(monkeypatch, tmp_path):
    _netrc_for_ada(monkeypatch, tmp_path)
    with LocalHTTPServer(_ok) as server, new_http() as http:
        http.get(server.url("/mcp"), timeout=5)
        http.get(server.url("/mcp"), timeout=5)

    expected = "Basic " + base64.b64encode(b"ada:lovelace").decode()
    assert [hit.headers.get("authorization") for hit in server.hits()] == [expected] * 2


def test_no_authorization_header_is_sent_without_auth_or_netrc():
    with LocalHTTPServer(_ok) as server, new_http() as http:
        http.get(server.url("/mcp"), timeout=5)

    assert "authorization" not in server.hits()[0].headers


def test_given_auth_wins_over_netrc(monkeypatch, tmp_path):
    _netrc_for_ada(monkeypatch, tmp_path)
    with LocalHTTPServer(_ok) as server, new_http() as http:
        http.get(server.url("/mcp"), timeout=5, auth=("bob", "secret"))

    assert (
        server.hits()[0].headers["authorization"]
        == "Basic " + base64.b64encode(b"bob:secret").decode()
    )


def test_a_ca_bundle_from_the_environment_is_trusted(monkeypatch, tmp_path):
    cert = write_self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert.cert)
    with LocalHTTPServer(_ok, ssl_context=context) as server, new_http() as http:
        assert http.get(server.url("/mcp", scheme="https"), timeout=5).status_code == 200


def test_without_the_ca_bundle_the_same_server_is_refused(tmp_path):
    cert = write_self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    with (
        LocalHTTPServer(_ok, ssl_context=context) as server,
        new_http() as http,
        pytest.raises(requests.exceptions.SSLError),
    ):
        http.get(server.url("/mcp", scheme="https"), timeout=5)


def test_credentials_in_the_url_are_sent_when_no_auth_or_netrc_is_given():
    with LocalHTTPServer(_ok) as server, new_http() as http:
        url = server.url("/mcp").replace("http://", "http://ada:lovelace@")
        http.get(url, timeout=5)
        http.get(url, timeout=5)

    expected = "Basic " + base64.b64encode(b"ada:lovelace").decode()
    assert [hit.headers.get("authorization") for hit in server.hits()] == [expected] * 2
