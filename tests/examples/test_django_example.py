"""The Django example project's own test suite passes, run as its users would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "django"

# The number of tests in examples/django/mcptools/tests.py: a runner that finds none
# (or loses some) must not pass.
EXPECTED_TESTS = 11


def test_django_example_tests_pass() -> None:
    env = dict(os.environ)
    # The checkout's mcp_sync, whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "--noinput"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"\nRan {EXPECTED_TESTS} tests in " in done.stderr, done.stderr
    assert "\nOK" in done.stderr, done.stderr
