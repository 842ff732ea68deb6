"""A forked child (gunicorn --preload, Celery) gets its own session, threads and pool."""

from __future__ import annotations

import json
import os
import threading

import pytest

from mcp_sync import Client

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork exists only on POSIX"),
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]


def _in_child(client: Client, write_fd: int) -> None:
    report = {
        "threads_at_fork": [t.name for t in threading.enumerate() if t.name.startswith("mcp_sync")]
    }
    try:
        report["sum"] = client.call_tool("add", {"a": 20, "b": 22}).structured_content
        report["session"] = client.session_id
        client.close()
        report["threads_after_close"] = [
            t.name for t in threading.enumerate() if t.name.startswith("mcp_sync")
        ]
    except BaseException as exc:  # reported to the parent, which fails the test
        report["error"] = repr(exc)
    os.write(write_fd, json.dumps(report).encode())
    os._exit(0)


def test_forked_child_starts_its_own_session_and_the_parent_keeps_its_own(mcp_server):
    with Client(mcp_server.url, protocol_version="2025-11-25") as client:
        parent_session = client.session_id
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(read_fd)
            _in_child(client, write_fd)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            report = json.loads(pipe.read() or b"{}")
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert "error" not in report, report["error"]
        assert report["threads_at_fork"] == []  # the parent's listener did not come along
        assert report["sum"] == {"result": 42}
        assert report["session"] not in (None, parent_session)
        assert report["threads_after_close"] == []
        # The parent's session is untouched by the child.
        assert client.call_tool("echo", {"text": "parent"}).text == "parent"
        assert client.session_id == parent_session
