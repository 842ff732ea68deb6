"""stdio: the server is a child process speaking newline-delimited JSON-RPC.

The client writes one message per line to the child's stdin; a daemon thread reads
its stdout line by line into the engine, and another carries its stderr to a logger,
a file or a callable (never to ``sys.stderr`` directly, which may have no file
descriptor in Jupyter or an IDE console). When the child exits, every waiting call
fails at once. Shutdown follows the spec: close stdin, wait, SIGTERM, wait, SIGKILL.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any, Callable, Optional, Union

from .. import jsonrpc
from ..engine import Call, StreamTimeout
from ..errors import MCPSyncError, ProtocolError, TransportError, excerpt
from .base import Transport

__all__ = ["DEFAULT_ENV_VARS", "StderrTarget", "StdioTransport", "safe_environment"]

log = logging.getLogger("mcp_sync")
stderr_log = logging.getLogger("mcp_sync.stderr")

#: The parent's variables a server inherits; the rest of the environment stays private.
DEFAULT_ENV_VARS = (
    (
        "APPDATA",
        "HOMEDRIVE",
        "HOMEPATH",
        "LOCALAPPDATA",
        "PATH",
        "PATHEXT",
        "PROCESSOR_ARCHITECTURE",
        "SYSTEMDRIVE",
        "SYSTEMROOT",
        "TEMP",
        "USERNAME",
        "USERPROFILE",
    )
    if sys.platform == "win32"
    else (
        "HOME",
        "LOGNAME",
        "PATH",
        "SHELL",
        "TERM",
        "USER",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TMPDIR",
    )
)

#: Where the server's stderr goes: None (the ``mcp_sync.stderr`` logger), a callable
#: taking each line, or a writable text file.
StderrTarget = Union[None, Callable[[str], None], IO[str]]

# How long each step of the shutdown may take, in seconds.
_EXIT_WAIT = 2.0
# Server stderr is logged line by line; a longer line is logged in pieces this long.
MAX_STDERR_LINE = 64 * 1024


def safe_environment(extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The child's environment: the allow-listed parent variables plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k in DEFAULT_ENV_VARS and not v.startswith("()")}
    env.update(extra or {})
    return env


def _skip_line(stream: Any, chunk: int) -> bool:
    """Read past the rest of a line; False when the stream ended first."""
    while True:
        piece = stream.readline(chunk)
        if not piece:
            return False
        if piece.endswith(b"\n"):
            return True


class StdioTransport(Transport):
    """Runs ``command`` and talks to it over its stdin and stdout.

    ``env`` is added to a safe allow-list of the parent's variables; ``stderr`` says
    where the server's stderr lines go.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        stderr: StderrTarget = None,
    ):
        if isinstance(command, str) or not command or not all(isinstance(a, str) for a in command):
            raise ValueError(
                "command must be a non-empty list of strings, such as ['uvx', 'mcp-server-git']"
            )
        self.command = list(command)
        self._env = dict(env or {})
        self._cwd = cwd
        self._stderr_target = stderr
        # Serialises writes to stdin, so lines from many threads never interleave.
        self._write_lock = threading.Lock()
        # Guards _process, _closing and _exit_error; caller threads and the reader touch them.
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._closing = False
        self._exit_error: Optional[TransportError] = None
        # Set by the client: called from the reader thread when the server exits.
        self.on_exit: Optional[Callable[[TransportError], None]] = None
        self._threads: list[threading.Thread] = []

    @property
    def pid(self) -> Optional[int]:
        """The server's process id, once started."""
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        """Start the server process and its reader threads (idempotent)."""
        with self._lock:
            if self._process is not None or self._closing:
                return
            try:
                process = subprocess.Popen(
                    self.command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=safe_environment(self._env),
                    cwd=self._cwd,
                    start_new_session=sys.platform != "win32",
                )
            except OSError as exc:
                where = f" in {self._cwd!r}" if self._cwd else ""
                raise TransportError(
                    f"could not start {self.command[0]!r}{where}: {exc.strerror or exc}"
                ) from exc
            self._process = process
            self._exit_error = None
            if sys.platform != "win32" and process.stdin is not None:
                # Writes wait with select() and a deadline, never blocked on a full pipe.
                os.set_blocking(process.stdin.fileno(), False)
        for target, name in ((self._read_stdout, "stdout"), (self._read_stderr, "stderr")):
            thread = threading.Thread(
                target=target, args=(process,), name=f"mcp_sync-stdio-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    # --- sending ----------------------------------------------------------------------------

    def _write(self, message: dict[str, Any], timeout: Optional[float]) -> None:
        data = jsonrpc.encode(message) + b"\n"
        with self._lock:
            process, error = self._process, self._exit_error
        if error is not None:
            raise error
        if process is None or process.stdin is None:
            raise TransportError("the server process is not running")
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._write_lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            raise StreamTimeout()
        try:
            _write_all(process.stdin, data, deadline)
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise self._exit_error or TransportError(
                f"the server's stdin is closed ({type(exc).__name__})"
            ) from exc
        finally:
            self._write_lock.release()

    def send_request(self, message: dict[str, Any], call: Call) -> None:
        # The answer arrives on the reader thread; the engine waits for it.
        self._write(message, call.remaining())

    def send_message(self, message: dict[str, Any], *, timeout: Optional[float]) -> None:
        try:
            self._write(message, timeout)
        except StreamTimeout as exc:
            raise TransportError("the server did not read its stdin in time") from exc

    # --- reading ----------------------------------------------------------------------------

    def _read_stdout(self, process: subprocess.Popen[bytes]) -> None:
        stream = process.stdout
        assert stream is not None
        while True:
            limit = self.max_message_size
            try:
                line = stream.readline(-1 if limit is None else limit + 1)
            except (OSError, ValueError):
                break
            if not line:
                break
            if limit is not None and len(line) > limit and not line.endswith(b"\n"):
                # Over the limit (a whole line of ``limit`` bytes ends with its newline):
                # not read into memory whole; skip to its end, and say so (a call whose
                # answer it was ends by its timeout).
                log.warning("mcp_sync: dropping a message over %d bytes from the server", limit)
                if not _skip_line(stream, limit):
                    break
                continue
            if not line.strip():
                continue
            try:
                messages = jsonrpc.parse_payload(line, allow_batch=self.allow_batch)
            except ProtocolError as exc:
                # Servers must write only MCP messages to stdout; a stray line is logged, not fatal.
                log.warning("mcp_sync: ignoring a line that is not JSON-RPC: %s", excerpt(line))
                log.debug("parse error: %s", exc)
                continue
            for msg in messages:
                try:
                    self._sink(msg, None)
                except MCPSyncError as exc:
                    log.warning("mcp_sync: could not take a message from the server: %s", exc)
        self._exited(process)

    def _exited(self, process: subprocess.Popen[bytes]) -> None:
        try:
            code = process.wait(timeout=_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            code = None
        with self._lock:
            if self._closing:
                return
            what = "closed its stdout" if code is None else f"exited with code {code}"
            self._exit_error = TransportError(f"the server process {what}")
            error = self._exit_error
        log.warning("mcp_sync: %s", error)
        if self.on_exit is not None:
            self.on_exit(error)

    def _read_stderr(self, process: subprocess.Popen[bytes]) -> None:
        stream = process.stderr
        assert stream is not None
        target = self._stderr_target
        while True:
            try:
                raw = stream.readline(MAX_STDERR_LINE)
            except (OSError, ValueError):
                return
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            try:
                if target is None:
                    stderr_log.info("%s", line)
                elif callable(target):
                    target(line)
                else:
                    target.write(line + "\n")
                    target.flush()
            except Exception:  # a broken stderr sink must not stop the reader
                log.debug("could not pass on a stderr line", exc_info=True)

    # --- shutdown ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the server process, but let :meth:`start` run a new one (after a failed connect)."""
        self.close()
        with self._lock:
            self._closing = False
            self._process = None
            self._threads = []

    def close(self) -> None:
        """Close stdin, wait, SIGTERM, wait, SIGKILL; every wait bounded. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            process = self._process
        if process is not None:
            _stop(process)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(_EXIT_WAIT)

    def reset_after_fork(self, http: Any = None) -> None:
        # The child must not share the parent's server process: it starts none by itself.
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._threads = []
        self._exit_error = TransportError(
            "this process was forked; the server belongs to the parent"
        )


def _signal(process: subprocess.Popen[bytes], sig: int) -> None:
    # The server runs in a session of its own, so its children (npx -> node) get the
    # signal too.
    try:
        if sys.platform != "win32":
            os.killpg(process.pid, sig)
        elif sig == signal.SIGTERM:
            process.terminate()
        else:
            process.kill()
    except (OSError, ProcessLookupError):
        pass


def _write_all(stdin: IO[bytes], data: bytes, deadline: Optional[float]) -> None:
    if sys.platform == "win32":
        stdin.write(data)
        stdin.flush()
        return
    fd = stdin.fileno()
    view = memoryview(data)
    while view:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise StreamTimeout()
        _, writable, _ = select.select([], [fd], [], left)
        if not writable:
            continue
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[written:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
    for sig in (None, signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        if sig is not None:
            _signal(process, sig)
        try:
            process.wait(timeout=_EXIT_WAIT)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        log.warning("mcp_sync: the server process %s did not exit even after SIGKILL", process.pid)
    # Whatever the server started (npx starts node) goes with it, even if it left on its own.
    _signal(process, getattr(signal, "SIGKILL", signal.SIGTERM))
