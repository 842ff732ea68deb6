"""The JSON-RPC engine over an in-memory transport: correlation, timeouts, cancellation, dispatch."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional

import pytest

from mcp_sync import (
    CancelToken,
    ClientClosedError,
    MCPError,
    RequestCancelled,
    RequestTimeout,
    jsonrpc,
)
from mcp_sync.engine import Call, Engine
from mcp_sync.transports.base import Transport

WAIT = 2.0  # upper bound for anything a test waits on; never reached when all is well


class FakeTransport(Transport):
    """Keeps what the engine sends; the test plays the server through ``deliver``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.requests: list[dict[str, Any]] = []
        self.calls: dict[Any, Call] = {}
        self.sent: list[dict[str, Any]] = []
        self.send_timeouts: list[Optional[float]] = []
        # Runs on the caller's thread inside send_request, like a transport reading its response stream.
        self.on_request: Optional[Callable[[dict[str, Any], Call], None]] = None
        self.closed = False

    def send_request(self, message: dict[str, Any], call: Call) -> None:
        with self._cond:
            self.requests.append(message)
            self.calls[message["id"]] = call
            self._cond.notify_all()
        if self.on_request is not None:
            self.on_request(message, call)

    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        with self._cond:
            self.sent.append(message)
            self.send_timeouts.append(timeout)
            self._cond.notify_all()

    def close(self) -> None:
        self.closed = True

    # --- the test's side --------------------------------------------------------------------

    def deliver(self, obj: dict[str, Any], origin: Optional[Call] = None) -> None:
        self._sink(jsonrpc.parse_message(obj), origin)

    def respond(self, request_id: Any, result: Any) -> None:
        self.deliver(jsonrpc.response(request_id, result))

    def wait_for_requests(self, count: int = 1) -> list[dict[str, Any]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.requests) >= count, WAIT), self.requests
            return list(self.requests)

    def wait_for_sent(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        with self._cond:
            assert self._cond.wait_for(lambda: any(predicate(m) for m in self.sent), WAIT), (
                self.sent
            )
            return next(m for m in self.sent if predicate(m))

    def cancellations(self) -> list[dict[str, Any]]:
        with self._cond:
            return [m["params"] for m in self.sent if m.get("method") == "notifications/cancelled"]


class Background:
    """Runs ``fn`` on a thread and hands back its result or exception in ``join``."""

    def __init__(self, fn: Callable[[], Any], name: str = "test-caller"):
        self.value: Any = None
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, args=(fn,), name=name, daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.value = fn()
        except BaseException as exc:
            self.error = exc

    def join(self) -> Any:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "background call did not finish"
        if self.error is not None:
            raise self.error
        return self.value


class Handlers:
    """Records what the engine dispatches to the request and notification handlers."""

    def __init__(self) -> None:
        self.request_impl: Callable[[str, dict[str, Any]], Any] = lambda method, params: {}
        self.requests: list[tuple[str, dict[str, Any], str]] = []
        self.notifications: list[tuple[str, dict[str, Any], str]] = []
        self.notified = threading.Condition()

    def on_request(self, method: str, params: dict[str, Any]) -> Any:
        self.requests.append((method, params, threading.current_thread().name))
        return self.request_impl(method, params)

    def on_notification(self, method: str, params: dict[str, Any]) -> None:
        with self.notified:
            self.notifications.append((method, params, threading.current_thread().name))
            self.notified.notify_all()

    def wait_for_notifications(self, count: int) -> None:
        with self.notified:
            assert self.notified.wait_for(lambda: len(self.notifications) >= count, WAIT)


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def handlers() -> Handlers:
    return Handlers()


@pytest.fixture
def engine(transport: FakeTransport, handlers: Handlers) -> Iterator[Engine]:
    eng = Engine(
        transport,
        request_handler=handlers.on_request,
        notification_handler=handlers.on_notification,
    )
    transport.bind(eng.receive)
    yield eng
    eng.close()


def answer_immediately(transport: FakeTransport, result: Callable[[dict[str, Any]], Any]) -> None:
    transport.on_request = lambda message, call: transport.respond(message["id"], result(message))


def mcp_sync_threads(ignore: Iterable[threading.Thread] = ()) -> list[str]:
    known = set(ignore)
    return [
        t.name for t in threading.enumerate() if t.name.startswith("mcp_sync") and t not in known
    ]


# --- correlation ----------------------------------------------------------------------------


def test_request_returns_the_result_of_its_response(
    engine: Engine, transport: FakeTransport
) -> None:
    answer_immediately(transport, lambda message: {"echo": message["params"]["x"]})
    assert engine.request("tools/call", {"x": 5}, timeout=1.0) == {"echo": 5}


def test_request_sends_a_jsonrpc_request_message(engine: Engine, transport: FakeTransport) -> None:
    answer_immediately(transport, lambda message: {})
    engine.request("tools/list", {"cursor": "c"}, timeout=1.0)
    [sent] = transport.requests
    assert sent == {
        "jsonrpc": "2.0",
        "id": sent["id"],
        "method": "tools/list",
        "params": {"cursor": "c"},
    }


def test_responses_are_matched_to_requests_by_id_across_threads(
    engine: Engine, transport: FakeTransport
) -> None:
    callers = [
        Background(
            lambda n=n: engine.request("echo", {"n": n}, timeout=WAIT), name=f"test-caller-{n}"
        )
        for n in range(8)
    ]
    requests = transport.wait_for_requests(8)
    for message in reversed(requests):  # answer in another order than they were sent
        transport.respond(message["id"], {"n": message["params"]["n"]})
    assert [caller.join() for caller in callers] == [{"n": n} for n in range(8)]


def test_request_ids_are_unique_across_threads(engine: Engine, transport: FakeTransport) -> None:
    answer_immediately(transport, lambda message: {})
    callers = [
        Background(
            lambda: [engine.request("ping", timeout=WAIT) for _ in range(25)],
            name=f"test-caller-{i}",
        )
        for i in range(4)
    ]
    for caller in callers:
        caller.join()
    ids = [m["id"] for m in transport.requests]
    assert len(ids) == 100
    assert len(set(ids)) == 100


def test_request_ids_are_increasing_integers(engine: Engine, transport: FakeTransport) -> None:
    answer_immediately(transport, lambda message: {})
    for _ in range(5):
        engine.request("ping", timeout=1.0)
    ids = [m["id"] for m in transport.requests]
    assert all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_error_response_raises_mcp_error_with_code_message_and_data(
    engine: Engine, transport: FakeTransport
) -> None:
    transport.on_request = lambda message, call: transport.deliver(
        jsonrpc.error_response(message["id"], -32602, "Unknown tool: nope", {"tool": "nope"})
    )
    with pytest.raises(MCPError) as info:
        engine.request("tools/call", {"name": "nope"}, timeout=1.0)
    assert (info.value.code, info.value.message, info.value.data) == (
        -32602,
        "Unknown tool: nope",
        {"tool": "nope"},
    )
    assert info.value.method == "tools/call"


def test_error_response_with_null_id_fails_the_call_whose_stream_carried_it(
    engine: Engine, transport: FakeTransport
) -> None:
    transport.on_request = lambda message, call: transport.deliver(
        jsonrpc.error_response(None, -32700, "Parse error"), origin=call
    )
    with pytest.raises(MCPError) as info:
        engine.request("ping", timeout=1.0)
    assert info.value.code == -32700


def test_response_with_unknown_id_is_dropped(
    engine: Engine, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mcp_sync")
    caller = Background(lambda: engine.request("ping", timeout=WAIT))
    [message] = transport.wait_for_requests(1)
    transport.respond(message["id"] + 1000, {"wrong": True})
    transport.respond(str(message["id"]), {"wrong": True})  # same digits, other type: another id
    assert caller.thread.is_alive()
    transport.respond(message["id"], {"right": True})
    assert caller.join() == {"right": True}
    assert any(r.levelno == logging.DEBUG and "dropping" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- timeouts -------------------------------------------------------------------------------


def test_timeout_raises_request_timeout(engine: Engine) -> None:
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as info:
        engine.request("tools/call", {"name": "slow"}, timeout=0.1)
    assert 0.09 <= time.monotonic() - started < 1.0
    assert info.value.method == "tools/call"
    assert info.value.timeout == 0.1


def test_request_timeout_is_a_builtin_timeout_error(engine: Engine) -> None:
    with pytest.raises(TimeoutError):
        engine.request("ping", timeout=0.05)


def test_timeout_sends_cancelled_notification_with_the_request_id(
    engine: Engine, transport: FakeTransport
) -> None:
    with pytest.raises(RequestTimeout):
        engine.request("tools/call", timeout=0.05)
    [request] = transport.requests
    transport.wait_for_sent(lambda m: m.get("method") == "notifications/cancelled")
    [cancel] = transport.cancellations()
    assert cancel["requestId"] == request["id"]
    assert isinstance(cancel.get("reason"), str)


def test_ctrl_c_while_waiting_sends_cancelled_and_reraises(
    engine: Engine, transport: FakeTransport
) -> None:
    def interrupted(message: dict[str, Any], call: Call) -> None:
        raise KeyboardInterrupt

    transport.on_request = interrupted
    with pytest.raises(KeyboardInterrupt):
        engine.request("tools/call", timeout=5)
    [request] = transport.requests
    transport.wait_for_sent(lambda m: m.get("method") == "notifications/cancelled")
    [cancel] = transport.cancellations()
    assert cancel == {"requestId": request["id"], "reason": "interrupted"}
    transport.on_request = None  # the engine stays usable
    threading.Timer(0.05, lambda: transport.respond(transport.requests[-1]["id"], {})).start()
    assert engine.request("ping", timeout=5) == {}


def test_timeout_of_initialize_sends_no_cancellation(
    engine: Engine, transport: FakeTransport
) -> None:
    with pytest.raises(RequestTimeout):
        engine.request("initialize", {}, timeout=0.05)
    assert transport.cancellations() == []


def test_late_response_after_timeout_is_dropped_quietly(
    engine: Engine, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mcp_sync")
    with pytest.raises(RequestTimeout):
        engine.request("tools/call", timeout=0.05)
    [request] = transport.requests
    caplog.clear()
    transport.respond(request["id"], {"late": True})  # must not raise
    # One DEBUG line that it was dropped (besides the wire log of the message itself).
    records = [r for r in caplog.records if r.name.startswith("mcp_sync")]
    assert [r.levelno for r in records if r.name != "mcp_sync.wire"] == [logging.DEBUG]
    answer_immediately(transport, lambda message: {"next": True})
    assert engine.request("ping", timeout=1.0) == {"next": True}


def test_late_error_response_after_timeout_is_dropped_quietly(
    engine: Engine, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mcp_sync")
    with pytest.raises(RequestTimeout):
        engine.request("tools/call", timeout=0.05)
    caplog.clear()
    transport.deliver(
        jsonrpc.error_response(transport.requests[0]["id"], -32800, "Request cancelled")
    )
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG]


def test_timeout_none_waits_until_the_response_arrives(
    engine: Engine, transport: FakeTransport
) -> None:
    caller = Background(lambda: engine.request("tools/call", timeout=None))
    [message] = transport.wait_for_requests(1)
    time.sleep(0.3)
    assert caller.thread.is_alive()
    transport.respond(message["id"], {"done": True})
    assert caller.join() == {"done": True}
    assert transport.cancellations() == []


# --- progress -------------------------------------------------------------------------------


def progress_notification(
    token: Any, progress: float, total: Any = None, message: Any = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"progressToken": token, "progress": progress}
    if total is not None:
        params["total"] = total
    if message is not None:
        params["message"] = message
    return jsonrpc.notification("notifications/progress", params)


def test_progress_token_is_the_request_id_in_params_meta(
    engine: Engine, transport: FakeTransport
) -> None:
    answer_immediately(transport, lambda message: {})
    engine.request("tools/call", {"name": "t"}, timeout=1.0, progress=lambda *a: None)
    [sent] = transport.requests
    assert sent["params"]["_meta"]["progressToken"] == sent["id"]
    assert sent["params"]["name"] == "t"


def test_progress_token_keeps_existing_meta_and_leaves_callers_params_alone(
    engine: Engine, transport: FakeTransport
) -> None:
    answer_immediately(transport, lambda message: {})
    params = {"name": "t", "_meta": {"trace": "abc"}}
    engine.request("tools/call", params, timeout=1.0, progress=lambda *a: None)
    assert transport.requests[0]["params"]["_meta"] == {
        "trace": "abc",
        "progressToken": transport.requests[0]["id"],
    }
    assert params == {"name": "t", "_meta": {"trace": "abc"}}


def test_request_without_progress_callback_has_no_progress_token(
    engine: Engine, transport: FakeTransport
) -> None:
    answer_immediately(transport, lambda message: {})
    engine.request("tools/call", {"name": "t"}, timeout=1.0)
    assert "_meta" not in transport.requests[0]["params"]


def test_progress_notifications_call_the_callback_in_order_with_progress_total_and_message(
    engine: Engine, transport: FakeTransport
) -> None:
    seen: list[tuple[Any, Any, Any, str]] = []

    def progress(p: float, total: Optional[float], message: Optional[str]) -> None:
        seen.append((p, total, message, threading.current_thread().name))

    caller = Background(
        lambda: engine.request("tools/call", timeout=WAIT, progress=progress), name="test-caller"
    )
    [request] = transport.wait_for_requests(1)
    token = request["params"]["_meta"]["progressToken"]
    transport.deliver(progress_notification(token, 1, 3, "one"))
    transport.deliver(progress_notification(token, 2, 3))
    transport.deliver(progress_notification(token, 2.5))
    transport.deliver(progress_notification(token, 3, 3, "done"))
    transport.respond(request["id"], {"ok": True})
    assert caller.join() == {"ok": True}
    assert [s[:3] for s in seen] == [(1, 3, "one"), (2, 3, None), (2.5, None, None), (3, 3, "done")]


def test_progress_read_by_another_thread_runs_the_callback_on_the_callers_thread(
    engine: Engine, transport: FakeTransport
) -> None:
    threads: list[str] = []
    caller = Background(
        lambda: engine.request(
            "tools/call",
            timeout=WAIT,
            progress=lambda *a: threads.append(threading.current_thread().name),
        ),
        name="test-caller",
    )
    [request] = transport.wait_for_requests(1)
    transport.deliver(progress_notification(request["id"], 1))
    transport.respond(request["id"], {})
    caller.join()
    assert threads == ["test-caller"]


def test_progress_read_on_the_callers_thread_reaches_the_callback(
    engine: Engine, transport: FakeTransport
) -> None:
    def server(message: dict[str, Any], call: Call) -> None:
        token = message["params"]["_meta"]["progressToken"]
        transport.deliver(progress_notification(token, 1, 2, "half"), origin=call)
        transport.deliver(progress_notification(token, 2, 2, "all"), origin=call)
        transport.respond(message["id"], {"ok": True})

    transport.on_request = server
    seen: list[tuple[Any, Any, Any]] = []
    assert engine.request("tools/call", timeout=1.0, progress=lambda *a: seen.append(a)) == {
        "ok": True
    }
    assert seen == [(1, 2, "half"), (2, 2, "all")]


def test_progress_for_an_unknown_token_is_dropped(engine: Engine, transport: FakeTransport) -> None:
    seen: list[Any] = []
    caller = Background(
        lambda: engine.request("tools/call", timeout=WAIT, progress=lambda *a: seen.append(a))
    )
    [request] = transport.wait_for_requests(1)
    transport.deliver(progress_notification("someone-else", 1))
    transport.deliver(progress_notification(request["id"] + 1000, 1))
    transport.respond(request["id"], {})
    caller.join()
    assert seen == []


def test_a_failing_progress_callback_does_not_fail_the_request(
    engine: Engine, transport: FakeTransport
) -> None:
    def progress(*args: Any) -> None:
        raise RuntimeError("callback bug")

    caller = Background(lambda: engine.request("tools/call", timeout=WAIT, progress=progress))
    [request] = transport.wait_for_requests(1)
    transport.deliver(progress_notification(request["id"], 1))
    transport.respond(request["id"], {"ok": True})
    assert caller.join() == {"ok": True}


def test_progress_with_an_unhashable_token_is_dropped(
    engine: Engine, transport: FakeTransport
) -> None:
    transport.deliver(progress_notification([1], 1))


def _send_progress_every(
    transport: FakeTransport, token: Any, interval: float, stop: threading.Event
) -> Background:
    def run() -> None:
        n = 0
        while not stop.wait(interval):
            n += 1
            transport.deliver(progress_notification(token, n))

    return Background(run, name="test-server")


def test_progress_resets_the_timeout(engine: Engine, transport: FakeTransport) -> None:
    stop = threading.Event()
    caller = Background(lambda: engine.request("tools/call", timeout=0.2, progress=lambda *a: None))
    [request] = transport.wait_for_requests(1)
    server = _send_progress_every(transport, request["id"], 0.05, stop)
    time.sleep(0.5)  # well past the 0.2 s timeout, but progress keeps coming
    assert caller.thread.is_alive()
    stop.set()
    server.join()
    transport.respond(request["id"], {"ok": True})
    assert caller.join() == {"ok": True}


def test_progress_does_not_reset_the_timeout_when_reset_on_progress_is_off(
    engine: Engine, transport: FakeTransport
) -> None:
    stop = threading.Event()
    started = time.monotonic()
    caller = Background(
        lambda: engine.request(
            "tools/call", timeout=0.2, progress=lambda *a: None, reset_on_progress=False
        )
    )
    [request] = transport.wait_for_requests(1)
    server = _send_progress_every(transport, request["id"], 0.05, stop)
    try:
        with pytest.raises(RequestTimeout):
            caller.join()
    finally:
        stop.set()
        server.join()
    assert time.monotonic() - started < 0.45


def test_progress_never_extends_the_timeout_past_max_timeout(
    engine: Engine, transport: FakeTransport
) -> None:
    stop = threading.Event()
    started = time.monotonic()
    caller = Background(
        lambda: engine.request("tools/call", timeout=0.2, max_timeout=0.4, progress=lambda *a: None)
    )
    [request] = transport.wait_for_requests(1)
    server = _send_progress_every(transport, request["id"], 0.05, stop)
    try:
        with pytest.raises(RequestTimeout):
            caller.join()
    finally:
        stop.set()
        server.join()
    elapsed = time.monotonic() - started
    assert 0.38 <= elapsed < 0.8
    _wait_for_cancellations(transport, 1)
    assert [c["requestId"] for c in transport.cancellations()] == [request["id"]]


# --- cancellation ---------------------------------------------------------------------------


def _wait_for_cancellations(transport: FakeTransport, count: int, timeout: float = 2.0) -> None:
    """Cancellation notices go out on a handler thread, just after the caller returns."""
    end = time.monotonic() + timeout
    while len(transport.cancellations()) < count and time.monotonic() < end:
        time.sleep(0.01)


def test_cancel_from_another_thread_raises_request_cancelled_in_the_caller(
    engine: Engine, transport: FakeTransport
) -> None:
    token = CancelToken()
    caller = Background(lambda: engine.request("tools/call", timeout=WAIT, cancel=token))
    transport.wait_for_requests(1)
    started = time.monotonic()
    token.cancel("user pressed stop")
    with pytest.raises(RequestCancelled) as info:
        caller.join()
    assert time.monotonic() - started < 0.5
    assert info.value.method == "tools/call"
    assert info.value.reason == "user pressed stop"


def test_cancel_sends_cancelled_notification_with_request_id_and_reason(
    engine: Engine, transport: FakeTransport
) -> None:
    token = CancelToken()
    caller = Background(lambda: engine.request("tools/call", timeout=WAIT, cancel=token))
    [request] = transport.wait_for_requests(1)
    token.cancel("user pressed stop")
    with pytest.raises(RequestCancelled):
        caller.join()
    _wait_for_cancellations(transport, 1)
    assert transport.cancellations() == [
        {"requestId": request["id"], "reason": "user pressed stop"}
    ]


def test_cancelled_token_fails_a_new_request_immediately(
    engine: Engine, transport: FakeTransport
) -> None:
    token = CancelToken()
    token.cancel("gone")
    assert token.cancelled
    started = time.monotonic()
    with pytest.raises(RequestCancelled) as info:
        engine.request("tools/call", timeout=WAIT, cancel=token)
    assert time.monotonic() - started < 0.2
    assert info.value.reason == "gone"
    assert transport.requests == []
    assert transport.sent == []


def test_cancel_token_cancels_every_request_bound_to_it(
    engine: Engine, transport: FakeTransport
) -> None:
    token = CancelToken()
    callers = [
        Background(lambda: engine.request("tools/call", timeout=WAIT, cancel=token))
        for _ in range(3)
    ]
    requests = transport.wait_for_requests(3)
    token.cancel()
    for caller in callers:
        with pytest.raises(RequestCancelled):
            caller.join()
    _wait_for_cancellations(transport, 3)
    assert sorted(c["requestId"] for c in transport.cancellations()) == sorted(
        r["id"] for r in requests
    )


def test_cancel_after_the_response_changes_nothing(
    engine: Engine, transport: FakeTransport
) -> None:
    answer_immediately(transport, lambda message: {"ok": True})
    token = CancelToken()
    assert engine.request("ping", timeout=1.0, cancel=token) == {"ok": True}
    token.cancel()
    assert transport.cancellations() == []


# --- requests and notifications from the server ---------------------------------------------


def test_server_request_is_dispatched_off_the_reading_thread_and_answered(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    release = threading.Event()

    def slow_handler(method: str, params: dict[str, Any]) -> Any:
        assert release.wait(WAIT)
        return {"roots": []}

    handlers.request_impl = slow_handler
    started = time.monotonic()
    transport.deliver(jsonrpc.request("srv-1", "roots/list", {"x": 1}))
    assert time.monotonic() - started < 0.5  # receive() did not wait for the handler
    release.set()
    answer = transport.wait_for_sent(lambda m: m.get("id") == "srv-1")
    assert answer == {"jsonrpc": "2.0", "id": "srv-1", "result": {"roots": []}}
    [(method, params, thread_name)] = handlers.requests
    assert (method, params) == ("roots/list", {"x": 1})
    assert thread_name != threading.current_thread().name
    assert thread_name.startswith("mcp_sync-")


def test_server_request_without_params_gets_empty_params(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    transport.deliver(jsonrpc.request(4, "ping"))
    transport.wait_for_sent(lambda m: m.get("id") == 4)
    assert handlers.requests[0][1] == {}


def test_handler_raising_mcp_error_answers_with_that_error(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    def refuse(method: str, params: dict[str, Any]) -> Any:
        raise MCPError(-32601, "Method not found", {"method": method})

    handlers.request_impl = refuse
    transport.deliver(jsonrpc.request(7, "sampling/createMessage", {}))
    answer = transport.wait_for_sent(lambda m: m.get("id") == 7)
    assert answer == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {
            "code": -32601,
            "message": "Method not found",
            "data": {"method": "sampling/createMessage"},
        },
    }


def test_handler_raising_another_exception_answers_internal_error(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    def crash(method: str, params: dict[str, Any]) -> Any:
        raise RuntimeError("secret detail")

    handlers.request_impl = crash
    transport.deliver(jsonrpc.request(8, "elicitation/create", {}))
    answer = transport.wait_for_sent(lambda m: m.get("id") == 8)
    assert answer["error"]["code"] == -32603
    assert "secret detail" not in answer["error"]["message"]
    assert "result" not in answer


def test_server_requests_run_concurrently(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    barrier = threading.Barrier(2, timeout=WAIT)

    def meet(method: str, params: dict[str, Any]) -> Any:
        barrier.wait()  # only returns when both handlers run at once
        return {}

    handlers.request_impl = meet
    transport.deliver(jsonrpc.request("a", "ping"))
    transport.deliver(jsonrpc.request("b", "ping"))
    transport.wait_for_sent(lambda m: m.get("id") == "a")
    transport.wait_for_sent(lambda m: m.get("id") == "b")
    assert not any("error" in m for m in transport.sent)


def test_server_cancellation_of_an_in_flight_request_suppresses_its_answer(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow(method: str, params: dict[str, Any]) -> Any:
        entered.set()
        assert release.wait(WAIT)
        return {"late": True}

    handlers.request_impl = slow
    transport.deliver(jsonrpc.request("srv-9", "sampling/createMessage", {}))
    assert entered.wait(WAIT)
    transport.deliver(
        jsonrpc.notification("notifications/cancelled", {"requestId": "srv-9", "reason": "stop"})
    )
    release.set()
    engine.close()  # joins the handler threads, so the handler has finished
    assert [m for m in transport.sent if m.get("id") == "srv-9"] == []


def test_server_cancellation_of_another_request_does_not_suppress_the_answer(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow(method: str, params: dict[str, Any]) -> Any:
        entered.set()
        assert release.wait(WAIT)
        return {}

    handlers.request_impl = slow
    transport.deliver(jsonrpc.request("srv-1", "ping"))
    assert entered.wait(WAIT)
    transport.deliver(jsonrpc.notification("notifications/cancelled", {"requestId": "srv-2"}))
    release.set()
    transport.wait_for_sent(lambda m: m.get("id") == "srv-1")


def test_server_cancellation_with_an_unhashable_request_id_is_ignored(
    engine: Engine, transport: FakeTransport
) -> None:
    transport.deliver(jsonrpc.notification("notifications/cancelled", {"requestId": {"a": 1}}))


def test_server_notifications_reach_the_notification_handler_in_order_off_the_reading_thread(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    for n in range(5):
        transport.deliver(
            jsonrpc.notification("notifications/message", {"level": "info", "data": n})
        )
    handlers.wait_for_notifications(5)
    assert [(m, p["data"]) for m, p, _ in handlers.notifications] == [
        ("notifications/message", n) for n in range(5)
    ]
    assert all(name.startswith("mcp_sync-") for _, _, name in handlers.notifications)


def test_progress_notifications_do_not_reach_the_notification_handler(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    transport.deliver(progress_notification(1, 1))
    transport.deliver(jsonrpc.notification("notifications/tools/list_changed"))
    handlers.wait_for_notifications(1)
    engine.close()
    assert [m for m, _, _ in handlers.notifications] == ["notifications/tools/list_changed"]


# --- closing --------------------------------------------------------------------------------


def test_close_fails_pending_requests_with_client_closed_error(
    engine: Engine, transport: FakeTransport
) -> None:
    callers = [Background(lambda: engine.request("tools/call", timeout=WAIT)) for _ in range(2)]
    transport.wait_for_requests(2)
    started = time.monotonic()
    engine.close()
    for caller in callers:
        with pytest.raises(ClientClosedError):
            caller.join()
    assert time.monotonic() - started < 0.5


def test_close_joins_every_mcp_sync_thread(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    earlier = threading.enumerate()  # threads other tests may have left behind
    transport.deliver(jsonrpc.request("srv-1", "ping"))
    transport.deliver(jsonrpc.notification("notifications/message", {"level": "info"}))
    transport.wait_for_sent(lambda m: m.get("id") == "srv-1")
    handlers.wait_for_notifications(1)
    assert mcp_sync_threads(earlier)
    engine.close()
    assert mcp_sync_threads(earlier) == []


def test_close_is_idempotent(engine: Engine) -> None:
    engine.close()
    engine.close()


def test_request_after_close_raises_client_closed_error(
    engine: Engine, transport: FakeTransport
) -> None:
    engine.close()
    with pytest.raises(ClientClosedError):
        engine.request("ping", timeout=1.0)
    assert transport.requests == []


def test_notify_after_close_raises_client_closed_error(
    engine: Engine, transport: FakeTransport
) -> None:
    engine.close()
    with pytest.raises(ClientClosedError):
        engine.notify("notifications/initialized", timeout=1.0)
    assert transport.sent == []


def test_server_request_after_close_is_not_dispatched(
    engine: Engine, transport: FakeTransport, handlers: Handlers
) -> None:
    earlier = threading.enumerate()
    engine.close()
    transport.deliver(jsonrpc.request("srv-1", "ping"))
    assert handlers.requests == []
    assert transport.sent == []
    assert mcp_sync_threads(earlier) == []


def test_notify_sends_a_notification_message(engine: Engine, transport: FakeTransport) -> None:
    engine.notify("notifications/roots/list_changed", timeout=1.5)
    assert transport.sent == [{"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}]
    assert transport.send_timeouts == [1.5]
