"""One contender in a process of its own, driven by the harness over stdin and stdout.

    python benchmarks/worker.py CONTENDER URL ERA [--unlimited] [--client-info JSON]

The worker connects, lists the tools, makes a few warm-up calls and answers
``{"ready": ...}``. Then it reads one JSON command a line and answers one JSON line:

``{"op": "seq", "n": N}``
    N ``add`` calls one after the other: wall and CPU seconds.
``{"op": "tput", "threads": T, "per_thread": K}``
    T threads (coroutines under ``asyncio.gather`` for the async client) make K calls
    each, all on the one client: wall and CPU seconds from the start signal to the end.
``{"op": "slow", "steps": N}``
    One ``slow`` call that streams N progress notifications: wall, CPU, notifications.
``{"op": "big", "size": N}``
    One ``big`` call with an N-byte text result: wall, the RSS before it, and the peak
    RSS during it (the kernel's high-water mark, reset just before the call).
``{"op": "wire"}``
    The method, headers and body of the HTTP request one ``add`` call sends.
``{"op": "quit"}``
    Close the client and exit.

CPU time is ``time.process_time()``: every thread of this process, and nothing of the
server's. Answers go to the real stdout; anything the libraries print goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from typing import Any, Callable

import contenders

WARM_UP_CALLS = 20


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Reset the kernel's peak RSS (VmHWM) of this process; False where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_kib(reset_worked: bool) -> int:
    if reset_worked:
        return _status_kib("VmHWM")
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _check(got: int, want: int, what: str) -> None:
    if got != want:
        raise RuntimeError(f"{what}: got {got}, expected {want}")


# --------------------------------------------------------------------------- sync


def _threads(client: Any, threads: int, per_thread: int) -> dict[str, Any]:
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                client.add(offset + i, 1)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t * per_thread,)) for t in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    for t in pool:
        t.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if errors:
        raise errors[0]
    return {"wall": wall, "cpu": cpu, "calls": threads * per_thread}


def _big(call: Callable[[int], int], size: int, client: Any) -> dict[str, Any]:
    gc.collect()
    baseline = _status_kib("VmRSS")
    reset = _reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    got = call(size)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _peak_kib(reset)
    _check(got, size, "big")
    answer = {
        "wall": wall,
        "cpu": cpu,
        "baseline_kib": baseline,
        "peak_kib": peak,
        "peak_reset": reset,
    }
    if hasattr(client, "last_size"):
        answer["message_bytes"] = client.last_size
    return answer


def _wire(client: Any) -> dict[str, Any]:
    import requests

    seen: list[dict[str, Any]] = []
    original = requests.Session.request

    def record(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        seen.append(
            {
                "method": method,
                "headers": dict(kwargs.get("headers") or {}),
                "body": data.decode("utf-8") if isinstance(data, bytes) else data,
            }
        )
        return original(self, method, url, *args, **kwargs)

    requests.Session.request = record  # type: ignore[method-assign]
    try:
        client.add(2, 3)
    finally:
        requests.Session.request = original  # type: ignore[method-assign]
    calls = [s for s in seen if s["method"] == "POST"]
    return {"requests": calls}


def run_sync(client: Any, send: Callable[[dict[str, Any]], None]) -> None:
    client.connect()
    client.list_tools()
    for i in range(WARM_UP_CALLS):
        _check(client.add(i, 1), i + 1, "add")
    send({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "quit":
            client.close()
            send({"closed": True})
            return
        if op == "seq":
            n = cmd["n"]
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(n):
                client.add(i, 1)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            send({"wall": wall, "cpu": cpu, "calls": n})
        elif op == "tput":
            send(_threads(client, cmd["threads"], cmd["per_thread"]))
        elif op == "slow":
            wall, cpu = time.perf_counter(), time.process_time()
            notes = client.slow(cmd["steps"])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            send({"wall": wall, "cpu": cpu, "notifications": notes})
        elif op == "big":
            send(_big(client.big, cmd["size"], client))
        elif op == "wire":
            send(_wire(client))
        else:
            raise ValueError(f"unknown op {op!r}")


# --------------------------------------------------------------------------- async


async def run_async(client: Any, send: Callable[[dict[str, Any]], None]) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    await client.connect()
    await client.list_tools()
    for i in range(WARM_UP_CALLS):
        _check(await client.add(i, 1), i + 1, "add")
    send({"ready": True, "pid": os.getpid()})
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "quit":
            await client.close()
            send({"closed": True})
            return
        if op == "seq":
            n = cmd["n"]
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(n):
                await client.add(i, 1)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            send({"wall": wall, "cpu": cpu, "calls": n})
        elif op == "tput":
            threads, per_thread = cmd["threads"], cmd["per_thread"]

            async def work(offset: int, per_thread: int = per_thread) -> None:
                for i in range(per_thread):
                    await client.add(offset + i, 1)

            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(work(t * per_thread) for t in range(threads)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            send({"wall": wall, "cpu": cpu, "calls": threads * per_thread})
        elif op == "slow":
            wall, cpu = time.perf_counter(), time.process_time()
            notes = await client.slow(cmd["steps"])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            send({"wall": wall, "cpu": cpu, "notifications": notes})
        elif op == "big":
            gc.collect()
            baseline = _status_kib("VmRSS")
            reset = _reset_peak()
            wall, cpu = time.perf_counter(), time.process_time()
            got = await client.big(cmd["size"])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            peak = _peak_kib(reset)
            _check(got, cmd["size"], "big")
            send(
                {
                    "wall": wall,
                    "cpu": cpu,
                    "baseline_kib": baseline,
                    "peak_kib": peak,
                    "peak_reset": reset,
                }
            )
        else:
            raise ValueError(f"unknown op {op!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=contenders.ALL)
    parser.add_argument("url")
    parser.add_argument("era", choices=("legacy", "modern"))
    parser.add_argument("--unlimited", action="store_true", help="no message size limits")
    parser.add_argument("--client-info", default='{"name": "mcp_sync", "version": "0"}')
    args = parser.parse_args()

    # Answers go out on the real stdout only; a stray print lands on stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def send(answer: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(answer) + "\n")
            out.flush()

    client = contenders.make(
        args.contender, args.url, args.era, json.loads(args.client_info), unlimited=args.unlimited
    )
    try:
        if args.contender in contenders.ASYNC:
            import asyncio

            asyncio.run(run_async(client, send))
        else:
            run_sync(client, send)
    except BaseException as exc:
        send({"error": f"{type(exc).__name__}: {exc}"})
        raise


if __name__ == "__main__":
    main()
