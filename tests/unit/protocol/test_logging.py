"""Logging: a NullHandler on ``mcp_sync``, the wire at DEBUG on ``mcp_sync.wire`` with
secrets and session ids redacted, and one WARNING line per session reset."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Optional

import pytest
import responses

import mcp_sync
from mcp_sync import _wirelog, jsonrpc
from mcp_sync.engine import Call, Engine
from mcp_sync.transports.base import Transport

WIRE = "mcp_sync.wire"
SESSION_ID = "sess-7f3a9c-do-not-log"
SECRETS = ("sk-live-123", "hunter2", "abc.def.ghi", "cookie-value-42", "s3cr3t")


class Exploding:
    """Fails the test if anything formats it."""

    def __repr__(self) -> str:
        raise AssertionError("formatted while logging was off")

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        raise AssertionError("formatted while logging was off")


class SessionTransport(Transport):
    """Answers each request at once with ``result``; has a session id, as HTTP does."""

    def __init__(self, result: Any = None) -> None:
        self.result = result if result is not None else {}
        self.sent: list[dict[str, Any]] = []

    @property
    def session_id(self) -> Optional[str]:
        return SESSION_ID

    def send_request(self, message: dict[str, Any], call: Call) -> None:
        self._sink(jsonrpc.parse_message(jsonrpc.response(message["id"], self.result)), call)

    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        self.sent.append(message)

    def close(self) -> None:
        pass

    def deliver(self, obj: dict[str, Any]) -> None:
        self._sink(jsonrpc.parse_message(obj), None)


def make_engine(transport: Transport, answer: Any = None) -> Engine:
    engine = Engine(
        transport,
        request_handler=lambda method, params: answer if answer is not None else {},
        notification_handler=lambda method, params: None,
    )
    transport.bind(engine.receive)
    return engine


def wire_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WIRE]


def mcp_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("mcp_sync"))


# --- handlers -------------------------------------------------------------------------------


def test_the_package_logger_has_a_null_handler() -> None:
    handlers = logging.getLogger("mcp_sync").handlers

    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_the_wire_logger_is_under_the_package_logger() -> None:
    assert _wirelog.wire_log.name == WIRE
    assert _wirelog.wire_log.parent is logging.getLogger("mcp_sync")


# --- the wire at DEBUG ----------------------------------------------------------------------


def test_requests_and_responses_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)
    engine = make_engine(SessionTransport({"tools": [{"name": "add"}]}))

    engine.request("tools/list", {"cursor": "c1"}, timeout=5)

    sent, received = wire_lines(caplog)
    assert sent.startswith("send ")
    assert json.loads(sent[5:]) == {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {"cursor": "c1"},
    }
    assert received.startswith("recv ")
    assert json.loads(received[5:]) == {"id": 1, "result": {"tools": [{"name": "add"}]}}
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == WIRE)


def test_notifications_server_requests_and_answers_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)
    transport = SessionTransport()
    engine = make_engine(transport, answer={"roots": []})

    engine.notify("notifications/initialized", None, timeout=5)
    transport.deliver(jsonrpc.request("srv-1", "roots/list"))
    transport.deliver(jsonrpc.notification("notifications/tools/list_changed"))
    engine.close()  # waits for the handler thread that answers roots/list

    lines = wire_lines(caplog)
    assert any(line.startswith("send ") and "notifications/initialized" in line for line in lines)
    assert any(line.startswith("recv ") and "roots/list" in line for line in lines)
    assert any(line.startswith("recv ") and "list_changed" in line for line in lines)
    assert any(line.startswith("send ") and '"srv-1"' in line and "roots" in line for line in lines)
    assert transport.sent[-1]["id"] == "srv-1"


def test_error_responses_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)
    transport = SessionTransport()
    make_engine(transport)

    transport.deliver(jsonrpc.error_response(9, -32601, "no such method", {"password": "hunter2"}))

    (line,) = wire_lines(caplog)
    assert json.loads(line[5:]) == {
        "id": 9,
        "error": {"code": -32601, "message": "no such method", "data": {"password": "<redacted>"}},
    }


def test_secrets_in_params_are_redacted_at_any_depth(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)
    engine = make_engine(SessionTransport())
    arguments = {
        "apiKey": "sk-live-123",
        "api_key": "sk-live-123",
        "nested": [{"password": "hunter2", "access_token": "abc.def.ghi"}],
        "Authorization": "Bearer abc.def.ghi",
        "headers": {"Cookie": "cookie-value-42", "X-Api-Key": "s3cr3t"},
        "client_secret": "s3cr3t",
        "note": "Bearer abc.def.ghi",
        "prose": "Bearer of good news, basic facts",
        "city": "Paris",
    }

    engine.request(
        "tools/call", {"name": "weather", "arguments": arguments}, timeout=5, progress=print
    )

    sent = wire_lines(caplog)[0]
    logged = json.loads(sent[5:])["params"]
    assert not any(secret in sent for secret in SECRETS)
    assert logged["arguments"]["apiKey"] == "<redacted>"
    assert logged["arguments"]["nested"][0] == {
        "password": "<redacted>",
        "access_token": "<redacted>",
    }
    assert logged["arguments"]["headers"] == {"Cookie": "<redacted>", "X-Api-Key": "<redacted>"}
    assert logged["arguments"]["note"] == "<redacted>"  # a credential under any key
    assert logged["arguments"]["prose"] == "Bearer of good news, basic facts"
    assert logged["arguments"]["city"] == "Paris"
    assert logged["name"] == "weather"
    assert logged["_meta"]["progressToken"] == 1  # a request handle, not a secret


def test_secrets_in_results_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)
    engine = make_engine(SessionTransport({"refresh_token": "abc.def.ghi", "ok": True}))

    assert engine.request("x/y", None, timeout=5) == {"refresh_token": "abc.def.ghi", "ok": True}

    received = wire_lines(caplog)[1]
    assert "abc.def.ghi" not in received
    assert json.loads(received[5:])["result"] == {"refresh_token": "<redacted>", "ok": True}


def test_the_session_id_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)
    engine = make_engine(SessionTransport({"echo": f"you are on {SESSION_ID}"}))

    engine.request("echo", {"text": SESSION_ID, "sessionId": "other-id"}, timeout=5)

    text = "\n".join(wire_lines(caplog))
    assert SESSION_ID not in text
    assert "other-id" not in text
    assert f'"text":"{_wirelog.SESSION}"' in text
    assert f"you are on {_wirelog.SESSION}" in text


def test_a_logged_message_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)
    engine = make_engine(SessionTransport({"content": [{"type": "text", "text": "x" * 100_000}]}))
    huge = {"items": list(range(10_000)), "deep": {}}
    node: dict[str, Any] = huge["deep"]
    for _ in range(100):
        node["d"] = {}
        node = node["d"]

    engine.request("tools/call", {"arguments": huge, "blob": "y" * 1_000_000}, timeout=5)

    for line in wire_lines(caplog):
        assert len(line) <= _wirelog.MAX_LINE + 100
    assert "more chars" in wire_lines(caplog)[1]


def test_a_value_that_is_not_json_is_named_not_formatted() -> None:
    assert _wirelog.redact({"x": Exploding()}) == {"x": "<Exploding>"}


# --- nothing formatted when the wire logger is off ------------------------------------------


def test_nothing_is_formatted_when_debug_is_off(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="mcp_sync")
    formatted: list[Any] = []

    def refuse(*args: Any) -> str:
        formatted.append(args)
        raise AssertionError("formatted while logging was off")

    monkeypatch.setattr(_wirelog, "_format", refuse)
    monkeypatch.setattr(_wirelog, "redact", refuse)
    transport = SessionTransport({"token": Exploding()})
    engine = make_engine(transport)

    engine.request("tools/call", {"arguments": {"x": Exploding()}}, timeout=5)
    engine.notify("notifications/initialized", {"x": Exploding()}, timeout=5)
    transport.deliver(jsonrpc.notification("notifications/message", {"data": "hi"}))
    _wirelog.log_outgoing({"params": {"x": Exploding()}}, transport)
    engine.close()

    assert formatted == []
    assert wire_lines(caplog) == []


def test_logging_never_breaks_the_exchange(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE)

    def broken(*args: Any) -> str:
        raise RuntimeError("formatting failed")

    monkeypatch.setattr(_wirelog, "_format", broken)
    engine = make_engine(SessionTransport({"ok": True}))

    assert engine.request("ping", None, timeout=5) == {"ok": True}
    assert wire_lines(caplog) == ["send <unprintable>", "recv <unprintable>"]


# --- over HTTP: headers, and the session reset warning --------------------------------------

URL = "http://logging.test/mcp"


class SessionServer:
    """A Streamable HTTP server behind `responses` that can forget its session."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions = 0
        self.live: set[str] = set()

    def session(self, n: int) -> str:
        return f"{SESSION_ID}-{n}"

    def expire(self) -> None:
        with self.lock:
            self.live.clear()

    def on_post(self, request: Any) -> tuple[int, dict[str, str], str]:
        message = json.loads(request.body)
        headers = {"Content-Type": "application/json"}
        if message.get("method") == "initialize":
            with self.lock:
                self.sessions += 1
                session = self.session(self.sessions)
                self.live.add(session)
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "s", "version": "1"},
            }
            headers["Mcp-Session-Id"] = session
            return 200, headers, json.dumps(jsonrpc.response(message["id"], result))
        with self.lock:
            known = request.headers.get("Mcp-Session-Id") in self.live
        if not known:
            error = jsonrpc.error_response(None, -32600, "Session not found")
            return 404, headers, json.dumps(error)
        if "id" not in message:
            return 202, {}, ""
        return 200, headers, json.dumps(jsonrpc.response(message["id"], {}))


@pytest.fixture
def session_server() -> Any:
    server = SessionServer()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, URL, callback=server.on_post, content_type=None)
        mock.add(responses.GET, URL, status=405)
        mock.add(responses.DELETE, URL, status=200)
        yield server


def test_http_traffic_logs_no_header_and_no_session_id(
    session_server: SessionServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mcp_sync")
    client = mcp_sync.Client(
        URL,
        protocol_version="2025-11-25",
        timeout=10,
        auth=mcp_sync.BearerAuth("sk-live-123"),
    )
    try:
        client.connect()
        client.ping()
    finally:
        client.close()

    lines = wire_lines(caplog)
    assert any('"method":"initialize"' in line for line in lines)
    assert any('"method":"ping"' in line for line in lines)
    text = mcp_text(caplog)
    assert session_server.session(1) not in text
    assert "sk-live-123" not in text
    assert "Mcp-Session-Id" not in text


def test_a_session_reset_logs_one_warning_line(
    session_server: SessionServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mcp_sync")
    client = mcp_sync.Client(URL, protocol_version="2025-11-25", timeout=10).connect()
    try:
        caplog.clear()
        session_server.expire()
        client.ping()
        first = [r for r in caplog.records if r.levelno >= logging.WARNING]

        caplog.clear()
        session_server.expire()
        client.ping()
        second = [r for r in caplog.records if r.levelno >= logging.WARNING]

        caplog.clear()
        client.ping()
        quiet = [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        client.close()

    assert session_server.sessions == 3
    for records in (first, second):
        (record,) = records
        assert record.levelno == logging.WARNING
        assert record.name.startswith("mcp_sync")
        message = record.getMessage()
        assert "session" in message and "\n" not in message
        assert SESSION_ID not in message
    assert quiet == []
