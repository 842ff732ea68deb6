"""examples/fan_out.py runs its calls in parallel and prints every result in order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_sync.demo import demo_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "fan_out.py"

SUMS = [f"{n + 1:2}. add(a={n}, b={n * n}) -> {n + n * n}" for n in range(10)]


def run_example(*args: str) -> list[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


def check(lines: list[str]) -> None:
    assert len(lines) == 14, lines
    assert lines[:10] == SUMS
    assert lines[10].startswith("11. add(a=1, b='two') -> failed, tool error: ")
    assert lines[11] == "12. count_slowly(to=3) -> counted to 3"
    assert lines[12] == (
        "13. count_slowly(to=10) -> failed, RequestTimeout: tools/call got no response within 0.5 s"
    )
    assert lines[13] == "13 calls: 11 succeeded, 2 failed"


def test_fan_out_with_its_own_server() -> None:
    check(run_example())


@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_fan_out_against_a_given_server(era: str) -> None:
    server = demo_server()
    server.eras = (era,)  # the demo server speaks both; this one speaks one of them
    with server:
        check(run_example(server.url))
        assert server.count("tools/call") == 13
        assert server.count("initialize") == (1 if era == "legacy" else 0)
