"""URL-mode elicitation: mcp_sync declares form mode only, and never opens a URL itself.

A server that asks for ``mode: "url"`` anyway is refused. The URL points at a local
server, which must see no request; if a handler were ever given the request, it would
have to see the URL exactly as the server sent it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import mcp_sync
from mcp_sync.testing import Context, MCPTestServer, RPCError

LEGACY = "2025-11-25"


def _url_request(target: str) -> dict[str, Any]:
    return {
        "mode": "url",
        "message": "Please finish signing in",
        "url": target,
        "elicitationId": "e-1",
    }


@pytest.fixture
def test_server(trap):
    server = MCPTestServer()
    target = trap.url("/login?next=%2Fhome&state=a%20b#frag")
    server.target = target  # type: ignore[attr-defined]

    @server.tool()
    def ask_url(ctx: Context) -> str:
        try:
            answer = ctx.request("elicitation/create", _url_request(target))
        except RPCError as exc:
            return json.dumps({"refused": exc.code, "message": exc.message})
        return json.dumps({"answer": answer})

    @server.tool()
    def capabilities(ctx: Context) -> str:
        return json.dumps(ctx.client_capabilities)

    with server:
        yield server


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(params)
        return {"action": "decline"}


def test_only_form_mode_is_declared(test_server):
    with mcp_sync.Client(
        test_server.url, protocol_version=LEGACY, elicitation_handler=Recorder(), timeout=10
    ) as client:
        caps = json.loads(client.call_tool("capabilities").text)
    assert caps["elicitation"] == {"form": {}}


def test_legacy_url_elicitation_is_refused_and_the_url_is_never_fetched(test_server, trap):
    handler = Recorder()
    with mcp_sync.Client(
        test_server.url, protocol_version=LEGACY, elicitation_handler=handler, timeout=10
    ) as client:
        outcome = json.loads(client.call_tool("ask_url").text)

    assert outcome["refused"] == -32602  # invalid params: the mode was not declared
    assert trap.hits() == []
    # Should a handler ever see such a request, it sees the URL unmodified.
    assert all(call["url"] == test_server.target for call in handler.calls)
    assert handler.calls == []


def test_modern_url_elicitation_is_refused_and_the_url_is_never_fetched(test_server, trap):
    handler = Recorder()
    with mcp_sync.Client(test_server.url, elicitation_handler=handler, timeout=10) as client:
        assert client.era == "modern"
        with pytest.raises(mcp_sync.ProtocolError) as info:
            client.call_tool("ask_url")
    assert "not declared" in str(info.value)
    assert trap.hits() == []
    assert handler.calls == []


@pytest.mark.parametrize("with_handler", [True, False], ids=["handler", "no handler"])
def test_url_elicitation_sent_regardless_of_capabilities_is_answered_with_an_error(
    server, make_client, with_handler
):
    # A server that ignores what the client declared: the request arrives on the stream
    # of a tool call, before the call's result.
    target = "https://login.example/authorize?state=x"
    handler = Recorder()
    ask = {"jsonrpc": "2.0", "id": "srv-1", "method": "elicitation/create"}
    ask["params"] = _url_request(target)

    def answer(seen):
        result = {"content": [{"type": "text", "text": "done"}]}
        return server.sse_reply(ask, server.result_message(seen.id, result))

    server.script("tools/call", answer)
    options = {"elicitation_handler": handler} if with_handler else {}
    client = make_client(**options).connect()

    assert client.call_tool("add", {"a": 1, "b": 2}).text == "done"
    assert server.wait_for(lambda: any(s.is_response for s in server.posts()))
    [reply] = [s for s in server.posts() if s.is_response]
    assert reply.id == "srv-1"
    assert reply.message["error"]["code"] == (-32602 if with_handler else -32601)
    assert handler.calls == []
    # Nothing but the MCP endpoint was ever asked for.
    assert all(call.request.url.startswith("http://mcp.test/") for call in server.mock.calls)
