"""Faults between the client and a real server, injected by a proxy, in both eras.

Each test names the guarantee it checks: no response lost, duplicated or mixed up; no
wait past a deadline; transient failures retried, others raised as typed errors; the
client usable afterwards; and (the autouse ``_no_leaks``) nothing left behind.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

import mcp_sync


def _echo(client: mcp_sync.Client, text: str = "hi") -> str:
    return client.call_tool("echo", {"text": text}).text


# --- lost streams ----------------------------------------------------------------------------


def test_a_cut_stream_loses_no_response_and_duplicates_none_legacy_resumes(official):
    from support.fault_proxy import FaultProxy

    with (
        FaultProxy(official.url) as proxy,
        mcp_sync.Client(proxy.url, protocol_version="2025-11-25", timeout=15) as client,
    ):
        proxy.drop(method="tools/call", after_events=2)
        seen: list[float] = []
        result = client.call_tool(
            "slow", {"steps": 4, "delay": 0.05}, progress=lambda done, *_: seen.append(done)
        )
        assert result.text == "done after 4 steps"
        assert seen == [1, 2, 3, 4]  # each progress once, none lost
        resumed = [
            r
            for r in proxy.requests
            if r.http_method == "GET" and {k.lower() for k in r.headers} & {"last-event-id"}
        ]
        assert len(resumed) == 1
        assert [r.method for r in proxy.requests].count("tools/call") == 1  # not sent twice


def test_a_cut_stream_mid_event_is_resumed_without_a_torn_message(official):
    from support.fault_proxy import FaultProxy

    with (
        FaultProxy(official.url) as proxy,
        mcp_sync.Client(proxy.url, protocol_version="2025-11-25", timeout=15) as client,
    ):
        proxy.drop(method="tools/call", after_events=1, mid_event=True)
        assert client.call_tool("slow", {"steps": 3, "delay": 0.05}).text == "done after 3 steps"


@pytest.mark.parametrize("era", ["modern"])  # the legacy era resumes instead (above)
def test_a_modern_request_lost_with_its_stream_is_issued_anew_once(proxy, client_for, era):
    client = client_for(proxy.url)
    proxy.drop(method="tools/list")
    assert len(client.list_tools(cache=False)) == 3
    lists = [r for r in proxy.requests if r.method == "tools/list"]
    assert len(lists) == 2


def test_a_list_cut_off_without_resumption_is_retried(proxy, client_for, testing_server):
    client = client_for(proxy.url)
    proxy.drop(method="tools/list", mid_event=True)
    assert len(client.list_tools(cache=False)) == 3


# --- deadlines -------------------------------------------------------------------------------


def test_a_stream_that_never_answers_ends_at_the_calls_timeout(proxy, client_for):
    client = client_for(proxy.url)
    proxy.hang(keepalive=0.1, method="tools/call")
    started = time.monotonic()
    with pytest.raises(mcp_sync.RequestTimeout):
        client.call_tool("echo", {"text": "x"}, timeout=0.8)
    assert time.monotonic() - started < 1.5
    assert _echo(client) == "hi"


def test_a_slow_server_is_waited_for_within_the_timeout(proxy, client_for):
    client = client_for(proxy.url)
    proxy.delay(0.3, method="tools/call")
    proxy.trickle(16, 0.01, method="tools/call")
    assert _echo(client, "slowly") == "slowly"


def test_a_trickle_slower_than_the_deadline_ends_at_the_deadline(proxy, client_for):
    client = client_for(proxy.url)
    proxy.trickle(1, 0.2, method="tools/call")  # a byte each 0.2 s never goes quiet
    started = time.monotonic()
    with pytest.raises(mcp_sync.RequestTimeout):
        client.call_tool("echo", {"text": "x" * 200}, timeout=1.0)
    assert time.monotonic() - started < 1.6


# --- HTTP errors and retries -----------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503])
def test_a_transient_status_on_a_list_is_retried(proxy, client_for, status):
    client = client_for(proxy.url)
    proxy.status(status, method="tools/list", retry_after=0 if status == 503 else None)
    assert len(client.list_tools(cache=False)) == 3
    assert [r.method for r in proxy.requests].count("tools/list") == 2


def test_a_503_on_a_tool_call_is_retried_it_was_not_processed(proxy, client_for):
    client = client_for(proxy.url)
    proxy.status(503, method="tools/call")
    assert _echo(client) == "hi"


def test_a_502_on_a_tool_call_is_raised_it_may_have_run(proxy, client_for, testing_server):
    client = client_for(proxy.url)
    proxy.status(502, method="tools/call")
    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        _echo(client)
    assert info.value.status == 502
    assert [r.method for r in proxy.requests].count("tools/call") == 1
    assert _echo(client) == "hi"


def test_a_500_is_raised_at_once(proxy, client_for):
    client = client_for(proxy.url)
    proxy.status(500, method="tools/list", body="oops")
    with pytest.raises(mcp_sync.HTTPStatusError) as info:
        client.list_tools(cache=False)
    assert info.value.status == 500 and "oops" in info.value.body_excerpt


def test_retries_give_up_after_max_retries(proxy, client_for):
    client = client_for(proxy.url)
    proxy.status(503, method="tools/list", count=None)
    with pytest.raises(mcp_sync.HTTPStatusError):
        client.list_tools(cache=False)
    assert [r.method for r in proxy.requests].count("tools/list") == 4  # 1 + 3 retries
    proxy.reset()
    assert len(client.list_tools(cache=False)) == 3


def test_a_reset_connection_is_retried_for_a_list(proxy, client_for):
    client = client_for(proxy.url)
    proxy.refuse(method="tools/list")
    assert len(client.list_tools(cache=False)) == 3


def test_a_server_that_goes_away_and_comes_back(proxy, client_for):
    client = client_for(proxy.url)
    proxy.stop()
    with pytest.raises(mcp_sync.ConnectError):
        client.list_tools(cache=False)
    threading.Timer(0.05, proxy.start).start()
    policy = mcp_sync.RetryPolicy(backoff=0.1, backoff_max=0.2, max_retries=10)
    again = client_for(proxy.url, retry=policy)
    assert _echo(again) == "hi"
    assert _echo(client) == "hi"


# --- hostile or broken answers ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["invalid_utf8", "invalid_json", "not_jsonrpc"])
def test_a_malformed_answer_is_a_protocol_error_and_the_client_goes_on(proxy, client_for, kind):
    client = client_for(proxy.url)
    proxy.inject(kind, method="tools/call")
    with pytest.raises((mcp_sync.ProtocolError, mcp_sync.RequestTimeout)) as info:
        client.call_tool("echo", {"text": "x"}, timeout=2)
    if isinstance(info.value, mcp_sync.RequestTimeout):
        # A message that is not JSON-RPC is logged and skipped; the call then has no answer.
        assert kind == "not_jsonrpc"
    assert _echo(client) == "hi"


def test_a_truncated_answer_is_a_typed_error_and_the_client_goes_on(proxy, client_for, era):
    client = client_for(proxy.url, retry=mcp_sync.RetryPolicy(max_retries=0))
    proxy.truncate(20, method="tools/call")
    if era == "modern":
        # The request was lost with its stream: the spec has it issued anew.
        assert _echo(client, "x" * 100) == "x" * 100
    else:
        with pytest.raises((mcp_sync.TransportError, mcp_sync.ProtocolError)):
            client.call_tool("echo", {"text": "x" * 100}, timeout=5)
    assert _echo(client) == "hi"


def _slow(client: mcp_sync.Client) -> str:
    """A call whose answer is an SSE stream (the tool reports progress first)."""
    return client.call_tool("slow", {"steps": 2, "delay": 0.01}, progress=lambda *_: None).text


def test_a_response_with_an_unknown_id_is_dropped_and_logged(proxy, client_for, caplog):
    client = client_for(proxy.url)
    proxy.inject("unknown_id", method="tools/call", keep_original=True)
    with caplog.at_level(logging.DEBUG, logger="mcp_sync"):
        assert _slow(client) == "done after 2 steps"
    assert "unknown" in caplog.text.lower() or "no request" in caplog.text.lower()


def test_a_duplicated_response_on_a_stream_is_delivered_once(proxy, client_for):
    client = client_for(proxy.url)
    proxy.inject("duplicate", method="tools/call")
    assert _slow(client) == "done after 2 steps"
    assert _echo(client, "next") == "next"  # the copy did not answer the next call


@pytest.mark.parametrize("kind", ["unknown_id", "duplicate"])
def test_a_json_answer_with_a_stray_or_doubled_response_is_a_protocol_error(
    proxy, client_for, kind
):
    client = client_for(proxy.url)
    proxy.inject(kind, method="tools/call")
    with pytest.raises(mcp_sync.ProtocolError):
        _echo(client)
    assert _echo(client) == "hi"


def test_an_event_over_max_message_size_is_refused(proxy, client_for):
    client = client_for(proxy.url, max_message_size=64 * 1024)
    proxy.huge_event(256 * 1024, method="tools/call", response=True)
    with pytest.raises(mcp_sync.MessageTooLarge):
        _echo(client)
    assert _echo(client) == "hi"


def test_a_flood_of_notifications_before_the_response_is_read_through(proxy, client_for):
    client = client_for(proxy.url)
    proxy.flood(3000, method="tools/call")
    assert _echo(client, "after the flood") == "after the flood"


@pytest.mark.parametrize("era", ["legacy"])  # only legacy sessions have a GET listener
def test_a_legacy_listener_that_fails_does_not_end_a_working_session(
    proxy, client_for, era, testing_server
):
    client = client_for(proxy.url)
    session = client.session_id
    proxy.status(500, http_method="GET", count=None)
    proxy.drop(http_method="GET", count=None)
    time.sleep(0.5)
    assert _echo(client) == "hi"
    assert client.session_id == session
    assert testing_server.count("initialize") == 1


@pytest.mark.parametrize("era", ["legacy"])  # only legacy sessions have a GET listener
def test_the_listener_recovers_after_its_stream_fails(proxy, client_for, era, testing_server):
    heard = threading.Event()
    proxy.status(500, http_method="GET", count=2)
    client = client_for(
        proxy.url,
        notification_handler=lambda method, params: (
            heard.set() if method == "notifications/tools/list_changed" else None
        ),
    )
    deadline = time.monotonic() + 10
    while not heard.is_set() and time.monotonic() < deadline:
        testing_server.tool(name=f"new_{time.monotonic_ns()}")(lambda: "new")
        heard.wait(0.5)
    assert heard.is_set(), "the listener never came back"
    assert [r.status for r in proxy.requests if r.http_method == "GET"][:2] == [500, 500]
    assert _echo(client) == "hi"


# --- a tool call that may have run is not sent again ------------------------------------------


def test_a_legacy_tool_call_whose_resume_fails_is_not_sent_again(official):
    from support.fault_proxy import FaultProxy

    with (
        FaultProxy(official.url) as proxy,
        mcp_sync.Client(
            proxy.url,
            protocol_version="2025-11-25",
            timeout=15,
            retry=mcp_sync.RetryPolicy(backoff=0.01),
        ) as client,
    ):
        proxy.drop(method="tools/call", after_events=1)
        proxy.status(503, http_method="GET", count=None)  # the resume cannot get through
        with pytest.raises(mcp_sync.TransportError) as info:
            client.call_tool("slow", {"steps": 3, "delay": 0.05})
        assert type(info.value) is mcp_sync.TransportError  # no internal class escapes
        assert [r.method for r in proxy.requests].count("tools/call") == 1


@pytest.mark.parametrize("era", ["modern"])
def test_a_modern_tool_call_is_issued_anew_once_and_not_retried_after(
    proxy, client_for, era, testing_server
):
    client = client_for(proxy.url)
    proxy.drop(method="tools/call")  # the first try may have run the tool
    proxy.status(503, method="tools/call")  # the spec's one re-issue meets a 503
    with pytest.raises(mcp_sync.HTTPStatusError):
        _echo(client)
    assert [r.method for r in proxy.requests].count("tools/call") == 2
