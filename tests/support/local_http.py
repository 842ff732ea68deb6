"""A plain HTTP server on real sockets, and a self-signed certificate for it.

``LocalHTTPServer``  a ThreadingHTTPServer on 127.0.0.1 that answers every request
    through one function and records what it received; ``ssl_context`` makes it HTTPS.
``send``  answers a request with a body of known length.
``write_self_signed``  writes a certificate for 127.0.0.1 and ``localhost`` and its key.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

from support.local_oauth import send

__all__ = ["Answer", "CertFiles", "LocalHTTPServer", "Received", "send", "write_self_signed"]


@dataclass
class Received:
    """One request a LocalHTTPServer received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[BaseHTTPRequestHandler, Received], None]


def _not_found(handler: BaseHTTPRequestHandler, received: Received) -> None:
    send(handler, 404, b"not here")


class LocalHTTPServer:
    """A ThreadingHTTPServer on 127.0.0.1; use it as a context manager."""

    def __init__(self, answer: Answer = _not_found, ssl_context: Optional[ssl.SSLContext] = None):
        self.answer = answer
        self.received: list[Received] = []
        self._lock = threading.Lock()
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with owner._lock:
                    owner.received.append(received)
                owner.answer(self, received)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up (or refused the certificate) is no test failure

        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/", scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def hits(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


@dataclass
class CertFiles:
    """Where a certificate and its key were written (PEM)."""

    cert: str
    key: str


def write_self_signed(folder: Path) -> CertFiles:
    """Write a self-signed CA certificate valid for 127.0.0.1 and localhost, with its key.

    Needs the ``cryptography`` package.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcp_sync test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return CertFiles(str(cert_path), str(key_path))
