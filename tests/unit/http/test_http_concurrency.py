"""Many threads share one client while the server expires the session mid-run."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from support.local_oauth import REDIRECT_URI, LocalOAuthServer, send

from mcp_sync.engine import Call
from mcp_sync.oauth import OAuth
from mcp_sync.transports._http import new_http, send_http

THREADS = 16
CALLS_PER_THREAD = 50
EXPIRE_AFTER = 200


def test_concurrent_calls_across_a_session_expiry_each_get_their_own_result_with_one_reinitialize(
    server, client
):
    lock = threading.Lock()
    counted = {"calls": 0}

    def add(seen):
        with lock:
            counted["calls"] += 1
            if counted["calls"] == EXPIRE_AFTER:
                # From now on the old session id is answered 404.
                server.expire_session()
        args = seen.params["arguments"]
        return {
            "content": [{"type": "text", "text": str(args["a"] + args["b"])}],
            "structuredContent": {"sum": args["a"] + args["b"]},
        }

    server.on("tools/call", add)

    def worker(i):
        results = []
        for j in range(CALLS_PER_THREAD):
            result = client.call_tool("add", {"a": i, "b": j})
            results.append((i + j, result.structured_content["sum"], result.text))
        return results

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [
            f.result(timeout=30) for f in [pool.submit(worker, i * 1000) for i in range(THREADS)]
        ]

    for results in outcomes:
        assert len(results) == CALLS_PER_THREAD
        for expected, got, text in results:
            assert got == expected
            assert text == str(expected)
    initializes = server.initializes()
    assert len(initializes) == 2
    assert initializes[1].session is None
    assert server.session_id == "session-2"


def test_cancelling_a_request_during_its_sign_in_does_not_cut_the_connection_another_request_took():
    # The 401 of the cancelled request went back to the pool while the person signed in;
    # another thread's request took that connection, and the cancel must leave it alone.
    signing_in, resume = threading.Event(), threading.Event()
    slow_arrived, slow_answer = threading.Event(), threading.Event()

    def app(handler, path, body):
        if path == "/slow":
            slow_arrived.set()
            slow_answer.wait(5)
            send(handler, 200, "slow-ok")
        elif server.authorized(handler):
            send(handler, 200, "{}", {"Content-Type": "application/json"})
        else:
            server.unauthorized(handler)

    def person(url):
        signing_in.set()
        resume.wait(5)
        return server.redirect_handler(url)

    with LocalOAuthServer(app) as server:
        auth = OAuth(client_id="app", redirect_handler=person, redirect_uri=REDIRECT_URI)
        http = new_http()
        calls, outcome = [], {}

        def cancelled_request():
            call = Call(1, "tools/call", 30.0, None, None, True)
            calls.append(call)
            try:
                send_http(
                    http,
                    "POST",
                    server.origin + "/mcp",
                    headers={},
                    auth=auth,
                    connect_timeout=5,
                    read_timeout=5,
                    data=b"{}",
                    call=call,
                )
            except BaseException as exc:  # how it ends does not matter here
                outcome["cancelled"] = exc

        def other_request():
            try:
                outcome["other"] = http.get(server.origin + "/slow", timeout=5).text
            except Exception as exc:
                outcome["other"] = exc

        first = threading.Thread(target=cancelled_request)
        first.start()
        assert signing_in.wait(5)
        second = threading.Thread(target=other_request)
        second.start()
        assert slow_arrived.wait(5)

        calls[0].interrupt(Call.CANCELLED)
        slow_answer.set()
        second.join(5)
        resume.set()
        first.join(5)
        http.close()

    assert outcome["other"] == "slow-ok"
