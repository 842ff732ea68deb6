"""How fast mcp_sync reads an event stream, with no network: ``mcp_sync.sse.iter_sse``
over an in-memory stream of progress notifications, framed as the official server
frames them (``event: message``, CRLF line ends) and cut into pieces as a socket would
deliver them.

    python benchmarks/sse_parse.py [EVENTS] [ROUNDS]

Three readers go over the same bytes:

``iter_sse``
    the events only (``mcp_sync.sse.iter_sse``);
``iter_sse + parse_payload``
    the events and their JSON-RPC messages, what the transports do for each event;
``bare split``
    a floor: ``bytes.split`` on the blank lines and ``json.loads`` of each data line,
    which assumes every event is whole and well formed;
``bare split, no JSON``
    the same without ``json.loads``: the floor of ``iter_sse`` alone.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Callable

#: Read size of the HTTP transports (``mcp_sync.transports._http.READ_SIZE``).
CHUNK = 65536


def build_stream(events: int) -> bytes:
    parts = []
    for i in range(1, events + 1):
        message = {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {
                "progressToken": 1,
                "progress": float(i),
                "total": float(events),
                "message": f"step {i} of {events}",
            },
        }
        data = json.dumps(message, separators=(",", ":"))
        parts.append(f"event: message\r\ndata: {data}\r\n\r\n")
    return "".join(parts).encode("utf-8")


def pieces(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def read_events(chunks: list[bytes]) -> int:
    from mcp_sync.sse import iter_sse

    count = 0
    for event in iter_sse(iter(chunks), 16 * 1024 * 1024):
        if event.data:
            count += 1
    return count


def read_messages(chunks: list[bytes]) -> int:
    from mcp_sync.jsonrpc import parse_payload
    from mcp_sync.sse import iter_sse

    count = 0
    for event in iter_sse(iter(chunks), 16 * 1024 * 1024):
        if event.data:
            count += len(parse_payload(event.data))
    return count


def _bare_blocks(chunks: list[bytes]) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        rest += chunk
        *done, rest = rest.split(b"\r\n\r\n")
        yield from done


def bare_split(chunks: list[bytes]) -> int:
    count = 0
    for block in _bare_blocks(chunks):
        for line in block.split(b"\r\n"):
            if line.startswith(b"data:"):
                json.loads(line[5:])
                count += 1
    return count


def bare_split_no_json(chunks: list[bytes]) -> int:
    count = 0
    for block in _bare_blocks(chunks):
        for line in block.split(b"\r\n"):
            if line.startswith(b"data:"):
                count += 1
    return count


READERS: dict[str, Callable[[list[bytes]], int]] = {
    "iter_sse": read_events,
    "iter_sse + parse_payload": read_messages,
    "bare split": bare_split,
    "bare split, no JSON": bare_split_no_json,
}
#: The floor each reader is compared with: the one doing the same work.
FLOORS = {
    "iter_sse": "bare split, no JSON",
    "iter_sse + parse_payload": "bare split",
}


def measure(events: int, rounds: int, chunk: int = CHUNK) -> dict[str, list[float]]:
    """Events per second of each reader, one figure per round, readers alternating."""
    chunks = pieces(build_stream(events), chunk)
    rates: dict[str, list[float]] = {name: [] for name in READERS}
    names = list(READERS)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            got = READERS[name](chunks)
            elapsed = time.perf_counter() - start
            if got != events:
                raise RuntimeError(f"{name} read {got} events of {events}")
            rates[name].append(events / elapsed)
    return rates


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for name, values in measure(n, rounds).items():
        print(f"{name:28} {statistics.median(values):>12,.0f} events/s")
