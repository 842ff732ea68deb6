"""Command lines that start the test MCP servers over stdio.

``everything_stdio_command()``
    ``tests/servers/everything_server.py --stdio`` on the server virtualenv's python
    (the official ``mcp`` SDK; both protocol eras, the same tools, resources and
    prompts as over HTTP, plus ``crash`` and ``stderr_note``).
``misbehaving_command(*flags)``
    ``tests/servers/misbehaving_stdio.py`` on the running interpreter (standard
    library only; legacy handshake only). Flags: ``--ignore-sigterm``,
    ``--garbage``, ``--exit-on METHOD``, ``--stderr-noise``.
``stdio_server_env()``
    an environment for either process: the current one without the variables that
    would make the server virtualenv's python look outside it (``PYTHONPATH`` ...).

Both servers write nothing to stdout before the client's first message and exit
once stdin reaches EOF (unless ``--ignore-sigterm``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .server_env import server_python

SERVERS_DIR = Path(__file__).resolve().parents[1] / "servers"
EVERYTHING_SERVER = SERVERS_DIR / "everything_server.py"
MISBEHAVING_SERVER = SERVERS_DIR / "misbehaving_stdio.py"

# The code misbehaving_stdio.py exits with for ``--exit-on METHOD``.
EXIT_ON_CODE = 7

_SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "__PYVENV_LAUNCHER__")


def everything_stdio_command(*extra_args: str) -> list[str]:
    """argv that runs the everything server over stdio (creates its virtualenv if needed)."""
    return [server_python(), "-u", str(EVERYTHING_SERVER), "--stdio", *extra_args]


def misbehaving_command(*flags: str) -> list[str]:
    """argv that runs the misbehaving stdio server with ``flags``.

    E.g. ``misbehaving_command("--garbage", "--exit-on", "tools/call")``.
    """
    return [sys.executable, "-u", str(MISBEHAVING_SERVER), *flags]


def stdio_server_env() -> dict[str, str]:
    """The current environment minus what would leak into the server's interpreter."""
    return {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
