"""The clients the benchmarks compare, behind one small interface.

Each contender connects to the server in one era, lists its tools once (as a program
would), then makes calls. Every module a contender needs is imported inside it, so a
worker process loads only its own client.

``floor``
    A bare ``requests.Session`` that sends by hand what mcp_sync sends: the same
    headers, the same compact JSON, the same ``_meta`` on 2026-07-28 requests. It
    reads whole bodies, checks nothing and reads nothing from the environment: the
    least a client can do.
``mcp_sync``
    ``mcp_sync.Client``, as installed, with ``jsonschema`` importable (the official
    client needs it). It checks each result against the tool's ``outputSchema``, by
    itself for common schemas such as ``add``'s, with ``jsonschema`` for others.
``mcp_sync-nojs``
    The same with ``jsonschema`` hidden: what ``pip install mcp-sync`` without the
    ``jsonschema`` extra runs.
``official``
    The official ``mcp`` client (``mcp.Client``) on its own event loop.
``official-sync``
    The official client on a persistent event loop in a background thread; each call is
    submitted with ``asyncio.run_coroutine_threadsafe`` and waited for.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from typing import Any, Optional

LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
META = "io.modelcontextprotocol/"

SYNC = ("floor", "mcp_sync", "mcp_sync-nojs", "official-sync")
ASYNC = ("official",)
ALL = ("floor", "mcp_sync", "mcp_sync-nojs", "official", "official-sync")


def hide_jsonschema() -> None:
    """Make ``import jsonschema`` fail, as it does where the package is not installed."""
    for name in ("jsonschema", "referencing"):
        sys.modules[name] = None  # type: ignore[assignment]


# --------------------------------------------------------------------------- the floor


class Floor:
    """JSON-RPC over a bare ``requests.Session``: the wire work and nothing else."""

    def __init__(self, url: str, era: str, client_info: dict[str, str]):
        import requests
        import requests.adapters

        self.url = url
        self.era = era
        self.client_info = client_info
        self.http = requests.Session()
        # Nothing from the environment (proxy variables, CA bundle, ~/.netrc): a loopback
        # server needs none, and requests would read it again on every request.
        self.http.trust_env = False
        # As many pooled connections as mcp_sync keeps, so 32 threads reuse theirs too
        # (the default pool of 10 would open and drop connections past the tenth).
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=64)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self._ids = itertools.count(1)  # next() on a count is atomic under the GIL
        self._lost = requests.exceptions.ConnectionError
        self._base = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        self._meta: dict[str, Any] = {}
        self.session_id: Optional[str] = None
        self.last_size = 0  # bytes of the last answer's body

    # The wire ---------------------------------------------------------------------------

    def _send(
        self, method: str, params: Optional[dict[str, Any]], headers: dict[str, str]
    ) -> tuple[Any, int]:
        """POST one request; returns its result and how many notifications came first."""
        rid = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        try:
            response = self.http.post(self.url, data=body, headers=headers)
        except self._lost:
            # The server closes keep-alive connections idle for 5 s; one that it closed
            # just as this request went out loses the request. Resend it once, as
            # mcp_sync does with a request lost with its connection.
            response = self.http.post(self.url, data=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{method}: HTTP {response.status_code} {response.text[:200]}")
        if self.session_id is None and "mcp-session-id" in response.headers:
            self.session_id = response.headers["mcp-session-id"]
        content = response.content
        self.last_size = len(content)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            answer = None
            notes = 0
            for line in content.splitlines():
                if line.startswith(b"data:"):
                    msg = json.loads(line[5:])
                    if msg.get("id") == rid:
                        answer = msg
                    elif "method" in msg:
                        notes += 1
        else:
            answer = json.loads(content)
            notes = 0
        if answer is None or "result" not in answer:
            raise RuntimeError(f"{method}: no result in {content[:200]!r}")
        return answer["result"], notes

    def _headers(self, method: str, name: Optional[str] = None) -> dict[str, str]:
        if self.era == "legacy":
            return self._legacy_headers
        # What ModernHTTPTransport._headers_for builds: the version, the method and, for a
        # tool call, the tool's name (plain ASCII names go as they are).
        headers = dict(self._base)
        headers["MCP-Protocol-Version"] = MODERN_VERSION
        headers["Mcp-Method"] = method
        if name is not None:
            headers["Mcp-Name"] = name
        return headers

    def request(
        self, method: str, params: Optional[dict[str, Any]] = None, name: Optional[str] = None
    ) -> tuple[Any, int]:
        if self.era == "modern":
            params = dict(params or {})
            meta = dict(self._meta)
            meta.update(params.get("_meta") or {})
            params["_meta"] = meta
        return self._send(method, params, self._headers(method, name))

    # The client -------------------------------------------------------------------------

    def connect(self) -> None:
        if self.era == "legacy":
            params = {
                "protocolVersion": LEGACY_VERSION,
                "capabilities": {},
                "clientInfo": self.client_info,
            }
            self._send("initialize", params, self._base)
            headers = dict(self._base)
            if self.session_id is not None:
                headers["Mcp-Session-Id"] = self.session_id
            headers["MCP-Protocol-Version"] = LEGACY_VERSION
            self._legacy_headers = headers
            body = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
            response = self.http.post(self.url, data=body, headers=headers)
            if response.status_code not in (200, 202):
                raise RuntimeError(f"notifications/initialized: HTTP {response.status_code}")
        else:
            self._meta = {
                META + "protocolVersion": MODERN_VERSION,
                META + "clientCapabilities": {"extensions": {META + "tasks": {}}},
                META + "clientInfo": self.client_info,
            }
            self.request("server/discover")

    def list_tools(self) -> int:
        return len(self.request("tools/list")[0]["tools"])

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.request("tools/call", {"name": name, "arguments": arguments}, name)[0]  # type: ignore[no-any-return]

    def add(self, a: int, b: int) -> int:
        return self.call("add", {"a": a, "b": b})["structuredContent"]["result"]  # type: ignore[no-any-return]

    def big(self, size: int) -> int:
        return len(self.call("big", {"size": size})["content"][0]["text"])

    def slow(self, steps: int) -> int:
        params = {
            "name": "slow",
            "arguments": {"steps": steps, "delay": 0},
            "_meta": {"progressToken": 1},
        }
        return self.request("tools/call", params, "slow")[1]

    def close(self) -> None:
        if self.era == "legacy" and self.session_id is not None:
            headers = dict(self._legacy_headers)
            headers.pop("Content-Type", None)
            self.http.delete(self.url, headers=headers, timeout=5)
        self.http.close()


# --------------------------------------------------------------------------- mcp_sync


class McpSync:
    def __init__(self, url: str, era: str, *, unlimited: bool = False, jsonschema: bool = True):
        if not jsonschema:
            hide_jsonschema()
        import mcp_sync

        options: dict[str, Any] = {}
        if unlimited:
            options["max_message_size"] = None
        self.client = mcp_sync.Client(
            url, protocol_version=LEGACY_VERSION if era == "legacy" else None, **options
        )
        self.era = era

    def connect(self) -> None:
        self.client.connect()
        if self.client.era != self.era:
            raise RuntimeError(f"mcp_sync connected in the {self.client.era} era")

    def list_tools(self) -> int:
        return len(self.client.list_tools())

    def add(self, a: int, b: int) -> int:
        return self.client.call_tool("add", {"a": a, "b": b}).structured_content["result"]  # type: ignore[index,no-any-return]

    def big(self, size: int) -> int:
        return len(self.client.call_tool("big", {"size": size}).text or "")

    def slow(self, steps: int) -> int:
        count = [0]

        def progress(done: float, total: Optional[float], message: Optional[str]) -> None:
            count[0] += 1

        self.client.call_tool("slow", {"steps": steps, "delay": 0}, progress=progress)
        return count[0]

    def close(self) -> None:
        self.client.close()


# --------------------------------------------------------------------------- official


class OfficialAsync:
    """The official client; every method is a coroutine, run on the caller's loop."""

    def __init__(self, url: str, era: str, *, unlimited: bool = False):
        self.url = url
        self.era = era
        self.unlimited = unlimited
        self.client: Any = None

    async def connect(self) -> None:
        from mcp import Client

        server: Any = self.url
        if self.unlimited:
            # Its SSE events may not exceed 1 MiB by default; a large result on a legacy
            # (SSE) answer would fail.
            from mcp.client.streamable_http import streamable_http_client

            server = streamable_http_client(self.url, max_sse_event_size=None)
        self.client = Client(server, mode="legacy" if self.era == "legacy" else "auto")
        await self.client.__aenter__()
        version = self.client.protocol_version
        if (version == MODERN_VERSION) != (self.era == "modern"):
            raise RuntimeError(f"the official client connected with {version}")

    async def list_tools(self) -> int:
        return len((await self.client.list_tools()).tools)

    async def add(self, a: int, b: int) -> int:
        result = await self.client.call_tool("add", {"a": a, "b": b})
        return result.structured_content["result"]  # type: ignore[no-any-return]

    async def big(self, size: int) -> int:
        result = await self.client.call_tool("big", {"size": size})
        return len(result.content[0].text)

    async def slow(self, steps: int) -> int:
        count = [0]

        async def progress(done: float, total: Optional[float], message: Optional[str]) -> None:
            count[0] += 1

        await self.client.call_tool(
            "slow", {"steps": steps, "delay": 0}, progress_callback=progress
        )
        return count[0]

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)


class OfficialSync:
    """The official client made blocking: its loop runs in a background thread."""

    def __init__(self, url: str, era: str, *, unlimited: bool = False):
        import asyncio

        self._asyncio = asyncio
        self._inner = OfficialAsync(url, era, unlimited=unlimited)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coro: Any) -> Any:
        return self._asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def connect(self) -> None:
        # The client's task group belongs to the task that entered it, so one task
        # holds it open for the client's whole life, and close() ends that task.
        ready = threading.Event()
        failure: list[BaseException] = []

        async def hold() -> None:
            self._stop = self._asyncio.Event()
            try:
                await self._inner.connect()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._stop.wait()
            finally:
                await self._inner.close()

        self._holder = self._asyncio.run_coroutine_threadsafe(hold(), self._loop)
        ready.wait()
        if failure:
            raise failure[0]

    def list_tools(self) -> int:
        return self._run(self._inner.list_tools())  # type: ignore[no-any-return]

    def add(self, a: int, b: int) -> int:
        return self._run(self._inner.add(a, b))  # type: ignore[no-any-return]

    def big(self, size: int) -> int:
        return self._run(self._inner.big(size))  # type: ignore[no-any-return]

    def slow(self, steps: int) -> int:
        return self._run(self._inner.slow(steps))  # type: ignore[no-any-return]

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._holder.result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def make(
    name: str, url: str, era: str, client_info: dict[str, str], *, unlimited: bool = False
) -> Any:
    """A new, unconnected contender."""
    if name == "floor":
        return Floor(url, era, client_info)
    if name == "mcp_sync":
        return McpSync(url, era, unlimited=unlimited)
    if name == "mcp_sync-nojs":
        return McpSync(url, era, unlimited=unlimited, jsonschema=False)
    if name == "official":
        return OfficialAsync(url, era, unlimited=unlimited)
    if name == "official-sync":
        return OfficialSync(url, era, unlimited=unlimited)
    raise ValueError(f"unknown contender {name!r}")
