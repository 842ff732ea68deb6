"""examples/flask_app.py against an MCP server running inside the test process."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mcp_sync.testing import MCPTestServer, ToolError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask_app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flask_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


flask_app = load_example()


def register_add(server: MCPTestServer) -> None:
    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b


@pytest.fixture
def server() -> Iterator[MCPTestServer]:
    server = MCPTestServer(eras=("legacy",))
    register_add(server)
    with server:
        yield server


@pytest.fixture
def web(server: MCPTestServer) -> Iterator[Any]:
    app = flask_app.create_app({"MCP_SERVER_URL": server.url, "TESTING": True})
    yield app.test_client()
    flask_app.reset_client()


def test_add(web: Any) -> None:
    response = web.get("/add", query_string={"a": 2, "b": 40})
    assert response.status_code == 200
    assert response.get_json() == {"sum": "42"}


def test_add_needs_integers(web: Any, server: MCPTestServer) -> None:
    assert web.get("/add", query_string={"a": 2, "b": "forty"}).status_code == 400
    assert server.count("tools/call") == 0


def test_list_tools(web: Any) -> None:
    response = web.get("/tools")
    assert response.get_json() == {"tools": [{"name": "add", "description": "Add two integers."}]}


def test_tool_error_is_502(web: Any, server: MCPTestServer) -> None:
    @server.tool(name="add")
    def out_of_order(a: int, b: int) -> int:
        raise ToolError("the adding machine is out of order")

    response = web.get("/add", query_string={"a": 2, "b": 40})
    assert response.status_code == 502
    assert response.get_json() == {"error": "the adding machine is out of order"}


def test_unavailable_server_is_502(web: Any, server: MCPTestServer) -> None:
    server.fail_next(503, method="tools/call", count=4)  # a single 503 would be retried
    response = web.get("/add", query_string={"a": 2, "b": 40})
    assert response.status_code == 502
    assert response.get_json() == {"error": "the MCP server is not available"}


def test_session_expiry_is_invisible(web: Any, server: MCPTestServer) -> None:
    assert web.get("/add", query_string={"a": 1, "b": 2}).get_json() == {"sum": "3"}
    server.expire_sessions()
    assert web.get("/add", query_string={"a": 20, "b": 22}).get_json() == {"sum": "42"}
    assert server.count("initialize") == 2


def test_threads_share_one_client(web: Any, server: MCPTestServer) -> None:
    barrier = threading.Barrier(8, timeout=30)
    answers: list[Any] = []

    def fetch(n: int) -> None:
        own = web.application.test_client()  # test clients keep state: one per thread
        barrier.wait()
        answers.append(own.get("/add", query_string={"a": n, "b": 1}).get_json())

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers, key=lambda a: int(a["sum"])) == [{"sum": str(n + 1)} for n in range(8)]
    assert server.count("initialize") == 1


def test_reset_client(web: Any) -> None:
    assert web.get("/add", query_string={"a": 1, "b": 1}).status_code == 200
    first = flask_app._client
    assert first is not None
    flask_app.reset_client()
    assert first.state == "closed"
    assert web.get("/add", query_string={"a": 1, "b": 1}).get_json() == {"sum": "2"}
    assert flask_app._client is not first
