"""Properties of the engine's dispatch: however the server orders, repeats or invents
responses, each concurrent request gets the outcome of the first response to its id."""

from __future__ import annotations

import threading
from typing import Any, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_sync import MCPError, jsonrpc
from mcp_sync.engine import Call, Engine
from mcp_sync.transports.base import Transport

WAIT = 10.0  # upper bound for anything a test waits on; never reached when all is well


def examples(n: int) -> int:
    """``n`` examples under the default profile, scaled by the loaded one (see conftest.py)."""
    return max(1, n * settings().max_examples // 100)


class QuietServer(Transport):
    """Records each request and answers nothing: the test delivers the responses."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.requests: list[dict[str, Any]] = []

    def send_request(self, message: dict[str, Any], call: Call) -> None:
        with self._cond:
            self.requests.append(message)
            self._cond.notify_all()

    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        pass

    def close(self) -> None:
        pass

    def wait_for_requests(self, count: int) -> list[dict[str, Any]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.requests) >= count, WAIT), self.requests
            return list(self.requests)


class Caller(threading.Thread):
    """One ``engine.request`` on its own thread; keeps what it returned or raised."""

    def __init__(self, engine: Engine, n: int):
        super().__init__(name=f"test-caller-{n}", daemon=True)
        self.engine = engine
        self.n = n
        self.outcome: Any = None

    def run(self) -> None:
        try:
            self.outcome = ("result", self.engine.request("echo", {"n": self.n}, timeout=WAIT))
        except MCPError as exc:
            self.outcome = ("error", exc.code, exc.message)
        except BaseException as exc:
            self.outcome = ("raised", repr(exc))


@st.composite
def schedules(draw: st.DrawFn) -> tuple[int, list[tuple[str, Any, str, int]]]:
    """N requests and the responses to deliver, in order: one or more for each request,
    plus responses to ids that were never sent. Entries are (target, key, kind, tag) where
    target is "request" (key: the request's index) or "unknown" (key: the id to use)."""
    n = draw(st.integers(1, 6))
    plan: list[tuple[str, Any, str, int]] = []
    for index in range(n):
        copies = draw(st.integers(1, 3))  # more than one: duplicates
        plan += [("request", index, draw(st.sampled_from(["result", "error"])), 0)] * copies
    unknown = draw(
        st.lists(
            st.one_of(
                st.integers(-5, 10_000).map(lambda i: ("int", i)),
                st.integers(0, 20).map(lambda i: ("str", i)),  # "3" is not the id 3
                st.just(("null", None)),  # an error with a null id and no stream to blame
            ),
            max_size=4,
        )
    )
    plan += [("unknown", key, "error" if key[0] == "null" else "result", 0) for key in unknown]
    plan = draw(st.permutations(plan))
    return n, [(target, key, kind, tag) for tag, (target, key, kind, _) in enumerate(plan)]


def wire_response(request_id: Any, kind: str, tag: int) -> dict[str, Any]:
    if kind == "result":
        return jsonrpc.response(request_id, {"tag": tag})
    return jsonrpc.error_response(request_id, -32000 - tag, f"error {tag}")


def expected_outcome(kind: str, tag: int) -> tuple[Any, ...]:
    if kind == "result":
        return ("result", {"tag": tag})
    return ("error", -32000 - tag, f"error {tag}")


@settings(max_examples=examples(60))
@given(schedule=schedules())
def test_each_concurrent_request_gets_the_first_response_to_its_own_id(
    schedule: tuple[int, list[tuple[str, Any, str, int]]],
) -> None:
    n, plan = schedule
    server = QuietServer()
    engine = Engine(
        server,
        request_handler=lambda method, params: {},
        notification_handler=lambda method, params: None,
    )
    server.bind(engine.receive)
    callers = [Caller(engine, index) for index in range(n)]
    try:
        for caller in callers:
            caller.start()
        sent = server.wait_for_requests(n)
        id_of = {message["params"]["n"]: message["id"] for message in sent}
        known_ids = set(id_of.values())

        expected: dict[int, tuple[Any, ...]] = {}
        for target, key, kind, tag in plan:
            if target == "request":
                request_id: Any = id_of[key]
                expected.setdefault(key, expected_outcome(kind, tag))
            elif key[0] == "int":
                request_id = key[1] if key[1] not in known_ids else max(known_ids) + 1 + key[1]
            elif key[0] == "str":
                request_id = str(key[1])
            else:
                request_id = None
            # Delivered as the bytes a server would send; unknown ids, late duplicates and
            # a null id with no origin call are dropped, never raised.
            [message] = jsonrpc.parse_payload(jsonrpc.encode(wire_response(request_id, kind, tag)))
            engine.receive(message)

        for caller in callers:
            caller.join(WAIT)
            assert not caller.is_alive(), f"request {caller.n} never finished"
        assert {c.n: c.outcome for c in callers} == expected
        with engine._lock:
            assert engine._pending == {}
            assert engine._progress_calls == {}
    finally:
        engine.close()
