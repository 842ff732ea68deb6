"""A stdio MCP server for the docs' examples: ``python server.py`` in the working directory.

The docs start "a server you wrote" as ``python server.py``. Their tests copy
``examples/stdio_server.py`` (built on the official MCP SDK) there as ``server.py`` and
put the server virtualenv first on ``PATH``, so that ``python`` is an interpreter that
has the ``mcp`` package, for this process and for the docs' console commands.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from support.server_env import REPO_ROOT, prepared_server_python


@contextlib.contextmanager
def stdio_docs_server(docs: Any) -> Iterator[Path]:
    """Put ``server.py`` in ``docs.workdir`` and make it the working directory."""
    workdir = Path(docs.workdir)
    server = workdir / "server.py"
    shutil.copy(REPO_ROOT / "examples" / "stdio_server.py", server)
    server_bin = str(Path(prepared_server_python()).parent)
    path = f"{server_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    docs.env["PATH"] = f"{server_bin}{os.pathsep}{docs.env.get('PATH', '')}"
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        with mock.patch.dict(os.environ, {"PATH": path}):
            yield server
    finally:
        os.chdir(previous)
