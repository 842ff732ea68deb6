"""docs/eras.md: its task example needs a server with a tool that runs as a task."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any


def setup(namespace: dict[str, Any], server: Any, docs: Any) -> Iterator[None]:
    @server.tool(task=True)
    def render_video(id: int) -> str:
        """Render a video, as a task."""
        time.sleep(0.2)
        return f"video {id} rendered"

    docs.substitutions["https://video.example.com/mcp"] = server.url
    yield
