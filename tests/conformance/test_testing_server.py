"""Run the official MCP conformance suite's server scenarios against mcp_sync.testing.

The same pinned suite as ``test_conformance.py`` (which grades the client) grades
:class:`mcp_sync.testing.MCPTestServer` here, with :func:`conformance_fixtures` giving
it the tools, resources and prompts the scenarios call::

    node .../conformance/dist/index.js server --url <url> --scenario <name> --spec-version <v>

A scenario passes when the suite exits 0 and its ``checks.json`` holds at least one
SUCCESS and no FAILURE or WARNING. The scenarios below are the ones the server claims,
per spec version; ``KNOWN_FAILURES`` lists claimed scenarios that still fail (strict
xfail, with the reason), so one that starts passing must leave the list. Scenarios the
server does not claim are listed in ``NOT_CLAIMED`` with the reason; docs/testing.md
shows the same table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_conformance import (
    RUN_TIMEOUT_S,
    ConformanceScenarioFailed,
    _format_check,
    _require_suite,
    _run,
    _tail,
)

from mcp_sync.testing import MCPTestServer, conformance_fixtures

# Scenarios of every legacy revision from 2025-06-18 on.
_LEGACY_COMMON = [
    "server-initialize",
    "server-session-lifecycle",
    "ping",
    "logging-set-level",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
]

CLAIMED: dict[str, list[str]] = {
    "2025-03-26": ["server-session-lifecycle"],
    "2025-06-18": _LEGACY_COMMON,
    "2025-11-25": [
        *_LEGACY_COMMON,
        "json-schema-2020-12",
        "dns-rebinding-protection",
        "server-sse-multiple-streams",
    ],
    "2026-07-28": [
        "server-stateless",
        "completion-complete",
        "tools-list",
        "tools-call-simple-text",
        "tools-call-image",
        "tools-call-audio",
        "tools-call-embedded-resource",
        "tools-call-mixed-content",
        "tools-call-error",
        "tools-call-with-progress",
        "json-schema-2020-12",
        "resources-list",
        "resources-read-text",
        "resources-read-binary",
        "resources-templates-read",
        "sep-2164-resource-not-found",
        "prompts-list",
        "prompts-get-simple",
        "prompts-get-with-args",
        "prompts-get-embedded-resource",
        "prompts-get-with-image",
        "dns-rebinding-protection",
        "caching",
        "http-header-validation",
        "http-custom-header-server-validation",
        "server-sse-multiple-streams",
    ],
}

# Claimed scenarios that fail today: {(scenario, spec version): reason}.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}

# Scenarios of the pinned suite the server does not claim, and why.
NOT_CLAIMED: dict[str, str] = {
    "server-sse-polling": "SSE events carry no ids, so streams cannot be resumed (SEP-1699)",
    "elicitation-sep1034-defaults": "no fixture tool for it yet",
    "elicitation-sep1330-enums": "no fixture tool for it yet",
    "input-required-result-*": "MRTR works (ctx.elicit/sample/list_roots) but the fixture tools are not there yet",
    "tasks-*": "the tasks extension is not implemented",
    "sep-2640-skills-*": "the skills extension is not implemented",
}

RUNS = [(name, version) for version, names in CLAIMED.items() for name in names]

pytestmark = [pytest.mark.conformance]
try:  # keep pytest-timeout's per-test limit above the suite's own hard limit
    import pytest_timeout  # noqa: F401
except ImportError:  # pragma: no cover - plugin not installed
    pass
else:
    pytestmark.append(pytest.mark.timeout(RUN_TIMEOUT_S + 30))


@pytest.fixture(scope="module")
def server() -> Iterator[MCPTestServer]:
    with conformance_fixtures(MCPTestServer(name="mcp_sync-conformance")) as started:
        yield started


def _params() -> Iterator[object]:
    for name, version in RUNS:
        marks = []
        reason = KNOWN_FAILURES.get((name, version))
        if reason is not None:
            marks.append(
                pytest.mark.xfail(reason=reason, strict=True, raises=ConformanceScenarioFailed)
            )
        yield pytest.param(name, version, id=f"{name}@{version}", marks=marks)


@pytest.mark.parametrize(("scenario", "spec_version"), list(_params()))
def test_server_scenario(
    server: MCPTestServer, scenario: str, spec_version: str, tmp_path: Path
) -> None:
    _require_suite()
    out_dir = tmp_path / "results"
    returncode, output = _run(
        [
            "server",
            "--url",
            server.url,
            "--scenario",
            scenario,
            "--spec-version",
            spec_version,
            "--output-dir",
            str(out_dir),
        ],
        timeout=RUN_TIMEOUT_S,
    )
    if returncode == 0 and "SKIPPED: scenario" in output:
        pytest.fail(
            f"suite skipped {scenario!r} at {spec_version}:\n{_tail(output)}", pytrace=False
        )
    checks_files = sorted(out_dir.rglob("checks.json"))
    checks: list[dict] = (
        json.loads(checks_files[-1].read_text(encoding="utf-8")) if checks_files else []
    )
    bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
    problems = []
    if returncode is None:
        problems.append(f"suite did not finish within {RUN_TIMEOUT_S:.0f}s and was killed")
    elif returncode != 0:
        problems.append(f"suite exited with code {returncode}")
    if not checks_files:
        problems.append("suite wrote no checks.json")
    if bad:
        problems.append(f"{len(bad)} failing/warning check(s)")
    if checks_files and not any(c.get("status") == "SUCCESS" for c in checks):
        problems.append("no check succeeded")
    if not problems:
        return
    report = [f"server scenario {scenario!r} ({spec_version}) failed: " + "; ".join(problems)]
    report.extend(_format_check(c) for c in bad)
    report.append("Suite output:\n" + _tail(output))
    raise ConformanceScenarioFailed("\n".join(report))


@pytest.mark.parametrize("spec_version", sorted(CLAIMED))
def test_claimed_scenarios_exist_in_the_pinned_suite(spec_version: str) -> None:
    _require_suite()
    returncode, output = _run(["list", "--server", "--spec-version", spec_version], timeout=60)
    assert returncode == 0, _tail(output)
    listed = set(re.findall(r"^\s+- (\S+)", output, flags=re.MULTILINE))
    missing = sorted(set(CLAIMED[spec_version]) - listed)
    assert not missing, f"the suite has no such scenarios at {spec_version}: {missing}"


def test_known_failures_are_claimed() -> None:
    assert set(KNOWN_FAILURES) <= set(RUNS)
