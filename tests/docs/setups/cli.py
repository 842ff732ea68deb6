"""docs/cli.md: the files its examples name (server.py, args.json, servers.json), and a
local server that wants OAuth for ``mcp-sync login``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support.docs_oauth import oauth_docs_server
from support.docs_stdio import stdio_docs_server


def setup(namespace: dict[str, Any], server: Any, docs: Any) -> Iterator[None]:
    workdir = Path(docs.workdir)
    (workdir / "args.json").write_text(json.dumps({"a": 2, "b": 40}))
    config = {"mcpServers": {"demo": {"url": server.url}}}
    (workdir / "servers.json").write_text(json.dumps(config))
    scopes = ["--valid-scope", "mcp:read", "--valid-scope", "mcp:write"]
    with stdio_docs_server(docs), oauth_docs_server(docs, *scopes):
        yield
