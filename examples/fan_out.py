"""Many tool calls at once: a thread pool sharing one mcp_sync.Client.

With no argument it serves the mcp_sync demo server on 127.0.0.1 itself. Give the URL
of another server with the demo's ``add`` and ``count_slowly`` tools to use that one:

    python examples/fan_out.py [http://127.0.0.1:8000/mcp]

The results are printed in the order the calls were made, whatever order they finish
in. One call fails (bad arguments) and one runs out of time; the others are not held up.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional

import mcp_sync
from mcp_sync.demo import demo_server

#: Seconds each call may take.
CALL_TIMEOUT = 5.0


@dataclass(frozen=True)
class Job:
    tool: str
    arguments: Mapping[str, Any]
    timeout: float = CALL_TIMEOUT


@dataclass(frozen=True)
class Outcome:
    job: Job
    text: Optional[str] = None
    error: Optional[str] = None


JOBS = [
    *(Job("add", {"a": n, "b": n * n}) for n in range(10)),
    Job("add", {"a": 1, "b": "two"}),  # the server refuses the arguments
    Job("count_slowly", {"to": 3}),
    # Takes about a second, without progress to restart its timeout: it times out.
    Job("count_slowly", {"to": 10}, timeout=0.5),
]


def run(client: mcp_sync.Client, job: Job) -> Outcome:
    # Every failure becomes an Outcome, so that one call's exception cannot hide the
    # results of the others.
    try:
        result = client.call_tool(job.tool, job.arguments, timeout=job.timeout)
    except mcp_sync.MCPSyncError as exc:
        return Outcome(job, error=f"{type(exc).__name__}: {exc}")
    if result.is_error:
        return Outcome(job, error=f"tool error: {result.text}")
    return Outcome(job, text=result.text)


def fan_out(client: mcp_sync.Client, jobs: list[Job], workers: int = 8) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fan-out") as pool:
        futures = [pool.submit(run, client, job) for job in jobs]
        # In submission order, not completion order.
        return [future.result() for future in futures]


def main(url: str) -> int:
    # One client for every thread: one connection pool, one handshake.
    with mcp_sync.Client(url) as client:
        outcomes = fan_out(client, JOBS)
    for number, outcome in enumerate(outcomes, 1):
        arguments = ", ".join(f"{k}={v!r}" for k, v in outcome.job.arguments.items())
        answer = outcome.text if outcome.error is None else f"failed, {outcome.error}"
        print(f"{number:2}. {outcome.job.tool}({arguments}) -> {answer}")
    failed = sum(1 for outcome in outcomes if outcome.error is not None)
    print(f"{len(outcomes)} calls: {len(outcomes) - failed} succeeded, {failed} failed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(sys.argv[1]))
    with demo_server() as server:
        sys.exit(main(server.url))
