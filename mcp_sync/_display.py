"""HTML and Markdown renderings of the wire types, for Jupyter's rich display.

The types in :mod:`mcp_sync.types` call these from their ``_repr_html_`` and
``_repr_markdown_`` methods; nothing here runs unless a notebook asks.

Everything the server sent is untrusted. Every string from it is escaped, so no
markup from a server reaches the page: names, descriptions, text, URIs and JSON all
show as text. Links are never made from server URIs. Images are shown inline only
for an ``image/*`` MIME type whose data is valid base64, and audio only for an
``audio/*`` one; media above :data:`MAX_MEDIA_CHARS`, text above
:data:`MAX_TEXT_CHARS` and lists above :data:`MAX_ITEMS` are cut, with a note.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .types import (
        CallToolResult,
        ContentBlock,
        GetPromptResult,
        ListToolsResult,
        PromptMessage,
        ReadResourceResult,
        ResourceContents,
        Tool,
    )

__all__ = [
    "MAX_ITEMS",
    "MAX_MEDIA_CHARS",
    "MAX_TEXT_CHARS",
    "call_tool_result_html",
    "call_tool_result_markdown",
    "content_html",
    "content_markdown",
    "get_prompt_result_html",
    "get_prompt_result_markdown",
    "list_tools_result_html",
    "list_tools_result_markdown",
    "media_data_uri",
    "prompt_message_html",
    "prompt_message_markdown",
    "read_resource_result_html",
    "read_resource_result_markdown",
    "resource_contents_html",
    "resource_contents_markdown",
    "tool_html",
    "tool_markdown",
    "tools_html",
    "tools_markdown",
]

#: Characters of one text (a text block, a resource's text, a description) shown.
MAX_TEXT_CHARS = 20_000
#: Characters of base64 data of one image or audio clip shown inline (about 3.7 MB).
MAX_MEDIA_CHARS = 5_000_000
#: Tools, content blocks, messages or resource contents shown in one rendering.
MAX_ITEMS = 500
#: Characters of a description shown in a table cell.
_MAX_CELL_CHARS = 1_000
#: Characters of JSON (structured content, unknown blocks) shown.
_MAX_JSON_CHARS = 10_000

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_BACKTICKS = re.compile(r"`+")
# A MIME type as RFC 6838 spells one, for the two top-level types shown inline.
_MIME = re.compile(r"(image|audio)/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# What Markdown gives a meaning to; each is escaped with a backslash.
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~")
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


# --- escaping and limits ----------------------------------------------------------------


def _s(value: Any) -> str:
    """Any value as a string: the wire types do not check what the server put in them."""
    return value if isinstance(value, str) else str(value)


def _esc(value: Any) -> str:
    """Escape any value as HTML text."""
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def _md_line(line: str) -> str:
    out = []
    for char in line:
        if char in _HTML_SPECIAL:
            out.append(_HTML_SPECIAL[char])
        elif char in _MD_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    text = "".join(out)
    # Leading spaces would make an indented code block, where escapes show literally.
    stripped = text.lstrip(" \t")
    return "&nbsp;" * (len(text) - len(stripped)) + stripped


def _md(value: Any) -> str:
    """Escape any value as Markdown text: no Markdown and no HTML in it has effect.

    Line breaks stay line breaks (Markdown hard breaks).
    """
    text = value if isinstance(value, str) else str(value)
    return "  \n".join(_md_line(line) for line in text.splitlines() or [""])


def _md_cell(value: Any) -> str:
    """Escape a value for one cell of a Markdown table: a single line."""
    text = value if isinstance(value, str) else str(value)
    return " ".join(_md_line(line) for line in text.splitlines())


def _cut(text: str, limit: int) -> tuple[str, Optional[str]]:
    """``text`` cut to ``limit`` characters, and the note to show when it was cut."""
    if len(text) <= limit:
        return text, None
    return text[:limit], f"{len(text) - limit:,} more characters not shown"


def _json(value: Any) -> tuple[str, Optional[str]]:
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return _cut(text, _MAX_JSON_CHARS)


def _note_html(note: Optional[str]) -> str:
    return f'<div class="mcp-note"><em>{_esc(note)}</em></div>' if note else ""


def _note_md(note: Optional[str]) -> str:
    return f"\n\n_{_md(note)}_" if note else ""


def _more(total: int) -> Optional[str]:
    return f"{total - MAX_ITEMS:,} more not shown" if total > MAX_ITEMS else None


# --- media ------------------------------------------------------------------------------


def media_data_uri(kind: str, mime_type: Any, data: Any) -> tuple[Optional[str], str]:
    """A ``data:`` URI for inline media, or None and the reason it is not shown.

    ``kind`` is ``"image"`` or ``"audio"``: ``mime_type`` must be of that top-level type
    and ``data`` non-empty base64 (ASCII whitespace in it is dropped) of at most
    :data:`MAX_MEDIA_CHARS` characters. The second item always describes the media.
    """
    mime = mime_type.strip().lower() if isinstance(mime_type, str) else ""
    match = _MIME.fullmatch(mime)
    if match is None or match.group(1) != kind:
        shown = mime_type if isinstance(mime_type, str) else type(mime_type).__name__
        return None, f"{kind} of type {shown!r}: not an {kind}/* type, not shown"
    if not isinstance(data, str) or not data:
        return None, f"{mime} {kind} without data, not shown"
    compact = _WHITESPACE.sub("", data) if _WHITESPACE.search(data) else data
    if len(compact) > MAX_MEDIA_CHARS:
        size = len(compact) * 3 // 4
        return None, (
            f"{mime} {kind} of about {size:,} bytes: over the inline limit of "
            f"{MAX_MEDIA_CHARS * 3 // 4:,} bytes, not shown"
        )
    if len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None, f"{mime} {kind} whose data is not valid base64, not shown"
    size = len(compact) * 3 // 4 - compact.count("=")
    return f"data:{mime};base64,{compact}", f"{mime} {kind}, {size:,} bytes"


def _media_html(kind: str, mime_type: Any, data: Any) -> str:
    uri, description = media_data_uri(kind, mime_type, data)
    if uri is None:
        return _note_html(description)
    if kind == "image":
        return f'<img src="{uri}" alt="{_esc(description)}" style="max-width:100%">'
    return f'<audio controls src="{uri}" title="{_esc(description)}"></audio>'


def _media_md(kind: str, mime_type: Any, data: Any) -> str:
    uri, description = media_data_uri(kind, mime_type, data)
    if uri is None:
        return f"_{_md(description)}_"
    if kind == "image":
        return f"![{_md_cell(description)}]({uri})"
    # Markdown has no audio; Jupyter's Markdown takes this (our own, checked) HTML.
    return f'<audio controls src="{uri}" title="{_esc(description)}"></audio>'


# --- content blocks ---------------------------------------------------------------------


def _text_html(text: Any) -> str:
    shown, note = _cut(text if isinstance(text, str) else str(text), MAX_TEXT_CHARS)
    return (
        f'<pre style="white-space:pre-wrap;word-break:break-word">{_esc(shown)}</pre>'
        + _note_html(note)
    )


def _text_md(text: Any) -> str:
    shown, note = _cut(text if isinstance(text, str) else str(text), MAX_TEXT_CHARS)
    return _md(shown) + _note_md(note)


def _json_html(value: Any) -> str:
    shown, note = _json(value)
    return f"<pre>{_esc(shown)}</pre>" + _note_html(note)


def _json_md(value: Any) -> str:
    shown, note = _json(value)
    # Nothing inside a fenced block is Markdown or HTML; the fence outruns any run of
    # backticks in the text, so the text cannot close it.
    longest = max((len(run) for run in _BACKTICKS.findall(shown)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}json\n{shown}\n{fence}" + _note_md(note)


def content_html(block: ContentBlock) -> str:
    """One content block as HTML."""
    from .types import (
        AudioContent,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
    )

    if isinstance(block, TextContent):
        return _text_html(block.text)
    if isinstance(block, ImageContent):
        return _media_html("image", block.mime_type, block.data)
    if isinstance(block, AudioContent):
        return _media_html("audio", block.mime_type, block.data)
    if isinstance(block, ResourceLink):
        parts = [f"<strong>resource link</strong> <code>{_esc(block.uri)}</code>"]
        if block.name:
            parts.append(f" {_esc(block.name)}")
        if block.mime_type:
            parts.append(f" ({_esc(block.mime_type)})")
        html_text = "<div>" + "".join(parts) + "</div>"
        if block.description:
            shown, note = _cut(_s(block.description), _MAX_CELL_CHARS)
            html_text += f"<div>{_esc(shown)}</div>" + _note_html(note)
        return html_text
    if isinstance(block, EmbeddedResource):
        if block.resource is None:
            return _note_html("embedded resource without contents")
        return resource_contents_html(block.resource)
    return f"<div><strong>content of type</strong> <code>{_esc(block.type)}</code></div>" + (
        _json_html(block.to_dict())
    )


def content_markdown(block: ContentBlock) -> str:
    """One content block as Markdown."""
    from .types import (
        AudioContent,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
    )

    if isinstance(block, TextContent):
        return _text_md(block.text)
    if isinstance(block, ImageContent):
        return _media_md("image", block.mime_type, block.data)
    if isinstance(block, AudioContent):
        return _media_md("audio", block.mime_type, block.data)
    if isinstance(block, ResourceLink):
        line = f"**resource link** `{_md_cell(block.uri)}`"
        if block.name:
            line += f" {_md_cell(block.name)}"
        if block.mime_type:
            line += f" \\({_md_cell(block.mime_type)}\\)"
        if block.description:
            shown, note = _cut(_s(block.description), _MAX_CELL_CHARS)
            line += "  \n" + _md(shown) + _note_md(note)
        return line
    if isinstance(block, EmbeddedResource):
        if block.resource is None:
            return "_embedded resource without contents_"
        return resource_contents_markdown(block.resource)
    return f"**content of type** {_md_cell(block.type)}\n\n" + _json_md(block.to_dict())


def _blocks_html(blocks: Sequence[ContentBlock]) -> str:
    parts = [f'<div class="mcp-block">{content_html(b)}</div>' for b in blocks[:MAX_ITEMS]]
    return "".join(parts) + _note_html(_more(len(blocks)))


def _blocks_md(blocks: Sequence[ContentBlock]) -> str:
    parts = [content_markdown(b) for b in blocks[:MAX_ITEMS]]
    return "\n\n".join(parts) + _note_md(_more(len(blocks)))


# --- tools ------------------------------------------------------------------------------


def _parameters(tool: Tool) -> list[str]:
    """The tool's parameter names, a ``*`` after each required one."""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    properties = schema.get("properties")
    required = schema.get("required")
    names = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    if not isinstance(properties, dict):
        return []
    return [f"{name}*" if name in names else _s(name) for name in properties]


def _title(tool: Tool) -> str:
    """``title``, else ``annotations.title``, as ``Tool.display_name`` but for any shape."""
    if isinstance(tool.title, str) and tool.title:
        return tool.title
    annotations = tool.annotations
    title = annotations.get("title") if isinstance(annotations, dict) else None
    return title if isinstance(title, str) else ""


def _tool_cells(tool: Tool) -> tuple[str, str, str, str, Optional[str]]:
    name = _s(tool.name)
    title = _title(tool)
    title = "" if title == name else title
    description, note = _cut(_s(tool.description or ""), _MAX_CELL_CHARS)
    params, _ = _cut(", ".join(_parameters(tool)), _MAX_CELL_CHARS)
    return name, title, description, params, note


_TABLE_HEAD = "<tr><th>name</th><th>title</th><th>description</th><th>parameters</th></tr>"


def _tool_row_html(tool: Tool) -> str:
    name, title, description, params, note = _tool_cells(tool)
    cut = " <em>(cut)</em>" if note else ""
    return (
        f"<tr><td><code>{_esc(name)}</code></td><td>{_esc(title)}</td>"
        f'<td style="text-align:left">{_esc(description)}{cut}</td>'
        f"<td><code>{_esc(params)}</code></td></tr>"
    )


def _tool_row_md(tool: Tool) -> str:
    name, title, description, params, note = _tool_cells(tool)
    cut = " _\\(cut\\)_" if note else ""
    return (
        f"| {_md_cell(name)} | {_md_cell(title)} | {_md_cell(description)}{cut} "
        f"| {_md_cell(params)} |"
    )


def tools_html(tools: Sequence[Tool], next_cursor: Optional[str] = None) -> str:
    """A table of tools; ``next_cursor`` notes that more pages follow."""
    count = len(tools)
    heading = f"<strong>{count} tool{'' if count == 1 else 's'}</strong>"
    if not tools:
        return f"<div>{heading}</div>" + _cursor_html(next_cursor)
    rows = "".join(_tool_row_html(t) for t in tools[:MAX_ITEMS])
    return (
        f"<div>{heading}<table><thead>{_TABLE_HEAD}</thead><tbody>{rows}</tbody></table>"
        + _note_html(_more(count))
        + "<div><small>* required parameter</small></div>"
        + _cursor_html(next_cursor)
        + "</div>"
    )


def tools_markdown(tools: Sequence[Tool], next_cursor: Optional[str] = None) -> str:
    """A Markdown table of tools; ``next_cursor`` notes that more pages follow."""
    count = len(tools)
    heading = f"**{count} tool{'' if count == 1 else 's'}**"
    if not tools:
        return heading + _cursor_md(next_cursor)
    rows = "\n".join(_tool_row_md(t) for t in tools[:MAX_ITEMS])
    return (
        f"{heading}\n\n| name | title | description | parameters |\n|---|---|---|---|\n{rows}"
        + _note_md(_more(count))
        + "\n\n\\* required parameter"
        + _cursor_md(next_cursor)
    )


def _cursor_html(next_cursor: Optional[str]) -> str:
    return _note_html("more tools on the next page" if next_cursor else None)


def _cursor_md(next_cursor: Optional[str]) -> str:
    return _note_md("more tools on the next page" if next_cursor else None)


def tool_html(tool: Tool) -> str:
    """One tool as a one-row table."""
    return tools_html([tool])


def tool_markdown(tool: Tool) -> str:
    """One tool as a one-row Markdown table."""
    return tools_markdown([tool])


def list_tools_result_html(page: ListToolsResult) -> str:
    """One page of ``tools/list`` as HTML."""
    return tools_html(page.tools, page.next_cursor)


def list_tools_result_markdown(page: ListToolsResult) -> str:
    """One page of ``tools/list`` as Markdown."""
    return tools_markdown(page.tools, page.next_cursor)


def call_tool_result_html(result: CallToolResult) -> str:
    """A tool's result: its content blocks, then its structured content."""
    head = (
        '<div style="color:#b00"><strong>tool error</strong></div>'
        if result.is_error
        else "<div><strong>tool result</strong></div>"
    )
    body = _blocks_html(result.content)
    if result.structured_content is not None:
        body += "<div><strong>structured content</strong></div>" + _json_html(
            result.structured_content
        )
    return f'<div class="mcp-result">{head}{body}</div>'


def call_tool_result_markdown(result: CallToolResult) -> str:
    """A tool's result as Markdown."""
    head = "**tool error**" if result.is_error else "**tool result**"
    body = _blocks_md(result.content)
    if result.structured_content is not None:
        body += "\n\n**structured content**\n\n" + _json_md(result.structured_content)
    return f"{head}\n\n{body}"


# --- resources and prompts --------------------------------------------------------------


def _resource_head(contents: ResourceContents) -> tuple[str, str]:
    return _s(contents.uri), _s(contents.mime_type or "")


def _binary(blob: Any) -> str:
    if not isinstance(blob, str):
        return "binary data that is not a base64 string, not shown"
    return f"binary data, about {len(blob) * 3 // 4:,} bytes"


def resource_contents_html(contents: ResourceContents) -> str:
    """A resource's contents: text, an inline image or audio clip, or a note on binary data."""
    uri, mime = _resource_head(contents)
    head = f"<div><strong>resource</strong> <code>{_esc(uri)}</code>"
    head += f" ({_esc(mime)})</div>" if mime else "</div>"
    if contents.text is not None:
        return head + _text_html(contents.text)
    if contents.blob is not None:
        kind = mime.split("/", 1)[0].strip().lower()
        if kind in ("image", "audio"):
            return head + _media_html(kind, mime, contents.blob)
        return head + _note_html(_binary(contents.blob))
    return head


def resource_contents_markdown(contents: ResourceContents) -> str:
    """A resource's contents as Markdown."""
    uri, mime = _resource_head(contents)
    head = f"**resource** `{_md_cell(uri)}`"
    head += f" \\({_md_cell(mime)}\\)" if mime else ""
    if contents.text is not None:
        return f"{head}\n\n{_text_md(contents.text)}"
    if contents.blob is not None:
        kind = mime.split("/", 1)[0].strip().lower()
        if kind in ("image", "audio"):
            return f"{head}\n\n{_media_md(kind, mime, contents.blob)}"
        return head + _note_md(_binary(contents.blob))
    return head


def _many_html(items: Sequence[Any], render: Any) -> str:
    return "".join(render(item) for item in items[:MAX_ITEMS]) + _note_html(_more(len(items)))


def _many_md(items: Sequence[Any], render: Any) -> str:
    return "\n\n".join(render(item) for item in items[:MAX_ITEMS]) + _note_md(_more(len(items)))


def read_resource_result_html(result: ReadResourceResult) -> str:
    """The result of ``resources/read`` as HTML."""
    return f'<div class="mcp-result">{_many_html(result.contents, resource_contents_html)}</div>'


def read_resource_result_markdown(result: ReadResourceResult) -> str:
    """The result of ``resources/read`` as Markdown."""
    return _many_md(result.contents, resource_contents_markdown)


def prompt_message_html(message: PromptMessage) -> str:
    """One prompt message: its role, then its content."""
    return (
        f'<div class="mcp-message"><div><strong>{_esc(message.role)}</strong></div>'
        f"{content_html(message.content)}</div>"
    )


def prompt_message_markdown(message: PromptMessage) -> str:
    """One prompt message as Markdown."""
    return f"**{_md_cell(message.role)}**\n\n{content_markdown(message.content)}"


def get_prompt_result_html(result: GetPromptResult) -> str:
    """The result of ``prompts/get`` as HTML."""
    head = f"<div><em>{_esc(result.description)}</em></div>" if result.description else ""
    return f'<div class="mcp-result">{head}{_many_html(result.messages, prompt_message_html)}</div>'


def get_prompt_result_markdown(result: GetPromptResult) -> str:
    """The result of ``prompts/get`` as Markdown."""
    head = f"_{_md_cell(result.description)}_\n\n" if result.description else ""
    return head + _many_md(result.messages, prompt_message_markdown)
