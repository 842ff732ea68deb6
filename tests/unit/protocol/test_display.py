"""Jupyter display: ``_repr_html_`` and ``_repr_markdown_`` of tool lists, results and content.

Server data is untrusted: whatever it holds, the HTML may contain only the tags and
attributes mcp_sync writes itself, and media only as checked ``data:`` URIs.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import responses

import mcp_sync
from mcp_sync import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    GetPromptResult,
    ImageContent,
    ListToolsResult,
    ReadResourceResult,
    ResourceContents,
    ResourceLink,
    TextContent,
    Tool,
    UnknownContent,
    _display,
)
from mcp_sync.types import ToolList

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
MD_HOSTILE = "**bold** [click](javascript:alert(1)) | cell # head `code` <b>x</b>"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
WAV = base64.b64encode(b"RIFF....WAVEfmt ").decode()

# What mcp_sync itself writes; nothing else may appear.
ALLOWED_TAGS = {
    "audio",
    "code",
    "div",
    "em",
    "img",
    "pre",
    "small",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
}
ALLOWED_ATTRS = {"alt", "class", "controls", "src", "style", "title"}
DATA_URI = re.compile(r"data:(image|audio)/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]*={0,2}")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, Any]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Any]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, Any]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html_text: str) -> _Tags:
    """Parse ``html_text`` and check it holds only mcp_sync's own markup."""
    parser = _Tags()
    parser.feed(html_text)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, html_text)
        assert set(attrs) <= ALLOWED_ATTRS, (tag, attrs)
        if "src" in attrs:
            assert tag in ("img", "audio")
            assert DATA_URI.fullmatch(attrs["src"]), attrs["src"]
        if "style" in attrs:
            assert "url(" not in attrs["style"] and "expression" not in attrs["style"]
    return parser


def shown_text(html_text: str) -> str:
    return "".join(parse(html_text).text)


def tags(html_text: str, name: str) -> list[dict[str, Any]]:
    return [attrs for tag, attrs in parse(html_text).tags if tag == name]


def hostile_tool(**overrides: Any) -> Tool:
    data = {
        "name": HOSTILE,
        "title": HOSTILE,
        "description": HOSTILE + "\n" + MD_HOSTILE,
        "inputSchema": {
            "type": "object",
            "properties": {HOSTILE: {"type": "string"}, "plain": {"type": "number"}},
            "required": [HOSTILE],
        },
    }
    data.update(overrides)
    return Tool.from_dict(data)


def assert_markdown_is_inert(markdown: str) -> None:
    """No HTML tag from the server and no Markdown link, image or emphasis it wrote."""
    assert "<script" not in markdown and "<img" not in markdown and "<b>" not in markdown
    assert "](javascript" not in markdown
    assert "**bold**" not in markdown
    assert not re.search(r"(?<!\\)\[click", markdown)


# --- tool lists -----------------------------------------------------------------------------


def test_tool_list_html_escapes_names_titles_descriptions_and_parameters() -> None:
    html_text = ToolList([hostile_tool()])._repr_html_()

    assert "<script" not in html_text and "<img" not in html_text
    assert "&lt;script&gt;" in html_text
    text = shown_text(html_text)
    assert text.count("<script>alert(1)</script>") >= 3  # name, title, description
    assert f"{HOSTILE}*" in text  # the required parameter, marked
    assert "plain" in text


def test_tool_list_markdown_escapes_html_and_markdown() -> None:
    markdown = ToolList([hostile_tool()])._repr_markdown_()

    assert_markdown_is_inert(markdown)
    assert "&lt;script&gt;" in markdown
    assert "\\*\\*bold\\*\\*" in markdown
    assert "\\|" in markdown  # a pipe cannot end a table cell
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(rows) == 3  # header, rule, one tool: the description's newline stays in its cell


def test_tool_list_shows_every_tool_and_counts_them() -> None:
    tools = ToolList(Tool(name=f"tool{i}", description=f"does {i}") for i in range(3))

    text = shown_text(tools._repr_html_())

    assert "3 tools" in text
    assert all(f"tool{i}" in text and f"does {i}" in text for i in range(3))
    assert "3 tools" in tools._repr_markdown_()


def test_tool_list_is_a_plain_list() -> None:
    tool = Tool(name="add")
    tools = ToolList([tool])

    assert tools == [tool]
    assert isinstance(tools, list)
    assert json.dumps([t.name for t in tools]) == '["add"]'


def test_empty_tool_list_renders() -> None:
    assert "0 tools" in shown_text(ToolList()._repr_html_())
    assert "0 tools" in ToolList()._repr_markdown_()


def test_one_tool_renders_like_a_list_of_one() -> None:
    tool = hostile_tool()

    assert tool._repr_html_() == ToolList([tool])._repr_html_()
    assert tool._repr_markdown_() == ToolList([tool])._repr_markdown_()


def test_list_tools_result_notes_a_next_page() -> None:
    page = ListToolsResult.from_dict({"tools": [{"name": "a"}], "nextCursor": HOSTILE})

    html_text = page._repr_html_()

    assert "more tools on the next page" in shown_text(html_text)
    assert "<script" not in html_text
    assert "next page" in page._repr_markdown_()


def test_a_title_equal_to_the_name_is_not_repeated() -> None:
    text = shown_text(Tool(name="add", title="add")._repr_html_())

    assert text.count("add") == 1


def test_a_long_description_is_cut_in_the_table() -> None:
    tool = Tool(name="t", description="x" * 50_000)

    html_text = tool._repr_html_()

    assert len(html_text) < 5_000
    assert "(cut)" in shown_text(html_text)
    assert "\\(cut\\)" in tool._repr_markdown_()


def test_a_very_long_tool_list_is_cut_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_display, "MAX_ITEMS", 5)
    tools = ToolList(Tool(name=f"tool{i}") for i in range(8))

    text = shown_text(tools._repr_html_())

    assert "tool4" in text and "tool5" not in text
    assert "3 more not shown" in text
    assert "8 tools" in text
    assert "3 more not shown" in tools._repr_markdown_()


@responses.activate
def test_client_list_tools_returns_a_tool_list() -> None:
    url = "http://display.test/mcp"

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        message = json.loads(request.body)
        if "id" not in message:
            return 202, {}, ""
        result: dict[str, Any] = {}
        if message["method"] == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "s", "version": "1"},
            }
        elif message["method"] == "tools/list":
            result = {"tools": [{"name": "add", "inputSchema": {"type": "object"}}]}
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result})
        return 200, {"Content-Type": "application/json"}, body

    responses.add_callback(responses.POST, url, callback=answer)
    responses.add(responses.GET, url, status=405)
    responses.add(responses.DELETE, url, status=200)
    with mcp_sync.Client(url, protocol_version="2025-11-25", timeout=10) as client:
        tools = client.list_tools()

    assert isinstance(tools, ToolList)
    assert [t.name for t in tools] == ["add"]
    assert "add" in shown_text(tools._repr_html_())


# --- text and results -----------------------------------------------------------------------


def test_text_content_is_escaped_in_html_and_markdown() -> None:
    block = TextContent(text=HOSTILE + "\n" + MD_HOSTILE)

    html_text = block._repr_html_()
    markdown = block._repr_markdown_()

    assert "<script" not in html_text
    assert HOSTILE in shown_text(html_text)
    assert_markdown_is_inert(markdown)


def test_markdown_keeps_line_breaks_and_indentation_as_text() -> None:
    markdown = TextContent(text="first\n    indented")._repr_markdown_()

    assert markdown == "first  \n&nbsp;&nbsp;&nbsp;&nbsp;indented"


def test_call_tool_result_renders_every_block_escaped() -> None:
    result = CallToolResult.from_dict(
        {
            "content": [
                {"type": "text", "text": HOSTILE},
                {"type": "image", "data": PNG, "mimeType": "image/png"},
                {"type": "resource_link", "uri": "javascript:alert(1)", "name": HOSTILE},
                {"type": "x-unknown", "payload": HOSTILE},
            ],
            "structuredContent": {"html": HOSTILE},
        }
    )

    html_text = result._repr_html_()

    assert "<script" not in html_text
    assert len(tags(html_text, "img")) == 1
    assert "<a" not in html_text  # a server URI never becomes a link
    text = shown_text(html_text)
    assert "tool result" in text
    assert "javascript:alert(1)" in text
    assert "x-unknown" in text
    assert "structured content" in text
    assert json.dumps(HOSTILE) in text


def test_call_tool_result_markdown_is_inert() -> None:
    result = CallToolResult.from_dict(
        {
            "content": [
                {"type": "text", "text": MD_HOSTILE},
                {"type": "resource_link", "uri": "javascript:alert(1)", "name": MD_HOSTILE},
            ],
            "structuredContent": {"html": HOSTILE},
        }
    )

    markdown = result._repr_markdown_()

    assert "**tool result**" in markdown
    assert "](javascript" not in markdown
    # Structured content is in a fenced block, where no HTML or Markdown has effect.
    assert "```json\n" in markdown and json.dumps(HOSTILE) in markdown


def test_a_backtick_fence_in_structured_content_cannot_close_the_block() -> None:
    result = CallToolResult(content=[], structured_content={"x": "```\n<script>x</script>"})

    markdown = result._repr_markdown_()

    assert "````json\n" in markdown  # the fence outruns the three backticks inside


def test_a_tool_error_is_marked_as_one() -> None:
    result = CallToolResult(content=[TextContent(text="boom")], is_error=True)

    assert "tool error" in shown_text(result._repr_html_())
    assert "**tool error**" in result._repr_markdown_()


def test_unknown_content_shows_its_type_and_fields_as_text() -> None:
    block = UnknownContent(type=HOSTILE, extra={"x": HOSTILE})

    html_text = block._repr_html_()

    assert "<script" not in html_text
    assert HOSTILE in shown_text(html_text)
    assert "<script" not in block._repr_markdown_().split("```")[0]


def test_a_very_long_text_is_cut_with_a_note() -> None:
    block = TextContent(text="a" * (_display.MAX_TEXT_CHARS + 1234))

    html_text = block._repr_html_()

    assert "1,234 more characters not shown" in shown_text(html_text)
    assert len(html_text) < _display.MAX_TEXT_CHARS + 1_000
    assert "1,234 more characters not shown" in block._repr_markdown_()


def test_many_content_blocks_are_cut_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_display, "MAX_ITEMS", 2)
    result = CallToolResult(content=[TextContent(text=f"block{i}") for i in range(5)])

    text = shown_text(result._repr_html_())

    assert "block1" in text and "block2" not in text
    assert "3 more not shown" in text


# --- images and audio -----------------------------------------------------------------------


def test_an_image_shows_inline_as_a_data_uri() -> None:
    block = ImageContent(data=PNG, mime_type="image/png")

    (img,) = tags(block._repr_html_(), "img")

    assert img["src"] == f"data:image/png;base64,{PNG}"
    assert f"](data:image/png;base64,{PNG})" in block._repr_markdown_()


def test_audio_shows_inline_as_a_player() -> None:
    block = AudioContent(data=WAV, mime_type="audio/wav")

    (audio,) = tags(block._repr_html_(), "audio")

    assert audio["src"] == f"data:audio/wav;base64,{WAV}"
    assert "controls" in audio
    markdown = block._repr_markdown_()
    assert f'<audio controls src="data:audio/wav;base64,{WAV}"' in markdown


@pytest.mark.parametrize(
    "mime",
    [
        "text/html",
        "image/svg+xml;charset=utf-8",
        'image/png" onerror="alert(1)',
        "image/png><script>alert(1)</script>",
        "audio/wav",
        "",
        "image",
        "application/octet-stream",
    ],
)
def test_an_image_whose_mime_type_is_not_an_image_type_is_refused(mime: str) -> None:
    block = ImageContent(data=PNG, mime_type=mime)

    html_text = block._repr_html_()
    markdown = block._repr_markdown_()

    assert tags(html_text, "img") == []
    assert "not shown" in shown_text(html_text)
    assert "data:" not in html_text and "data:" not in markdown
    assert "<script" not in html_text and "<script" not in markdown


def test_audio_whose_mime_type_is_an_image_type_is_refused() -> None:
    block = AudioContent(data=PNG, mime_type="image/png")

    html_text = block._repr_html_()

    assert tags(html_text, "audio") == [] and tags(html_text, "img") == []
    assert "not an audio/* type" in shown_text(html_text)


def test_a_mime_type_that_is_not_a_string_is_refused() -> None:
    block = ImageContent(data=PNG, mime_type=["image/png"])  # type: ignore[arg-type]

    assert tags(block._repr_html_(), "img") == []


@pytest.mark.parametrize(
    "data",
    [
        'AAAA" onerror="alert(1)',
        "AAAA<script>",
        "QUJ",  # not a multiple of four
        "QU=J",
        "Q===",
        "AAAA)![x](javascript:alert(1)",
        "",
        "ü" * 4,
    ],
)
def test_an_image_whose_data_is_not_base64_is_refused(data: str) -> None:
    block = ImageContent(data=data, mime_type="image/png")

    html_text = block._repr_html_()
    markdown = block._repr_markdown_()

    assert tags(html_text, "img") == []
    assert "not shown" in shown_text(html_text)
    assert "data:" not in html_text and "data:" not in markdown
    assert "javascript" not in markdown


def test_invalid_audio_data_is_refused() -> None:
    block = AudioContent(data='AAAA"><script>', mime_type="audio/wav")

    assert tags(block._repr_html_(), "audio") == []
    assert "<script" not in block._repr_markdown_()


def test_line_breaks_in_base64_data_are_dropped() -> None:
    wrapped = "\n".join(PNG[i : i + 8] for i in range(0, len(PNG), 8))

    (img,) = tags(ImageContent(data=wrapped, mime_type="image/png")._repr_html_(), "img")

    assert img["src"] == f"data:image/png;base64,{PNG}"


def test_a_mime_type_is_shown_lowercase_and_trimmed() -> None:
    (img,) = tags(ImageContent(data=PNG, mime_type=" Image/PNG ")._repr_html_(), "img")

    assert img["src"].startswith("data:image/png;base64,")


def test_an_image_over_the_size_limit_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_display, "MAX_MEDIA_CHARS", 400)
    block = ImageContent(data="A" * 800, mime_type="image/png")

    html_text = block._repr_html_()

    assert tags(html_text, "img") == []
    assert "over the inline limit" in shown_text(html_text)
    assert "A" * 100 not in html_text
    assert "over the inline limit" in block._repr_markdown_()
    assert "A" * 100 not in block._repr_markdown_()


def test_audio_over_the_size_limit_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_display, "MAX_MEDIA_CHARS", 400)
    block = AudioContent(data="A" * 800, mime_type="audio/wav")

    assert tags(block._repr_html_(), "audio") == []


def test_an_image_at_the_size_limit_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_display, "MAX_MEDIA_CHARS", 400)

    assert tags(ImageContent(data="A" * 400, mime_type="image/png")._repr_html_(), "img")


# --- resources and prompts ------------------------------------------------------------------


def test_an_embedded_text_resource_is_escaped() -> None:
    block = EmbeddedResource(
        resource=ResourceContents(uri=HOSTILE, mime_type="text/html", text=HOSTILE)
    )

    html_text = block._repr_html_()

    assert "<script" not in html_text
    assert shown_text(html_text).count(HOSTILE) == 2
    assert_markdown_is_inert(block._repr_markdown_())


def test_an_embedded_image_blob_shows_inline_and_other_blobs_do_not() -> None:
    image = EmbeddedResource(resource=ResourceContents(uri="r", mime_type="image/png", blob=PNG))
    html_blob = EmbeddedResource(
        resource=ResourceContents(uri="r", mime_type="text/html", blob=PNG)
    )

    assert len(tags(image._repr_html_(), "img")) == 1
    assert "binary data" in shown_text(html_blob._repr_html_())
    assert "data:" not in html_blob._repr_html_()
    assert "binary data" in html_blob._repr_markdown_()


def test_an_embedded_resource_without_contents_renders() -> None:
    assert "without contents" in shown_text(EmbeddedResource()._repr_html_())


def test_a_resource_link_is_text_not_a_link() -> None:
    block = ResourceLink(uri="javascript:alert(1)", name=HOSTILE, description=MD_HOSTILE)

    html_text = block._repr_html_()
    markdown = block._repr_markdown_()

    assert "javascript:alert(1)" in shown_text(html_text)
    assert "<script" not in html_text
    assert "](javascript" not in markdown
    assert_markdown_is_inert(markdown)


def test_read_resource_result_renders_every_contents() -> None:
    result = ReadResourceResult.from_dict(
        {
            "contents": [
                {"uri": "file:///a.txt", "text": HOSTILE},
                {"uri": "file:///b.wav", "mimeType": "audio/wav", "blob": WAV},
            ]
        }
    )

    html_text = result._repr_html_()

    assert "<script" not in html_text
    assert len(tags(html_text, "audio")) == 1
    assert "file:///a.txt" in shown_text(html_text)
    assert "<script" not in result._repr_markdown_()


def test_get_prompt_result_escapes_description_roles_and_content() -> None:
    result = GetPromptResult.from_dict(
        {
            "description": HOSTILE,
            "messages": [
                {"role": HOSTILE, "content": {"type": "text", "text": MD_HOSTILE}},
                {
                    "role": "user",
                    "content": {"type": "image", "data": PNG, "mimeType": "image/png"},
                },
            ],
        }
    )

    html_text = result._repr_html_()

    assert "<script" not in html_text
    assert len(tags(html_text, "img")) == 1
    assert shown_text(html_text).count(HOSTILE) == 2
    assert_markdown_is_inert(result._repr_markdown_())
    assert "<script" not in result.messages[0]._repr_html_()


# --- fields of the wrong type ---------------------------------------------------------------


def test_fields_of_the_wrong_type_still_render() -> None:
    # The wire types keep what the server sent; a rendering must not raise on any of it.
    tool = Tool.from_dict(
        {
            "name": 5,
            "title": ["x"],
            "description": {"a": HOSTILE},
            "annotations": ["not", "an", "object"],
            "inputSchema": {"properties": ["a"], "required": [{}]},
        }
    )
    other = Tool.from_dict(
        {"name": "t", "inputSchema": {"properties": {"a": {}}, "required": [{}]}}
    )
    blocks = [
        TextContent(text=12),  # type: ignore[arg-type]
        ResourceLink(uri=7, name=None, description=8),  # type: ignore[arg-type]
        EmbeddedResource(resource=ResourceContents(uri=1, mime_type=2, blob=3)),  # type: ignore[arg-type]
        EmbeddedResource(resource=ResourceContents(uri="u", mime_type="image/png", blob=3)),  # type: ignore[arg-type]
        ImageContent(data=None, mime_type=None),  # type: ignore[arg-type]
    ]

    for shown in (ToolList([tool, other]), CallToolResult(content=blocks)):  # type: ignore[arg-type]
        html_text = shown._repr_html_()
        assert "<script" not in html_text
        parse(html_text)
        assert "<script" not in shown._repr_markdown_()
