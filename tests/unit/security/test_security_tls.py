"""TLS: certificates are verified, by default and with no switch a server could reach."""

from __future__ import annotations

import inspect
import ssl
from typing import Any

import pytest
from support.local_http import LocalHTTPServer, send

import mcp_sync
from mcp_sync.transports._http import new_http


@pytest.fixture
def untrusted_https(self_signed):
    """An HTTPS server whose certificate no default trust store knows."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(self_signed.cert, self_signed.key)
    with LocalHTTPServer(ssl_context=context) as server:
        yield server


def test_the_client_http_session_verifies_certificates():
    http = new_http()
    try:
        assert http.verify is True
    finally:
        http.close()


def test_a_client_verifies_certificates_by_default():
    client = mcp_sync.Client("https://mcp.test/mcp")
    try:
        assert client._http is not None
        assert client._http.verify is True
    finally:
        client.close()


def test_the_client_has_no_option_that_turns_verification_off():
    # What a caller can pass: nothing named like a TLS switch. A private CA is trusted
    # through REQUESTS_CA_BUNDLE (see below), never by turning verification off.
    options = set(inspect.signature(mcp_sync.Client).parameters)
    assert not options & {"verify", "cert", "ssl", "ssl_context", "insecure", "tls_verify"}
    with pytest.raises(TypeError):
        mcp_sync.Client("https://mcp.test/mcp", verify=False)  # type: ignore[call-arg]


def _connect_fails(url: str, **options: Any) -> mcp_sync.TransportError:
    """Connect a client to ``url``; it must fail with a TransportError, which is returned."""
    client = mcp_sync.Client(url, timeout=5, **options)
    try:
        with pytest.raises(mcp_sync.TransportError) as info:
            client.connect()
    finally:
        client.close()
    return info.value


def test_an_untrusted_certificate_fails_with_a_transport_error(untrusted_https):
    _connect_fails(untrusted_https.url("/mcp", scheme="https"))
    # The handshake failed before any request could be read.
    assert untrusted_https.hits() == []


def test_an_untrusted_certificate_fails_in_every_era_and_transport(untrusted_https):
    url = untrusted_https.url("/mcp", scheme="https")
    for options in ({"protocol_version": "2025-11-25"}, {"transport": "sse"}, {}):
        _connect_fails(url, **options)
    assert untrusted_https.hits() == []


def test_an_empty_curl_ca_bundle_does_not_turn_verification_off(untrusted_https, monkeypatch):
    # requests reads REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE; an empty value must not mean "off".
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    _connect_fails(untrusted_https.url("/mcp", scheme="https"), protocol_version="2025-11-25")
    assert untrusted_https.hits() == []


def test_an_untrusted_certificate_error_names_certificate_verification(untrusted_https):
    error = _connect_fails(
        untrusted_https.url("/mcp", scheme="https"), protocol_version="2025-11-25"
    )
    said = str(error).lower()
    assert "certificate" in said and "verification" in said


def test_a_private_ca_is_trusted_only_through_the_environment(self_signed, monkeypatch):
    # The positive control: with the certificate trusted, the TLS handshake succeeds and
    # the request reaches the server (which answers 404, an HTTP error, not a TLS one).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(self_signed.cert, self_signed.key)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", self_signed.cert)

    def answer(handler, received):
        send(handler, 404, b"no MCP here")

    with LocalHTTPServer(answer, ssl_context=context) as server:
        client = mcp_sync.Client(
            server.url("/mcp", scheme="https"), protocol_version="2025-11-25", timeout=5
        )
        try:
            with pytest.raises(mcp_sync.HTTPStatusError):
                client.connect()
        finally:
            client.close()
        assert server.hits()
