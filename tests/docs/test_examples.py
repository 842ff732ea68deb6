"""Every example in README.md and docs/*.md runs, and shows what the page says.

``python`` blocks
    The blocks of one page run in order in one namespace, which starts with
    ``mcp_sync``, ``url`` (a running ``mcp_sync.demo.demo_server()``, the server that
    ``mcp-sync demo --serve`` gives users at ``http://127.0.0.1:8000/mcp``) and
    ``client`` (an open ``mcp_sync.Client(url)``). That URL, written in a block, means the
    demo server. Functions named ``test_*`` that a page defines are then called, with a
    fresh ``MCPTestServer`` for a ``mcp_server`` argument (honouring a
    ``pytest.mark.mcp_server`` on them), the way the pytest plugin would.
``console`` blocks
    Each ``$ mcp-sync ...`` line runs in a shell, with ``mcp-sync`` being this
    interpreter's ``python -m mcp_sync``. The lines after it are its expected output,
    compared exactly; a command shown without output must still succeed (unless it says
    ``||``). ``$ mcp-sync demo --serve`` starts the server in the background and its first
    lines are compared. ``$ python examples/...`` lines run too. Install commands
    (``pip install``, ``python3 -m venv``, ``tox``) are not run here: README's first
    command is run as written by ``test_readme.py``, and ``tox`` is what CI runs.
Other blocks (``text``, ``ini``, directives) are not run; ``literalinclude`` shows files
under ``examples/``, which have tests of their own.

A page that needs more gets ``tests/docs/setups/<page stem>.py`` (``readme.py`` for
README.md) with ``setup(namespace, server)``, or ``setup(namespace, server, docs)`` to
change ``docs`` (a :class:`DocsRun`: text substitutions, the console's environment and
working directory). ``setup`` is a generator: code before its ``yield`` prepares the
page, code after it cleans up.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import logging
import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import mcp_sync
from mcp_sync.demo import demo_server
from mcp_sync.testing import MCPTestServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown_blocks import Block, console_commands, fenced_blocks

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SETUPS = Path(__file__).resolve().parent / "setups"

#: The demo server's address in the docs (``mcp-sync demo --serve``).
DOCS_URL = "http://127.0.0.1:8000/mcp"

#: Console commands that install things; see the module docstring.
NOT_RUN_HERE = ("pip install", "python3 -m venv", "tox")

COMMAND_TIMEOUT = 60  # seconds, for one console command


def _page_name(path: Path) -> str:
    return str(path.relative_to(REPO))


def _setup_name(path: Path) -> str:
    return "readme" if path.name == "README.md" else path.stem


@dataclass
class DocsRun:
    """What one page's examples run against; a page's setup may change it."""

    server: MCPTestServer
    workdir: Path
    #: Text replaced in code and expected output, in order: what the page says -> what is real.
    substitutions: dict[str, str] = field(default_factory=dict)
    #: The environment of console commands.
    env: dict[str, str] = field(default_factory=dict)

    def substitute(self, text: str) -> str:
        for shown, real in self.substitutions.items():
            text = text.replace(shown, real)
        return text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mcp_sync_shim(directory: Path) -> None:
    """An ``mcp-sync`` on PATH that runs this interpreter's mcp_sync."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "mcp-sync"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m mcp_sync "$@"\n')
    shim.chmod(0o755)
    python = directory / "python"
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """Examples configure logging (``basicConfig``, levels); no test after them should see it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))


@contextlib.contextmanager
def _docs_run(page: Path, tmp_path: Path) -> Iterator[tuple[DocsRun, dict[str, Any]]]:
    with _logging_restored(), demo_server() as server, contextlib.ExitStack() as stack:
        bin_dir = tmp_path / "bin"
        _mcp_sync_shim(bin_dir)
        env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "PYTHONPATH")}
        env.update(
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            PYTHONPATH=str(REPO),
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        workdir = tmp_path / "work"
        workdir.mkdir()
        docs = DocsRun(server, workdir, {DOCS_URL: server.url}, env)
        namespace: dict[str, Any] = {"__name__": "__docs__"}
        setup = _load_setup(_setup_name(page))
        if setup is not None:
            wanted = len(inspect.signature(setup).parameters)
            args = (namespace, server, docs)[:wanted]
            stack.enter_context(contextlib.contextmanager(setup)(*args))
        yield docs, namespace


def _load_setup(name: str) -> Optional[Callable[..., Iterator[None]]]:
    path = SETUPS / f"{name}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"docs_setup_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    setup: Callable[..., Iterator[None]] = module.setup
    return setup


def _blocks(page: Path, info: str) -> list[Block]:
    return [b for b in fenced_blocks(page.read_text(encoding="utf-8")) if b.info == info]


def _python_examples(page: Path) -> list[tuple[Block, Optional[Block]]]:
    """Each python block, with the ``text`` block right after it: its expected output."""
    text = page.read_text(encoding="utf-8")
    blocks = fenced_blocks(text)
    lines = text.split("\n")
    examples = []
    for index, block in enumerate(blocks):
        if block.info != "python":
            continue
        output = blocks[index + 1] if index + 1 < len(blocks) else None
        if output is not None:
            end = block.line + block.text.count("\n")  # the closing fence's index
            between = lines[end + 1 : output.line - 1]
            if output.info != "text" or any(line.strip() for line in between):
                output = None
        examples.append((block, output))
    return examples


def _pages_with(info: str) -> list[Any]:
    return [pytest.param(p, id=_page_name(p)) for p in PAGES if _blocks(p, info)]


def _runs_commands(page: Path) -> bool:
    return any(
        not cmd.command.startswith(NOT_RUN_HERE)
        for block in _blocks(page, "console")
        for cmd in console_commands(block)
    )


# --- python blocks ---------------------------------------------------------------------------


def _run_test_functions(namespace: dict[str, Any]) -> list[str]:
    """Call the page's ``test_*`` functions as pytest would; returns their names."""
    ran = []
    for name, fn in list(namespace.items()):
        if not (name.startswith("test_") and inspect.isfunction(fn)):
            continue
        options: dict[str, Any] = {}
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == "mcp_server":
                options.update(mark.kwargs)
        params = inspect.signature(fn).parameters
        unknown = set(params) - {"mcp_server"}
        assert not unknown, f"{name} asks for fixtures the docs tests do not give: {unknown}"
        with MCPTestServer(**options) as server:
            fn(**({"mcp_server": server} if "mcp_server" in params else {}))
        ran.append(name)
    return ran


@pytest.mark.parametrize("page", _pages_with("python"))
def test_python_examples_run(page: Path, tmp_path: Path, docs_server_python: str) -> None:
    already_open = set(_live_clients())
    with _docs_run(page, tmp_path) as (docs, namespace):
        try:
            for block, output in _python_examples(page):
                where = f"{_page_name(page)}:{block.line}"
                code = compile(docs.substitute(block.text), where, "exec")
                out = io.StringIO()
                try:
                    with contextlib.redirect_stdout(out):
                        exec(code, namespace)
                except Exception as exc:
                    raise AssertionError(
                        f"the example at {where} failed: {type(exc).__name__}: {exc}\n"
                        f"its output:\n{out.getvalue()}"
                    ) from exc
                if output is not None:
                    shown = docs.substitute(output.text).rstrip("\n").split("\n")
                    printed = out.getvalue().rstrip("\n").split("\n")
                    assert [line.rstrip() for line in printed] == [
                        line.rstrip() for line in shown
                    ], f"the example at {where} printed something else than the page shows"
            with contextlib.redirect_stdout(io.StringIO()):
                _run_test_functions(namespace)
        finally:
            for client in _live_clients():  # the clients a page opened and left open
                if client not in already_open:
                    client.close()


def _live_clients() -> list[mcp_sync.Client]:
    from mcp_sync import client as client_module

    return list(client_module._clients)


_HIDING = ("py", "python3", "pycon", "ipython", "sh", "bash", "shell", "zsh", "shell-session")


def test_every_example_block_is_one_the_tests_find() -> None:
    """Examples the tests would not run: an indented fence (inside a list, say), or code
    under another name (``sh`` instead of ``console``, ``py`` instead of ``python``)."""
    hidden = [
        f"{_page_name(page)}:{block.line}"
        for page in PAGES
        for block in fenced_blocks(page.read_text(encoding="utf-8"))
        if (block.info in ("python", "console") and block.indented) or block.info in _HIDING
    ]
    assert not hidden, f"examples the docs tests cannot run as written: {hidden}"


# --- console blocks --------------------------------------------------------------------------


def _serve_in_background(command: str, expected: list[str], docs: DocsRun) -> None:
    """``mcp-sync demo --serve``: its first lines must be the ones shown; then stop it."""
    port = _free_port()
    shown_url = DOCS_URL.replace("8000", str(port))
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command} --port {port}"],
        cwd=docs.workdir,
        env=docs.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:  # a reader thread, so that a silent server cannot hang the test
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, name="docs-serve-reader", daemon=True)
    reader.start()
    try:
        got = []
        for _ in expected:
            try:
                got.append(lines.get(timeout=COMMAND_TIMEOUT))
            except queue.Empty:
                break
        want = [line.replace(DOCS_URL, shown_url) for line in expected]
        assert got == want
        with mcp_sync.Client(shown_url, timeout=10) as client:
            assert client.call_tool("add", {"a": 2, "b": 40}).text == "42"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(5)


def _run_command(command: str, docs: DocsRun) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=docs.workdir,
        env=docs.env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
    )


@pytest.mark.parametrize(
    "page", [pytest.param(p, id=_page_name(p)) for p in PAGES if _runs_commands(p)]
)
def test_console_examples_run(page: Path, tmp_path: Path, docs_server_python: str) -> None:
    with _docs_run(page, tmp_path) as (docs, _namespace):
        for block in _blocks(page, "console"):
            for cmd in console_commands(block):
                where = f"{_page_name(page)}:{cmd.line}"
                if cmd.command.startswith(NOT_RUN_HERE):
                    continue
                assert cmd.command.startswith(("mcp-sync ", "python ")), (
                    f"{where}: the docs tests do not know how to run {cmd.command!r}"
                )
                command = docs.substitute(cmd.command)
                expected = [docs.substitute(line) for line in cmd.output]
                if command.startswith("mcp-sync demo --serve"):
                    _serve_in_background(command, cmd.output, docs)
                    continue
                done = _run_command(command, docs)
                report = f"{where}: $ {command}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
                if "||" not in command:
                    assert done.returncode == 0, report
                if expected:
                    got = [line.rstrip() for line in done.stdout.rstrip("\n").split("\n")]
                    want = [line.rstrip() for line in expected]
                    assert got == want, report


def test_console_block_parsing_keeps_output_with_its_command() -> None:
    block = Block(
        "console",
        10,
        textwrap.dedent(
            """\
            $ mcp-sync ping URL
            ok
            $ mcp-sync tools list URL
            NAME
            add
            """
        ),
    )
    commands = console_commands(block)
    assert [(c.line, c.command, c.output) for c in commands] == [
        (11, "mcp-sync ping URL", ["ok"]),
        (13, "mcp-sync tools list URL", ["NAME", "add"]),
    ]
