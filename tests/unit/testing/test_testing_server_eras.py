"""MCPTestServer through mcp_sync.Client, in both eras."""

from __future__ import annotations

from typing import Literal, Optional

import pytest
from support.testing_server_helpers import LEGACY, MODERN, demo, wait_for

import mcp_sync
from mcp_sync.testing import Context, MCPTestServer, ToolResult, image, text


@pytest.mark.parametrize("version", [LEGACY, "2025-06-18", "2025-03-26"])
def test_a_pinned_legacy_version_runs_the_handshake(server, client_for, version):
    client = client_for(server.url, version)
    assert client.era == "legacy"
    assert client.protocol_version == version
    assert client.session_id in server.sessions
    assert client.server_info.name == "mcp_sync-testserver"
    assert client.call_tool("add", {"a": 2, "b": 40}).text == "42"
    assert server.count("initialize") == 1
    assert server.count("server/discover") == 0


def test_an_unpinned_client_finds_the_modern_era(server, client_for):
    client = client_for(server.url, None)
    assert client.era == "modern"
    assert client.protocol_version == MODERN
    assert client.session_id is None
    assert client.call_tool("add", {"a": 2, "b": 40}).text == "42"
    assert server.count("initialize") == 0
    assert server.sessions == []
    modern = [r for r in server.requests if r.method == "tools/call"]
    assert modern[0].headers["mcp-method"] == "tools/call"
    assert modern[0].headers["mcp-name"] == "add"


def test_a_legacy_only_server_makes_the_client_fall_back(client_for):
    with demo(MCPTestServer(eras=("legacy",))) as server:
        client = client_for(server.url, None)
        assert client.era == "legacy"
        assert client.call_tool("echo", {"text": "hi"}).text == "hi"
        assert server.count("server/discover") == 1
        assert server.count("initialize") == 1


def test_a_modern_only_server_refuses_the_handshake(client_for):
    with demo(MCPTestServer(eras=("modern",))) as server:
        with pytest.raises(mcp_sync.HTTPStatusError) as caught:
            client_for(server.url, LEGACY)
        assert caught.value.status == 400
        assert client_for(server.url, None).era == "modern"


@pytest.mark.parametrize("version", [LEGACY, None])
def test_tools_resources_prompts_and_completion(server, client_for, version):
    client = client_for(server.url, version)
    assert [t.name for t in client.list_tools()] == [
        "add", "echo", "weather", "slow", "shout", "broken"
    ]  # fmt: skip
    weather = client.call_tool("weather", {"city": "Oslo"})
    assert weather.structured_content == {"city": "Oslo", "celsius": 21}
    broken = client.call_tool("broken")
    assert broken.is_error and broken.text == "it broke"
    assert [r.uri for r in client.list_resources()] == ["test://static", "test://blob"]
    assert client.read_resource("test://static").contents[0].text == "static text"
    assert client.read_resource("test://blob").contents[0].blob == "AAECAw=="
    assert client.read_resource("test://items/7").contents[0].text == "item 7"
    assert [t.uri_template for t in client.list_resource_templates()] == ["test://items/{id}"]
    prompt = client.get_prompt("greet", {"name": "Ada"})
    assert prompt.messages[0].content.text == "Hello, Ada!"
    assert client.list_prompts()[0].arguments[0].name == "name"
    done = client.complete({"type": "ref/prompt", "name": "greet"}, ("name", "Al"))
    assert done.completion.values == ["Alice", "Albert"]
    done = client.complete({"type": "ref/resource", "uri": "test://items/{id}"}, ("id", "1"))
    assert done.completion.values == ["1", "10"]
    client.ping()


@pytest.mark.parametrize(("version", "code"), [(LEGACY, -32002), (None, -32602)])
def test_an_unknown_resource_is_an_error(server, client_for, version, code):
    client = client_for(server.url, version)
    with pytest.raises(mcp_sync.MCPError) as caught:
        client.read_resource("test://nothing")
    assert caught.value.code == code
    assert caught.value.data == {"uri": "test://nothing"}


@pytest.mark.parametrize("version", [LEGACY, None])
def test_an_unknown_tool_and_bad_arguments(server, client_for, version):
    client = client_for(server.url, version)
    with pytest.raises(mcp_sync.MCPError) as caught:
        client.call_tool("nope")
    assert caught.value.code == -32602
    bad = client.call_tool("add", {"a": "two", "b": 1})
    assert bad.is_error and "'a' must be of type integer" in bad.text
    missing = client.call_tool("add", {"a": 1})
    assert missing.is_error and "missing required argument 'b'" in missing.text


@pytest.mark.parametrize("version", [LEGACY, None])
def test_progress_reaches_the_callback(server, client_for, version):
    client = client_for(server.url, version)
    seen = []
    result = client.call_tool("slow", {"steps": 3}, progress=lambda *a: seen.append(a))
    assert result.text == "done after 3 steps"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


def test_legacy_logging_follows_set_logging_level(server, client_for):
    messages = []
    client = client_for(server.url, LEGACY, logging_handler=messages.append)
    client.call_tool("shout", {"level": "info"})
    client.set_logging_level("error")
    client.call_tool("shout", {"level": "warning"})
    client.call_tool("shout", {"level": "critical"})
    assert wait_for(lambda: len(messages) == 2)
    assert [(m.level, m.logger, m.data) for m in messages] == [
        ("info", "demo", {"said": "hello"}),
        ("critical", "demo", {"said": "hello"}),
    ]


def test_modern_logging_needs_a_level_in_meta(server, client_for):
    messages = []
    client = client_for(server.url, None, logging_handler=messages.append)
    client.call_tool("shout")
    assert messages == []
    client.set_logging_level("warning")
    client.call_tool("shout", {"level": "info"})
    client.call_tool("shout", {"level": "error"})
    assert wait_for(lambda: len(messages) == 1)
    assert [m.level for m in messages] == ["error"]


@pytest.mark.parametrize("version", [LEGACY, None])
def test_elicitation_sampling_and_roots_round_trips(server, client_for, version):
    @server.tool()
    def interview(ctx: Context) -> str:
        answer = ctx.elicit(
            "Your name?", {"type": "object", "properties": {"name": {"type": "string"}}}
        )
        sampled = ctx.sample("Say hi", max_tokens=5)
        roots = ctx.list_roots()
        return f"{answer['content']['name']} / {sampled['content']['text']} / {roots[0]['uri']}"

    client = client_for(
        server.url,
        version,
        elicitation_handler=lambda params: {"action": "accept", "content": {"name": "Ada"}},
        sampling_handler=lambda params: {
            "role": "assistant",
            "content": {"type": "text", "text": "hi"},
            "model": "test",
        },
        roots=["file:///work"],
    )
    assert client.call_tool("interview").text == "Ada / hi / file:///work"


def test_a_modern_tool_needing_a_capability_gets_32021(server, client_for):
    @server.tool()
    def needs_sampling(ctx: Context) -> str:
        ctx.require_capability("sampling")
        return "ok"

    client = client_for(server.url, None)
    with pytest.raises(mcp_sync.MCPError) as caught:
        client.call_tool("needs_sampling")
    assert caught.value.code == -32021
    assert caught.value.data == {"requiredCapabilities": {"sampling": {}}}


def test_schemas_are_inferred_from_type_hints(server, client_for):
    @server.tool(description="typed")
    def typed(
        name: str,
        count: int = 2,
        ratio: float = 0.5,
        flag: bool = False,
        tags: Optional[list[str]] = None,
        mode: Literal["a", "b"] = "a",
    ) -> ToolResult:
        return ToolResult([text(name), image()], structured_content={"count": count})

    client = client_for(server.url, LEGACY)
    tool = next(t for t in client.list_tools() if t.name == "typed")
    assert tool.input_schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "count": {"type": "integer", "default": 2},
            "ratio": {"type": "number", "default": 0.5},
            "flag": {"type": "boolean", "default": False},
            "tags": {"type": "array", "items": {"type": "string"}, "default": None},
            "mode": {"enum": ["a", "b"], "default": "a"},
        },
        "required": ["name"],
    }
    assert tool.description == "typed"
    assert (
        next(t for t in client.list_tools() if t.name == "add").description == "Add two integers."
    )
    result = client.call_tool("typed", {"name": "x", "count": 3})
    assert [c.type for c in result.content] == ["text", "image"]
    assert result.structured_content == {"count": 3}


@pytest.mark.parametrize("version", [LEGACY, None])
def test_pagination(client_for, version):
    with demo(MCPTestServer(page_size=2)) as server:
        client = client_for(server.url, version)
        assert len(client.list_tools()) == 6
        assert server.count("tools/list") == 3
        with pytest.raises(mcp_sync.MCPError) as caught:
            client.list_tools_page("bogus")
        assert caught.value.code == -32602


def test_json_response_mode_sends_notifications_on_the_get_stream(client_for):
    with demo(MCPTestServer(json_response=True)) as server:
        messages = []
        client = client_for(server.url, LEGACY, logging_handler=messages.append)
        assert client.call_tool("shout").text == "ok"
        assert wait_for(lambda: bool(messages))
        assert [m.level for m in messages] == ["warning"]


def test_a_tool_registered_while_running_is_announced(server, client_for):
    changes = []
    client = client_for(server.url, LEGACY, notification_handler=lambda m, p: changes.append(m))
    client.list_tools()

    @server.tool()
    def late() -> str:
        return "late"

    assert wait_for(lambda: bool(changes))
    assert changes == ["notifications/tools/list_changed"]
    assert "late" in [t.name for t in client.list_tools()]


def test_legacy_without_session_ids(client_for):
    with demo(MCPTestServer(session_ids=False, get_stream=False)) as server:
        client = client_for(server.url, LEGACY)
        assert client.session_id is None
        assert client.call_tool("add", {"a": 1, "b": 1}).text == "2"
        assert server.sessions == []
