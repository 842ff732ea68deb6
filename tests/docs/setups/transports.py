"""docs/transports.md: ``python server.py`` is a real stdio server, and the config file
in the home directory names it ``files``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from support.docs_stdio import stdio_docs_server


def setup(namespace: dict[str, Any], server: Any, docs: Any) -> Iterator[None]:
    home = Path(docs.workdir).parent / "home"
    (home / ".cursor").mkdir(parents=True)
    config = {"mcpServers": {"files": {"command": "python", "args": ["server.py"]}}}
    (home / ".cursor" / "mcp.json").write_text(json.dumps(config))
    with stdio_docs_server(docs), mock.patch.dict(os.environ, {"HOME": str(home)}):
        yield
