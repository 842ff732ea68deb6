"""examples/tox_matrix, the project docs/tox.md shows: its tests pass, and its tox.ini
covers every supported Python and the oldest dependencies.

Running tox itself here would build a virtualenv for each of its six environments,
which takes minutes and needs every interpreter and the network. So this runs the
example's tests with pytest on the interpreter that runs this suite (tox runs this suite
on each Python of the matrix, which covers the same ground), and reads the example's
tox.ini to check what it would run.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tox_matrix"

#: Three tests, each against a server of either era.
PASSED = 6


def _plugin_is_installed() -> bool:
    """Whether the installed mcp-sync distribution registers the pytest plugin."""
    try:
        entry_points = distribution("mcp-sync").entry_points
    except PackageNotFoundError:
        return False
    return any(ep.group == "pytest11" and ep.name == "mcp_sync" for ep in entry_points)


def _tox_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return parser


def _pins(parser: configparser.ConfigParser, packages: tuple[str, ...]) -> dict[str, str]:
    """The ``deps`` lines of ``[testenv:oldest]`` that pin one of ``packages``."""
    pins = {}
    for line in parser["testenv:oldest"]["deps"].splitlines():
        name = re.split(r"[=<>!~\s]", line.strip(), maxsplit=1)[0]
        if name in packages:
            pins[name] = line.strip()
    return pins


def test_the_example_tests_pass() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(EXAMPLE), env.get("PYTHONPATH")])
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into examples/
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    if not _plugin_is_installed():
        # Running from a checkout without mcp_sync installed: no entry point to load it.
        command[4:4] = ["-p", "mcp_sync.testing.pytest_plugin"]
    done = subprocess.run(
        command, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=120
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    summary = done.stdout.strip().splitlines()[-1]
    assert re.match(rf"{PASSED} passed in ", summary), report


def test_the_example_tox_ini_covers_every_python_and_the_oldest_dependencies() -> None:
    example = _tox_ini(EXAMPLE / "tox.ini")
    envs = [e.strip() for e in example["tox"]["env_list"].split(",")]
    assert envs == ["py39", "py310", "py311", "py312", "py313", "oldest"]
    assert example["testenv:oldest"]["base_python"] == "py39"
    assert "pytest {posargs}" in example["testenv"]["commands"]

    # The same oldest releases mcp_sync itself is tested on, as its own tox.ini pins them.
    ours = _tox_ini(ROOT / "tox.ini")
    packages = ("requests", "urllib3", "tenacity", "sseclient-py")
    assert _pins(example, packages) == _pins(ours, packages)
    assert set(_pins(example, packages)) == set(packages)


def test_the_example_supports_what_mcp_sync_supports() -> None:
    """The example claims Python 3.9 and later, as mcp_sync's setup.cfg does."""
    setup = configparser.ConfigParser(interpolation=None)
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    assert setup["options"]["python_requires"] == ">=3.9"
    text = (EXAMPLE / "pyproject.toml").read_text(encoding="utf-8")
    assert 'requires-python = ">=3.9"' in text
    assert '"mcp-sync>=0.1"' in text
