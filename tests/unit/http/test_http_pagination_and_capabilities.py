"""Cursor pagination, and calls the server's capabilities do not allow."""

from __future__ import annotations

import pytest

import mcp_sync


def _tool(name):
    return {"name": name, "inputSchema": {"type": "object"}}


def _three_pages(seen):
    pages = {
        None: {"tools": [_tool("a"), _tool("b")], "nextCursor": "page-2"},
        "page-2": {"tools": [_tool("c")], "nextCursor": "page-3"},
        "page-3": {"tools": [_tool("d")]},
    }
    return pages[seen.params.get("cursor")]


def test_list_tools_follows_next_cursor_across_three_pages(server, client):
    server.on("tools/list", _three_pages)

    tools = client.list_tools()

    assert [tool.name for tool in tools] == ["a", "b", "c", "d"]
    assert [seen.params.get("cursor") for seen in server.posts("tools/list")] == [
        None,
        "page-2",
        "page-3",
    ]


def test_repeated_cursor_raises_protocol_error(server, client):
    server.on("tools/list", lambda seen: {"tools": [_tool("x")], "nextCursor": "again"})

    with pytest.raises(mcp_sync.ProtocolError):
        client.list_tools()

    assert len(server.posts("tools/list")) == 2


def test_list_tools_page_returns_one_page(server, client):
    server.on("tools/list", _three_pages)

    page = client.list_tools_page("page-2")

    assert [tool.name for tool in page.tools] == ["c"]
    assert page.next_cursor == "page-3"
    (seen,) = server.posts("tools/list")
    assert seen.params == {"cursor": "page-2"}


def test_undeclared_capability_raises_without_any_post(server, make_client):
    del server.capabilities["prompts"]
    client = make_client().connect()
    posts_before = len(server.posts())

    with pytest.raises(mcp_sync.CapabilityNotSupported) as info:
        client.list_prompts()

    assert info.value.capability == "prompts"
    assert len(server.posts()) == posts_before
