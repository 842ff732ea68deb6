"""Building blocks for scripted servers behind `responses`: replies, events, live bodies."""

from __future__ import annotations

import io
import json
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Optional, Union


@dataclass
class Reply:
    """An HTTP answer given as is: status, body and headers."""

    status: int = 200
    body: Union[bytes, str, io.BufferedReader] = b""
    headers: dict[str, str] = field(default_factory=dict)


def event(message: Any, event_id: Optional[str] = None) -> str:
    """One SSE event carrying ``message`` (JSON-encoded unless it is already text)."""
    data = message if isinstance(message, str) else json.dumps(message)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return head + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"


class LiveBody(io.RawIOBase):
    """A response body the test writes to while the client reads it; it stays open until ended."""

    def __init__(self, idle: float = 5.0):
        super().__init__()
        self._chunks: queue.Queue[Optional[bytes]] = queue.Queue()
        self._pending = b""
        self._eof = False
        self._idle = idle
        self.ended = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending and not self._eof:
            try:
                chunk = self._chunks.get(timeout=self._idle)
            except queue.Empty:
                chunk = None  # never hang a test: a silent stream ends
            if chunk is None:
                self._eof = True
                self.ended.set()
            else:
                self._pending = chunk
        if self._eof and not self._pending:
            return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def write_event(self, message: Any, event_id: Optional[str] = None) -> None:
        self._chunks.put(event(message, event_id).encode("utf-8"))

    def end(self) -> None:
        self._chunks.put(None)


class LiveStream(io.BufferedReader):
    """The buffered reader `responses` serves a LiveBody through.

    Closing it (which is what the client does to abort a stream) ends the body first,
    so a reader blocked on it wakes up, as a reader on a closed socket would.
    """

    def __init__(self, body: LiveBody):
        super().__init__(body)
        self.body = body

    def close(self) -> None:
        self.body.end()
        super().close()


def result_message(request_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def json_reply(message: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Reply:
    return Reply(
        status, json.dumps(message), {"Content-Type": "application/json", **(headers or {})}
    )


def sse_reply(*parts: Union[str, bytes, dict[str, Any], list[Any]]) -> Reply:
    """An event-stream body: dicts and lists become events, str and bytes go in as they are."""
    body = b""
    for part in parts:
        if isinstance(part, bytes):
            body += part
        elif isinstance(part, str):
            body += part.encode("utf-8")
        else:
            body += event(part).encode("utf-8")
    return Reply(200, body, {"Content-Type": "text/event-stream"})
