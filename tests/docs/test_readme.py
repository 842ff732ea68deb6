"""README.md's first command, run as written in a fresh copy of the project.

It makes a virtualenv, installs mcp_sync into it with pip and runs ``mcp-sync demo``,
as a new user would (pip reaches the package index the machine is set up with).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown_blocks import console_commands, fenced_blocks

REPO = Path(__file__).resolve().parents[2]

# Build output, caches and installed environments that a fresh checkout does not have.
_NOT_IN_A_CHECKOUT = shutil.ignore_patterns(
    ".git",
    ".tox",
    ".cache",
    "build",
    "dist",
    "*.egg-info",
    "node_modules",
    "_build",
    "__pycache__",
    ".venv",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
)


def _first_command() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_console = next(b for b in fenced_blocks(readme) if b.info == "console")
    return console_commands(first_console)[0].command


def test_readme_first_command_is_the_install_and_demo_line() -> None:
    command = _first_command()
    assert "pip install ." in command and command.endswith("mcp-sync demo")


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_readme_first_command_installs_mcp_sync_and_runs_the_demo(tmp_path: Path) -> None:
    checkout = tmp_path / "mcp_sync"
    shutil.copytree(REPO, checkout, ignore=_NOT_IN_A_CHECKOUT)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")
    }
    done = subprocess.run(
        ["bash", "-c", _first_command()],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=840,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert "1. Started a demo MCP server in this process at http://127.0.0.1:" in done.stdout
    assert "and the call still returns 42: mcp_sync started a new session" in done.stdout
    assert (checkout / ".venv" / "bin" / "mcp-sync").exists()
