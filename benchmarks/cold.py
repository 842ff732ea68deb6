"""A whole short program, as a user would write it: import, connect, list, call, exit.

    python benchmarks/cold.py CONTENDER URL ERA

The harness starts it as a fresh process and takes its wall time and peak RSS. Each
contender imports only what its own program needs.
"""

from __future__ import annotations

import sys

LEGACY_VERSION = "2025-11-25"
META = "io.modelcontextprotocol/"


def floor(url: str, era: str) -> int:
    import json

    import requests

    http = requests.Session()
    http.trust_env = False  # nothing from the environment, read on every request otherwise
    base = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    headers = dict(base)
    meta = {
        META + "protocolVersion": "2026-07-28",
        META + "clientCapabilities": {"extensions": {META + "tasks": {}}},
        META + "clientInfo": {"name": "mcp_sync", "version": "0"},
    }
    ids = iter(range(1, 100))

    def send(method: str, params: dict, name: str = "") -> dict:  # type: ignore[type-arg]
        rid = next(ids)
        if era == "modern":
            params = {**params, "_meta": meta}
            headers["MCP-Protocol-Version"] = "2026-07-28"
            headers["Mcp-Method"] = method
            headers.pop("Mcp-Name", None)
            if name:
                headers["Mcp-Name"] = name
        body = json.dumps(
            {"jsonrpc": "2.0", "id": rid, "method": method, "params": params},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        response = http.post(url, data=body, headers=headers)
        response.raise_for_status()
        if "mcp-session-id" in response.headers:
            headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
        if response.headers["content-type"].startswith("text/event-stream"):
            for line in response.content.splitlines():
                if line.startswith(b"data:"):
                    message = json.loads(line[5:])
                    if message.get("id") == rid:
                        return message["result"]  # type: ignore[no-any-return]
            raise RuntimeError(f"{method}: no answer")
        return json.loads(response.content)["result"]  # type: ignore[no-any-return]

    if era == "legacy":
        send(
            "initialize",
            {
                "protocolVersion": LEGACY_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "mcp_sync", "version": "0"},
            },
        )
        headers["MCP-Protocol-Version"] = LEGACY_VERSION
        http.post(
            url, data=b'{"jsonrpc":"2.0","method":"notifications/initialized"}', headers=headers
        ).raise_for_status()
    else:
        send("server/discover", {})
    tools = send("tools/list", {})["tools"]
    result = send("tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}}, "add")
    if era == "legacy":
        del headers["Content-Type"]
        http.delete(url, headers=headers)
    http.close()
    assert tools and result["structuredContent"]["result"] == 5
    return 0


def mcp_sync(url: str, era: str) -> int:
    import mcp_sync

    version = LEGACY_VERSION if era == "legacy" else None
    with mcp_sync.Client(url, protocol_version=version) as client:
        tools = client.list_tools()
        result = client.call_tool("add", {"a": 2, "b": 3})
    assert tools and result.structured_content == {"result": 5}
    return 0


def mcp_sync_nojs(url: str, era: str) -> int:
    # As installed without the jsonschema extra (common outputSchemas are still checked).
    sys.modules["jsonschema"] = None  # type: ignore[assignment]
    sys.modules["referencing"] = None  # type: ignore[assignment]
    return mcp_sync(url, era)


def official(url: str, era: str) -> int:
    import asyncio

    from mcp import Client

    async def main() -> int:
        async with Client(url, mode="legacy" if era == "legacy" else "auto") as client:
            tools = await client.list_tools()
            result = await client.call_tool("add", {"a": 2, "b": 3})
        assert tools.tools and result.structured_content == {"result": 5}
        return 0

    return asyncio.run(main())


def official_sync(url: str, era: str) -> int:
    import asyncio
    import threading

    from mcp import Client

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    client = Client(url, mode="legacy" if era == "legacy" else "auto")
    opened = threading.Event()
    stop: list[asyncio.Event] = []

    async def hold() -> None:
        stop.append(asyncio.Event())
        async with client:
            opened.set()
            await stop[0].wait()

    held = asyncio.run_coroutine_threadsafe(hold(), loop)
    opened.wait()
    tools = run(client.list_tools())
    result = run(client.call_tool("add", {"a": 2, "b": 3}))
    loop.call_soon_threadsafe(stop[0].set)
    held.result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    assert tools.tools and result.structured_content == {"result": 5}
    return 0


PROGRAMS = {
    "floor": floor,
    "mcp_sync": mcp_sync,
    "mcp_sync-nojs": mcp_sync_nojs,
    "official": official,
    "official-sync": official_sync,
}

if __name__ == "__main__":
    sys.exit(PROGRAMS[sys.argv[1]](sys.argv[2], sys.argv[3]))
