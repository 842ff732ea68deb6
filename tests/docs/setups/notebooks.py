"""docs/notebooks.md: what the page says a notebook shows is what mcp_sync renders."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_sync

PAGE = Path(__file__).resolve().parents[3] / "docs" / "notebooks.md"


def _shown_table() -> list[str]:
    """The lines of the page's ``text`` block: the tool table as it reads when rendered."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from markdown_blocks import fenced_blocks
    finally:
        sys.path.pop(0)
    (block,) = [b for b in fenced_blocks(PAGE.read_text(encoding="utf-8")) if b.info == "text"]
    return block.text.strip().splitlines()


def setup(namespace: dict[str, Any], server: Any) -> Iterator[None]:
    yield
    tools = namespace["tools"]
    assert isinstance(tools, list)
    assert "<table>" in tools._repr_html_()
    rendered = re.sub(r"\\(.)", r"\1", tools._repr_markdown_())  # Markdown escapes undone
    for line in _shown_table():
        assert line in rendered.splitlines(), line
    with mcp_sync.Client(server.url) as client:
        shown = client.call_tool("picture")._repr_html_()
    assert '<img src="data:image/png;base64,' in shown
