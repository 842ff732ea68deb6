"""Many threads, one client, a server that forgets sessions and a proxy that cuts streams.

32 threads each make 1,000 ``add`` calls on one client, through a fault proxy in front
of the in-process test server. Every 100th call the server forgets every session;
every 50th ``tools/call`` stream is cut before its answer. The tool is idempotent, so
the client is told it may resend it. Every result must be the sum of its own
arguments (no lost, duplicated or mixed-up answers), no call may fail, and memory
must stay flat.

The full size runs with ``tox -e soak`` (it sets ``MCP_SYNC_SOAK=full``) and writes its
figures to ``.cache/soak.json``; the test suite runs a small one.
"""

from __future__ import annotations

import gc
import json
import os
import random
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from support.fault_proxy import FaultProxy

import mcp_sync
from mcp_sync.testing import MCPTestServer

FULL = os.environ.get("MCP_SYNC_SOAK") == "full"
THREADS = 32 if FULL else 8
CALLS = 1000 if FULL else 60
EXPIRE_EVERY = 100
DROP_EVERY = 50
REPORT = Path(__file__).resolve().parents[2] / ".cache" / "soak.json"


@pytest.mark.parametrize("version", ["2025-11-25", None], ids=["legacy", "modern"])
@pytest.mark.timeout(1800 if FULL else 120)
def test_many_threads_one_client_faults_all_along(version, tmp_path):
    server = MCPTestServer()

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    counter_lock = threading.Lock()  # guards calls_made; every worker thread touches it
    calls_made = 0
    wrong: list[str] = []
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    with server, FaultProxy(server.url) as proxy:
        proxy.drop(method="tools/call", count=None, every=DROP_EVERY)
        client = mcp_sync.Client(
            proxy.url,
            protocol_version=version,
            timeout=30,
            # Sessions are lost about once a second here, and a call that waits behind 31
            # others may see several go: it may start up to 8 in all (still bounded).
            recovery=mcp_sync.RecoveryPolicy(
                resend_interrupted_calls=True, max_reinitializations=8
            ),
            retry=mcp_sync.RetryPolicy(retry_tool_calls=True, backoff=0.01, backoff_max=0.1),
        )
        with client:
            client.call_tool("add", {"a": 0, "b": 0})  # warm up: connections, caches

            def work(seed: int) -> None:
                nonlocal calls_made
                rng = random.Random(seed)
                start.wait()
                for _ in range(CALLS):
                    a, b = rng.randrange(10**9), rng.randrange(10**9)
                    try:
                        result = client.call_tool("add", {"a": a, "b": b})
                    except Exception as exc:  # counted, not raised: the figures say all
                        errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    if result.text != str(a + b):
                        wrong.append(f"{a}+{b} gave {result.text}")
                    with counter_lock:
                        calls_made += 1
                        expire = calls_made % EXPIRE_EVERY == 0
                    if expire:
                        server.expire_sessions()

            sessions_started = 0
            streams_cut = 0
            samples: list[tuple[int, int]] = []  # (calls made, traced bytes), by the monitor
            running = threading.Event()
            running.set()

            def monitor() -> None:
                # Hands over the server's and the proxy's request logs as they grow (they
                # would otherwise be what grows), and samples the memory as the calls go.
                nonlocal sessions_started, streams_cut
                while running.is_set():
                    time.sleep(0.25)
                    taken = server.take_requests()
                    sessions_started += sum(1 for r in taken if r.method == "initialize")
                    cut = proxy.take_requests()
                    streams_cut += sum(1 for r in cut if r.fault == "drop")
                    with counter_lock:
                        made = calls_made
                    samples.append((made, tracemalloc.get_traced_memory()[0]))

            gc.collect()
            tracemalloc.start()
            began = time.monotonic()
            watcher = threading.Thread(target=monitor, name="soak-monitor")
            workers = [
                threading.Thread(target=work, args=(seed,), name=f"soak-{seed}")
                for seed in range(THREADS)
            ]
            watcher.start()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            duration = time.monotonic() - began
            running.clear()
            watcher.join()
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            sessions_started += server.count("initialize")
            streams_cut += sum(1 for r in proxy.take_requests() if r.fault == "drop")

    total = THREADS * CALLS
    # The memory a quarter of the way through, once every pool, cache and thread is there.
    settled = next((used for made, used in samples if made >= total // 4), current)
    figures = {
        "era": "legacy" if version else "modern",
        "threads": THREADS,
        "calls": THREADS * CALLS,
        "wrong_results": len(wrong),
        "errors": len(errors),
        "error_kinds": dict(Counter(e[:120] for e in errors).most_common(5)),
        "streams_cut": streams_cut,
        "sessions_started": sessions_started,
        "seconds": round(duration, 1),
        "calls_per_second": round(THREADS * CALLS / duration),
        "traced_memory_at_a_quarter_mib": round(settled / 2**20, 2),
        "traced_memory_after_mib": round(current / 2**20, 2),
        "traced_memory_peak_mib": round(peak / 2**20, 2),
    }
    print(json.dumps(figures))
    if FULL:
        REPORT.parent.mkdir(exist_ok=True)
        found = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        found[figures["era"]] = figures
        REPORT.write_text(json.dumps(found, indent=2) + "\n")
    assert wrong == []
    assert errors == []
    assert streams_cut >= total // DROP_EVERY - THREADS  # the faults did happen
    if version:
        assert sessions_started >= total // EXPIRE_EVERY // 2
    # Flat memory: the last three quarters of the calls add no more than 2 MiB.
    assert current - settled < 2 * 2**20
