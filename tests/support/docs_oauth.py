"""An OAuth-protected MCP server for the docs' examples, and a browser that signs in by itself.

The docs show ``https://mcp.example.com/mcp`` for a server that wants OAuth. Their tests
run those examples against ``tests/servers/auth_server.py`` (the official SDK with its
own authorization server, whose ``/authorize`` approves at once) and stand in for the
person at the browser: in this process by replacing ``webbrowser.open``, and for
``mcp-sync`` commands through ``BROWSER``.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import requests

from support.server_process import SERVERS_DIR, ServerProcess

#: The address the docs give to a server that wants OAuth.
DOCS_OAUTH_URL = "https://mcp.example.com/mcp"

_BROWSER = """\
import sys

import requests

# Follow /authorize's redirect to the loopback address, as a browser would.
requests.get(sys.argv[1], timeout=30)
"""


def _open_in_background(url: str, *args: Any, **kwargs: Any) -> bool:
    thread = threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 30}, daemon=True)
    thread.start()
    return True


@contextlib.contextmanager
def oauth_docs_server(docs: Any, *flags: str) -> Iterator[ServerProcess]:
    """Start auth_server.py (with ``flags``) and point the docs' OAuth address at it.

    ``docs`` is the docs tests' ``DocsRun``: its substitutions and console environment
    are changed for as long as the context lasts.
    """
    server = ServerProcess(script=SERVERS_DIR / "auth_server.py", extra_args=list(flags))
    server.start()
    browser = Path(docs.workdir).parent / "browser.py"
    browser.write_text(_BROWSER)
    docs.substitutions[DOCS_OAUTH_URL] = server.url
    docs.env["BROWSER"] = f"{shlex.quote(sys.executable)} {shlex.quote(str(browser))} %s"
    try:
        with mock.patch("webbrowser.open", _open_in_background):
            yield server
    finally:
        docs.substitutions.pop(DOCS_OAUTH_URL, None)
        server.close()
