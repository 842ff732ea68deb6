"""Content blocks and tool results for :mod:`mcp_sync.testing`, as plain wire dicts."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional, Union

__all__ = [
    "PNG_1X1",
    "WAV_SILENCE",
    "ToolError",
    "ToolResult",
    "audio",
    "embedded_resource",
    "image",
    "resource_link",
    "text",
]


def _png_1x1() -> bytes:
    """A valid 1x1 red PNG, built here so no binary blob sits in the source."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, then one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _wav_silence(samples: int = 8) -> bytes:
    """A valid mono 8 kHz 16-bit WAV of ``samples`` silent samples."""
    data = b"\x00\x00" * samples
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


#: A 1x1 red PNG image.
PNG_1X1: bytes = _png_1x1()
#: A few samples of silence as a WAV file.
WAV_SILENCE: bytes = _wav_silence()


def _b64(data: Union[bytes, str]) -> str:
    """Bytes are encoded; a str is taken as base64 already."""
    if isinstance(data, str):
        return data
    return base64.b64encode(data).decode("ascii")


def text(value: str, *, annotations: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A text content block."""
    block: dict[str, Any] = {"type": "text", "text": value}
    if annotations:
        block["annotations"] = annotations
    return block


def image(data: Union[bytes, str] = PNG_1X1, mime_type: str = "image/png") -> dict[str, Any]:
    """An image content block; ``data`` is raw bytes or base64 text (a 1x1 PNG by default)."""
    return {"type": "image", "data": _b64(data), "mimeType": mime_type}


def audio(data: Union[bytes, str] = WAV_SILENCE, mime_type: str = "audio/wav") -> dict[str, Any]:
    """An audio content block; ``data`` is raw bytes or base64 text (a short silent WAV by default)."""
    return {"type": "audio", "data": _b64(data), "mimeType": mime_type}


def embedded_resource(
    uri: str,
    text: Optional[str] = None,
    *,
    blob: Optional[bytes] = None,
    mime_type: Optional[str] = None,
) -> dict[str, Any]:
    """An embedded resource content block holding either ``text`` or ``blob`` (raw bytes)."""
    if (text is None) == (blob is None):
        raise ValueError("an embedded resource holds exactly one of text and blob")
    contents: dict[str, Any] = {"uri": uri}
    if mime_type is not None:
        contents["mimeType"] = mime_type
    if text is not None:
        contents["text"] = text
    else:
        assert blob is not None
        contents["blob"] = _b64(blob)
    return {"type": "resource", "resource": contents}


def resource_link(
    uri: str, name: str, *, mime_type: Optional[str] = None, description: Optional[str] = None
) -> dict[str, Any]:
    """A resource link content block (2025-06-18 and later)."""
    block: dict[str, Any] = {"type": "resource_link", "uri": uri, "name": name}
    if mime_type is not None:
        block["mimeType"] = mime_type
    if description is not None:
        block["description"] = description
    return block


class ToolError(Exception):
    """Raise from a tool to answer with ``isError: true`` and this message as text."""


@dataclass
class ToolResult:
    """A tool result spelled out: content blocks, structured content, and the error flag.

    A tool may return this instead of a plain value; ``structured_content`` without
    ``content`` also gets its JSON as one text block, as the spec recommends.
    """

    content: list[dict[str, Any]] = field(default_factory=list)
    structured_content: Any = None
    is_error: bool = False
    meta: Optional[dict[str, Any]] = None

    def to_dict(self) -> dict[str, Any]:
        """The ``CallToolResult`` wire form."""
        content = list(self.content)
        if not content and self.structured_content is not None:
            content = [text(json.dumps(self.structured_content))]
        result: dict[str, Any] = {"content": content}
        if self.structured_content is not None:
            result["structuredContent"] = self.structured_content
        if self.is_error:
            result["isError"] = True
        if self.meta:
            result["_meta"] = self.meta
        return result


_BLOCK_TYPES = frozenset({"text", "image", "audio", "resource", "resource_link"})


def is_block(value: Any) -> bool:
    """Whether ``value`` looks like a content block dict."""
    return isinstance(value, dict) and value.get("type") in _BLOCK_TYPES


def tool_result(value: Any, structured: bool) -> dict[str, Any]:
    """A tool's return value as a ``CallToolResult`` dict.

    ``ToolResult`` is taken as it is; a str is one text block; a content block, or a
    list of blocks and strings, is the content; ``None`` is no content. Any other
    value is JSON: with ``structured`` (the tool has an output schema) or when it is
    a dict, it also becomes ``structuredContent`` (a non-dict wrapped as
    ``{"result": value}``).
    """
    if isinstance(value, ToolResult):
        return value.to_dict()
    if value is None:
        return {"content": []}
    if isinstance(value, str):
        return {"content": [text(value)]}
    if is_block(value):
        return {"content": [value]}
    if isinstance(value, list) and value and all(is_block(v) or isinstance(v, str) for v in value):
        return {"content": [text(v) if isinstance(v, str) else v for v in value]}
    if isinstance(value, dict) or structured:
        data = value if isinstance(value, dict) else {"result": value}
        return ToolResult(structured_content=data).to_dict()
    return {"content": [text(json.dumps(value))]}
