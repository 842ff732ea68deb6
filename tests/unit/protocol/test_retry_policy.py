"""RetryPolicy: which failures are transient, and how long to wait before each retry."""

from __future__ import annotations

import dataclasses

import pytest

import mcp_sync
from mcp_sync import ConnectError, HTTPStatusError, RetryPolicy, SessionExpiredError, TransportError

POLICY = RetryPolicy()


def test_a_failed_connection_is_retried_for_every_method_tool_calls_included() -> None:
    error = ConnectError("could not connect")
    assert POLICY.retryable(error, "tools/call")
    assert POLICY.retryable(error, "initialize")


@pytest.mark.parametrize("status", [429, 503])
def test_statuses_that_say_not_processed_are_retried_for_tool_calls_too(status: int) -> None:
    assert POLICY.retryable(HTTPStatusError(status), "tools/call")


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_failures_retry_tool_calls_only_when_allowed(status: int) -> None:
    assert POLICY.retryable(HTTPStatusError(status), "tools/list")
    assert not POLICY.retryable(HTTPStatusError(status), "tools/call")
    assert RetryPolicy(retry_tool_calls=True).retryable(HTTPStatusError(status), "tools/call")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not POLICY.retryable(HTTPStatusError(status), "tools/list")


def test_a_broken_connection_retries_everything_but_tool_calls() -> None:
    broken = TransportError("the body broke off")
    assert POLICY.retryable(broken, "resources/read")
    assert not POLICY.retryable(broken, "tools/call")


def test_session_expiry_and_protocol_errors_are_not_retried() -> None:
    assert not POLICY.retryable(SessionExpiredError("gone"), "tools/list")
    assert not POLICY.retryable(mcp_sync.ProtocolError("bad JSON"), "tools/list")
    assert not POLICY.retryable(mcp_sync.MCPError(-32603, "boom"), "tools/list")


def test_backoff_doubles_up_to_its_cap_with_at_least_half_of_each_wait() -> None:
    policy = RetryPolicy(max_retries=10, backoff=1.0, backoff_max=4.0)
    error = ConnectError("refused")
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0), (9, 4.0)]:
        for _ in range(50):
            wait = policy.delay(retry, error, "ping")
            assert wait is not None and ceiling / 2 <= wait <= ceiling


def test_retry_after_is_waited_instead_of_the_backoff() -> None:
    assert POLICY.delay(1, HTTPStatusError(503, retry_after=7.0), "ping") == 7.0


def test_a_retry_after_longer_than_the_cap_gives_up_rather_than_retry_early() -> None:
    assert POLICY.delay(1, HTTPStatusError(503, retry_after=3600.0), "ping") is None
    assert POLICY.delay(1, HTTPStatusError(503, retry_after=float("inf")), "ping") is None


def test_a_permanent_transport_error_is_not_retried() -> None:
    refused = TransportError("the server redirected to another origin")
    refused.permanent = True
    assert not POLICY.retryable(refused, "tools/list")
    ignoring = RetryPolicy(respect_retry_after=False, backoff=0.1)
    wait = ignoring.delay(1, HTTPStatusError(503, retry_after=30.0), "ping")
    assert wait is not None and wait <= 0.1


def test_no_delay_once_the_retries_are_used_up() -> None:
    policy = RetryPolicy(max_retries=2)
    error = ConnectError("refused")
    assert policy.delay(2, error, "ping") is not None
    assert policy.delay(3, error, "ping") is None
    assert RetryPolicy(max_retries=0).delay(1, error, "ping") is None


def test_a_policy_is_an_immutable_value() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        POLICY.max_retries = 5  # type: ignore[misc]
    assert RetryPolicy(statuses={503}) == RetryPolicy(statuses=frozenset({503}))
    assert hash(RetryPolicy()) == hash(RetryPolicy())


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"backoff": -1},
        {"max_retry_after": -2},
        {"backoff": float("nan")},
        {"backoff_max": float("inf")},
        {"max_retry_after": float("nan")},
    ],
)
def test_nonsense_settings_are_refused(options: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**options)
