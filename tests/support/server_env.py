"""A virtualenv holding the official ``mcp`` server package, for the test servers.

The ``mcp`` SDK needs Python >= 3.10 while the client under test supports 3.9+, so
the integration tests run ``tests/servers/*.py`` as subprocesses on an interpreter
from a separate virtualenv at ``<repo>/.cache/mcp-server-venv``.

``server_python()`` returns that virtualenv's python, creating it and installing
``tests/servers/requirements.txt`` first when needed. It is safe to call from several
processes at once (an ``fcntl`` lock serialises set-up), and it reinstalls when the
requirements file changes (a hash stamp is kept inside the virtualenv).

Environment overrides:

``MCP_SYNC_SERVER_PYTHON``
    Use this interpreter as the server python as it is: no virtualenv, no install.
``MCP_SYNC_SERVER_BASE_PYTHON``
    Build the virtualenv from this interpreter instead of searching for one.
``MCP_SYNC_SERVER_VENV``
    Put the virtualenv here instead of ``<repo>/.cache/mcp-server-venv``.
"""

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import pytest

MIN_VERSION = (3, 10)

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT / "tests" / "servers" / "requirements.txt"
DEFAULT_VENV = REPO_ROOT / ".cache" / "mcp-server-venv"

_STAMP_NAME = ".requirements-stamp"
_SETUP_TIMEOUT = 900  # seconds, for venv creation plus pip install

_cached: Optional[str] = None


def venv_dir() -> Path:
    override = os.environ.get("MCP_SYNC_SERVER_VENV")
    return Path(override).expanduser().resolve() if override else DEFAULT_VENV


def _venv_python(venv: Path) -> Path:
    if os.name == "nt":  # pragma: no cover - the tests run on POSIX
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _stamp_for(python_version: str) -> str:
    return f"{_requirements_hash()} {python_version}\n"


def _interpreter_version(python: str) -> Optional[tuple[int, int]]:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        major, minor = out.stdout.strip().split(".")
        return int(major), int(minor)
    except ValueError:
        return None


def _has_venv_module(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import venv, ensurepip"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0


def _pyenv_roots() -> list[Path]:
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]).expanduser())
    roots.append(Path.home() / ".pyenv")
    return roots


def candidate_interpreters() -> list[str]:
    """Interpreters to try, best first (not yet checked for version or venv support)."""
    candidates: list[str] = []
    if os.environ.get("MCP_SYNC_SERVER_BASE_PYTHON"):
        candidates.append(os.environ["MCP_SYNC_SERVER_BASE_PYTHON"])
    if sys.version_info[:2] >= MIN_VERSION:
        # The running interpreter itself; prefer the base install over a venv's copy.
        candidates.append(getattr(sys, "_base_executable", None) or sys.executable)
        candidates.append(sys.executable)
    for minor in (13, 12, 11, 10):
        found = shutil.which(f"python3.{minor}")
        if found:
            candidates.append(found)
    for root in _pyenv_roots():
        versions = root / "versions"
        for minor in (13, 12, 11, 10):
            # Plain CPython releases only (3.12.1, not 3.12.1t or 3.12-dev).
            matches = [
                p
                for p in glob.glob(str(versions / f"3.{minor}.*" / "bin" / "python"))
                if Path(p).parent.parent.name.replace(".", "").isdigit()
            ]
            matches.sort(
                key=lambda p: [int(x) for x in Path(p).parent.parent.name.split(".")], reverse=True
            )
            candidates.extend(matches)
    seen = set()
    unique = []
    for c in candidates:
        if c and c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


def find_base_interpreter() -> tuple[str, tuple[int, int]]:
    """The first candidate interpreter that is >= 3.10 and can create virtualenvs."""
    tried = []
    for candidate in candidate_interpreters():
        version = _interpreter_version(candidate)
        if version is None:
            tried.append(f"{candidate} (does not run)")
            continue
        if version < MIN_VERSION:
            tried.append(f"{candidate} ({version[0]}.{version[1]}, too old)")
            continue
        if not _has_venv_module(candidate):
            tried.append(f"{candidate} ({version[0]}.{version[1]}, no venv/ensurepip module)")
            continue
        return candidate, version
    minimum = "{}.{}".format(*MIN_VERSION)
    raise RuntimeError(
        f"No Python >= {minimum} interpreter found to run the MCP test servers (the official "
        "`mcp` package needs it). Install one (e.g. `pyenv install 3.12`), put python3.1x on "
        "PATH, or set MCP_SYNC_SERVER_BASE_PYTHON. Tried: " + ("; ".join(tried) or "nothing found")
    )


def _run(cmd: list[str], what: str) -> None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=_SETUP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{what} timed out after {_SETUP_TIMEOUT}s: {' '.join(cmd)}") from exc
    if out.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {out.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{out.stdout[-4000:]}\n--- stderr ---\n{out.stderr[-4000:]}"
        )


def _venv_is_current(venv: Path) -> bool:
    python = _venv_python(venv)
    stamp = venv / _STAMP_NAME
    if not python.exists() or not stamp.exists():
        return False
    version = _interpreter_version(str(python))
    if version is None:
        return False
    return stamp.read_text() == _stamp_for("{}.{}".format(*version))


def _build(venv: Path) -> None:
    base, version = find_base_interpreter()
    if venv.exists():
        shutil.rmtree(venv)
    _run([base, "-m", "venv", str(venv)], "Creating the MCP server virtualenv")
    python = str(_venv_python(venv))
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
            str(REQUIREMENTS),
        ],
        "Installing tests/servers/requirements.txt",
    )
    _run([python, "-c", "import mcp.server.mcpserver, uvicorn"], "Checking the MCP server install")
    (venv / _STAMP_NAME).write_text(_stamp_for("{}.{}".format(*version)))


def _ignore_cache_dir(directory: Path) -> None:
    """Keep git from seeing the default cache directory (it only holds generated files)."""
    if directory != DEFAULT_VENV.parent:
        return
    ignore = directory / ".gitignore"
    if not ignore.exists():
        try:
            ignore.write_text("*\n")
        except OSError:
            pass


def server_python() -> str:
    """Path of a python that can run ``tests/servers/*.py`` (has ``mcp`` installed).

    Raises RuntimeError when no suitable interpreter exists or set-up fails.
    """
    global _cached
    if _cached is not None:
        return _cached

    override = os.environ.get("MCP_SYNC_SERVER_PYTHON")
    if override:
        _cached = override
        return _cached

    venv = venv_dir()
    if not _venv_is_current(venv):
        venv.parent.mkdir(parents=True, exist_ok=True)
        _ignore_cache_dir(venv.parent)
        lock_path = venv.parent / (venv.name + ".lock")
        with open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                # Another process may have finished the job while we waited.
                if not _venv_is_current(venv):
                    _build(venv)
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    _cached = str(_venv_python(venv))
    return _cached


# --- pytest glue shared by the conftest files of the directories that use these servers ---

# The outcome of preparing the server virtualenv, kept for the whole test session.
_prepared: dict[str, object] = {}


def mark_directory(
    items: "list[pytest.Item]", directory: Path, marker: "pytest.MarkDecorator"
) -> None:
    """Add ``marker`` to every collected test that lives under ``directory``."""
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(directory):
            item.add_marker(marker)


def prepare_after_collection(session: "pytest.Session", fixture_names: "set[str]") -> None:
    """Build the server virtualenv once, after collection, if a collected test needs it.

    Done here so that a first-time install does not count against one test's timeout.
    A failure is kept and raised by ``prepared_server_python()``, test by test.
    """
    if session.config.option.collectonly or _prepared:
        return
    if any(fixture_names.intersection(getattr(item, "fixturenames", ())) for item in session.items):
        try:
            _prepared["python"] = server_python()
        except Exception as exc:
            _prepared["error"] = exc


def prepared_server_python() -> str:
    """The server python; raises the set-up error, so that tests fail and never skip."""
    error = _prepared.get("error")
    if isinstance(error, BaseException):
        raise error
    return server_python()


if __name__ == "__main__":
    print(server_python())
