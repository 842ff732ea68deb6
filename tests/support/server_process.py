"""Start, stop and restart a test MCP server (``tests/servers/*.py``) as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .server_env import server_python

SERVERS_DIR = Path(__file__).resolve().parents[1] / "servers"
EVERYTHING_SERVER = SERVERS_DIR / "everything_server.py"

# Environment variables that would make the server's interpreter look outside its
# own virtualenv (set by tox, coverage, or a developer's shell).
_SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "__PYVENV_LAUNCHER__")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    """The server process did not come up (or died); the message carries its output."""


class ServerProcess:
    """One test server subprocess on a fixed host and port.

    ``url`` stays the same across ``restart()``, so a client that holds a session
    sees the server come back without it (every old session id answers 404).
    """

    def __init__(
        self,
        script: Path | str = EVERYTHING_SERVER,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        json_response: bool = False,
        stateless: bool = False,
        extra_args: list[str] | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.script = Path(script)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.json_response = json_response
        self.stateless = stateless
        self.extra_args = list(extra_args or [])
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir = tempfile.mkdtemp(prefix="mcp-test-server-")
        self._stdout_path = Path(self._log_dir) / "stdout.log"
        self._stderr_path = Path(self._log_dir) / "stderr.log"

    # ------------------------------------------------------------------ info

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The Streamable HTTP endpoint, e.g. ``http://127.0.0.1:PORT/mcp``."""
        return f"{self.base_url}/mcp"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        cmd = [
            server_python(),
            "-u",
            str(self.script),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.json_response:
            cmd.append("--json-response")
        if self.stateless:
            cmd.append("--stateless")
        return cmd + self.extra_args

    def stdout_text(self) -> str:
        """Everything the server printed to stdout (across restarts)."""
        return _read(self._stdout_path)

    def stderr_text(self) -> str:
        """Everything the server printed to stderr (across restarts)."""
        return _read(self._stderr_path)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> ServerProcess:
        """Start the server and wait until it accepts connections."""
        if self.is_running:
            raise RuntimeError(f"server already running (pid {self.pid})")
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env["PYTHONUNBUFFERED"] = "1"
        # A port just released by the previous run (or picked by free_port) can
        # still be taken by somebody else for a moment; retry a few times.
        attempts = 5
        for attempt in range(1, attempts + 1):
            marker = f"READY {self.port}"
            offset = _size(self._stdout_path)
            err_offset = _size(self._stderr_path)
            command = self.command()
            with open(self._stdout_path, "ab") as out, open(self._stderr_path, "ab") as err:
                try:
                    self._proc = subprocess.Popen(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=err,
                        cwd=str(self.script.parent),
                        env=env,
                        start_new_session=True,
                    )
                except OSError as exc:
                    raise ServerError(f"cannot run {' '.join(command)}: {exc}") from exc
            self.starts += 1
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline:
                if marker in _read(self._stdout_path, offset):
                    return self
                if self._proc.poll() is not None:
                    break
                time.sleep(0.02)
            else:
                self._kill()
                raise ServerError(
                    f"{self.script.name} did not accept connections on {self.host}:{self.port} "
                    f"within {self.startup_timeout:.0f}s.\n{self._output_tail()}"
                )
            # The process died before it was ready.
            code = self._proc.returncode
            self._proc = None
            if attempt < attempts and _port_in_use_error(_read(self._stderr_path, err_offset)):
                time.sleep(0.2 * attempt)
                continue
            raise ServerError(
                f"{self.script.name} exited with code {code} before it was ready.\n{self._output_tail()}"
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the server: SIGTERM, a bounded wait, then SIGKILL. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.terminate()
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        self._proc = None

    def restart(self) -> ServerProcess:
        """Stop, then start again on the same host and port; all sessions are lost."""
        self.stop()
        return self.start()

    def kill(self) -> None:
        """SIGKILL the server at once (no graceful shutdown)."""
        self._kill()
        self._proc = None

    def close(self) -> None:
        """Stop the server and remove its log files."""
        self.stop()
        for path in (self._stdout_path, self._stderr_path):
            try:
                path.unlink()
            except OSError:
                pass
        try:
            os.rmdir(self._log_dir)
        except OSError:
            pass

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running else "stopped"
        return f"<ServerProcess {self.script.name} {self.url} {state}>"

    # --------------------------------------------------------------- private

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            # The server runs in its own session: take any helper processes with it.
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait
            pass

    def _output_tail(self, limit: int = 6000) -> str:
        return (
            f"command: {' '.join(self.command())}\n"
            f"--- stdout ---\n{self.stdout_text()[-limit:]}\n"
            f"--- stderr ---\n{self.stderr_text()[-limit:]}"
        )


def _read(path: Path, offset: int = 0) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _port_in_use_error(stderr: str) -> bool:
    tail = stderr[-2000:]
    return "address already in use" in tail.lower() or "Errno 98" in tail
