"""Many threads share one client while the server expires the session mid-run."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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
