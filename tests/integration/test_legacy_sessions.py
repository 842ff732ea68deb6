"""Sessions and their recovery: the official Python SDK server, pinned to the legacy handshake."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

import mcp_sync
from mcp_sync import (
    Client,
)


def _sampler(params: dict[str, Any]) -> dict[str, Any]:
    prompt = params["messages"][0]["content"]["text"]
    return {
        "role": "assistant",
        "content": {"type": "text", "text": f"echo: {prompt}"},
        "model": "test-model",
    }


def _elicitor(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "Ada"}}


LEGACY = "2025-11-25"


def _mcp_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mcp_sync")]


def _delete_session(client: Client) -> None:
    response = requests.delete(
        client.url,
        headers={
            "Mcp-Session-Id": client.session_id or "",
            "MCP-Protocol-Version": client.protocol_version,
        },
        timeout=5,
    )
    assert response.status_code in (200, 204)


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2025-03-26"])
def test_handshake_negotiates_the_pinned_legacy_version(mcp_server, version):
    with Client(mcp_server.url, protocol_version=version) as client:
        assert client.protocol_version == version
        assert client.server_info.name == "everything-server"
        assert client.session_id
        assert client.server_capabilities.tools is not None


def test_json_response_mode_works(mcp_server_json):
    with Client(mcp_server_json.url, protocol_version=LEGACY, sampling_handler=_sampler) as client:
        assert client.call_tool("add", {"a": 1, "b": 1}).structured_content == {"result": 2}
        assert client.call_tool("sample", {"prompt": "json"}).text == "echo: json"


def test_server_without_sessions_works(mcp_server_stateless):
    with Client(mcp_server_stateless.url, protocol_version=LEGACY) as client:
        assert client.session_id is None
        assert client.call_tool("add", {"a": 3, "b": 4}).structured_content == {"result": 7}


def test_session_deleted_by_another_party_is_replaced_transparently(mcp_server):
    resets: list[Client] = []
    with Client(mcp_server.url, protocol_version=LEGACY, on_session_reset=resets.append) as client:
        old = client.session_id
        _delete_session(client)
        assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"result": 3}
        assert client.session_id not in (None, old)
        assert resets == [client]


def test_a_new_session_renews_subscriptions_and_the_logging_level(mcp_server):
    updates: list[str] = []
    logs: list[Any] = []
    updated = threading.Event()

    def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/resources/updated":
            updates.append(params["uri"])
            updated.set()

    with Client(
        mcp_server.url,
        protocol_version=LEGACY,
        notification_handler=on_notification,
        logging_handler=logs.append,
    ) as client:
        client.subscribe_resource("test://static")
        client.set_logging_level("error")
        _delete_session(client)
        client.ping()  # finds the session gone and starts a new one
        client.call_tool("touch", {"uri": "test://static"})
        assert updated.wait(10), "the subscription was not renewed on the new session"
        client.call_tool("log", {"level": "info", "message": "below the restored level"})
        client.call_tool("log", {"level": "error", "message": "at the restored level"})
        time.sleep(0.3)
    assert updates == ["test://static"]
    assert [m.data for m in logs] == ["at the restored level"]


def test_server_restart_is_survived_on_the_next_call(mcp_server):
    with Client(mcp_server.url, protocol_version=LEGACY) as client:
        old = client.session_id
        mcp_server.restart()
        assert client.call_tool("echo", {"text": "back"}).text == "back"
        assert client.session_id != old


def test_listener_notices_a_lost_session_and_starts_a_new_one(mcp_server):
    renewed = threading.Event()
    with Client(
        mcp_server.url, protocol_version=LEGACY, on_session_reset=lambda c: renewed.set()
    ) as client:
        time.sleep(0.3)  # let the GET stream open
        _delete_session(client)
        assert renewed.wait(15), "the listener did not replace the lost session"
        assert client.call_tool("echo", {"text": "x"}).text == "x"


def test_many_threads_share_one_client_through_a_session_loss(mcp_server):
    errors: list[BaseException] = []
    wrong: list[Any] = []
    # "add" is idempotent, so calls whose streams die with the session may be resent.
    policy = mcp_sync.RecoveryPolicy(resend_interrupted_calls=True)
    with Client(mcp_server.url, protocol_version=LEGACY, recovery=policy) as client:

        def work(i: int) -> None:
            for j in range(50):
                try:
                    result = client.call_tool("add", {"a": i, "b": j})
                    if result.structured_content != {"result": i + j}:
                        wrong.append((i, j, result))
                except BaseException as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        _delete_session(client)
        for thread in threads:
            thread.join(120)
    assert errors == []
    assert wrong == []


# --- timeouts, cancellation, close -------------------------------------------------------------


def test_close_leaves_no_mcp_sync_thread_behind(mcp_server):
    client = Client(mcp_server.url, protocol_version=LEGACY, sampling_handler=_sampler)
    client.connect()
    client.call_tool("sample", {"prompt": "x", "standalone": True})
    assert _mcp_threads()
    client.close()
    client.close()
    assert _mcp_threads() == []
    with pytest.raises(mcp_sync.ClientClosedError):
        client.list_tools()
