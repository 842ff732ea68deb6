"""The views against an MCP server running inside the test process."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
import warnings
from typing import Callable
from unittest import mock, skipUnless

from django.test import Client, SimpleTestCase, override_settings

import mcp_sync
from mcp_sync.testing import MCPTestServer, ToolError

from . import mcp_client


def register_add(server: MCPTestServer) -> None:
    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b


class MCPViewTests(SimpleTestCase):
    server: MCPTestServer

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # A server of the handshake era: it hands out sessions, which these tests expire.
        cls.server = MCPTestServer(eras=("legacy",))
        register_add(cls.server)
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        settings = override_settings(MCP_SERVER_URL=cls.server.url)
        settings.enable()
        cls.addClassCleanup(settings.disable)  # which closes the client, too

    def setUp(self) -> None:
        # Each test starts before the process's first call, as a fresh worker would.
        mcp_client.reset_client()
        self.addCleanup(self.server.reset_faults)

    def test_add(self) -> None:
        response = self.client.get("/add/", {"a": 2, "b": 40})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"sum": "42"})

    def test_add_needs_integers(self) -> None:
        calls = self.server.count("tools/call")
        response = self.client.get("/add/", {"a": 2, "b": "forty"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.server.count("tools/call"), calls)

    def test_list_tools(self) -> None:
        response = self.client.get("/tools/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(), {"tools": [{"name": "add", "description": "Add two integers."}]}
        )

    def test_tool_error_is_502(self) -> None:
        @self.server.tool(name="add")
        def out_of_order(a: int, b: int) -> int:
            raise ToolError("the adding machine is out of order")

        self.addCleanup(register_add, self.server)
        response = self.client.get("/add/", {"a": 2, "b": 40})
        self.assertEqual(response.status_code, 502)
        self.assertEqual(response.json(), {"error": "the adding machine is out of order"})

    def test_unavailable_server_is_502(self) -> None:
        # A single 503 would be retried; a server that stays unavailable is reported.
        self.server.fail_next(503, method="tools/call", count=4)
        with self.assertLogs("mcptools.views", "WARNING") as logs:
            response = self.client.get("/add/", {"a": 2, "b": 40})
        self.assertEqual(response.status_code, 502)
        self.assertEqual(response.json(), {"error": "the MCP server is not available"})
        self.assertIn("HTTP 503", logs.output[0])

    def test_session_expiry_is_invisible(self) -> None:
        self.assertEqual(self.client.get("/add/", {"a": 1, "b": 2}).json(), {"sum": "3"})
        initialized = self.server.count("initialize")
        self.server.expire_sessions()
        response = self.client.get("/add/", {"a": 20, "b": 22})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"sum": "42"})
        self.assertEqual(self.server.count("initialize") - initialized, 1)

    def test_threads_share_one_client(self) -> None:
        initialized = self.server.count("initialize")
        barrier = threading.Barrier(8, timeout=30)
        answers: list[object] = []
        clients: list[mcp_sync.Client] = []

        def fetch(n: int) -> None:
            barrier.wait()  # all at once, so they race for the client's creation
            answers.append(Client().get("/add/", {"a": n, "b": 1}).json())
            clients.append(mcp_client.get_client())

        with mock.patch("mcp_sync.Client", wraps=mcp_sync.Client) as created:
            threads = [threading.Thread(target=fetch, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        self.assertCountEqual(answers, [{"sum": str(n + 1)} for n in range(8)])
        self.assertEqual(created.call_count, 1)
        self.assertEqual(len({id(client) for client in clients}), 1)
        self.assertEqual(self.server.count("initialize") - initialized, 1)

    def test_reset_client(self) -> None:
        first = mcp_client.get_client()
        self.assertIs(mcp_client.get_client(), first)
        mcp_client.reset_client()
        self.assertEqual(first.state, "closed")
        self.assertIsNot(mcp_client.get_client(), first)
        self.assertEqual(self.client.get("/add/", {"a": 1, "b": 1}).json(), {"sum": "2"})

    def test_new_server_url_gets_a_new_client(self) -> None:
        first = mcp_client.get_client()
        with override_settings(MCP_SERVER_URL="http://127.0.0.1:9/mcp"):
            self.assertEqual(first.state, "closed")
            self.assertEqual(mcp_client.get_client().url, "http://127.0.0.1:9/mcp")
        self.assertEqual(mcp_client.get_client().url, self.server.url)

    @skipUnless(hasattr(os, "fork"), "needs os.fork")
    def test_forked_child_has_its_own_session(self) -> None:
        self.assertEqual(self.client.get("/add/", {"a": 1, "b": 1}).status_code, 200)
        parent = mcp_client.get_client()
        parent_session = parent.session_id
        initialized = self.server.count("initialize")

        def child() -> bool:
            answer = Client().get("/add/", {"a": 2, "b": 2}).json()
            inherited = mcp_client.get_client() is parent
            own_session = parent.session_id not in (None, parent_session)
            mcp_client.reset_client()  # ends the child's session, not the parent's
            return bool(answer == {"sum": "4"}) and inherited and own_session

        self.assertEqual(self.run_in_child(child), 0)
        self.assertEqual(self.server.count("initialize") - initialized, 1)
        self.assertEqual(self.client.get("/add/", {"a": 3, "b": 3}).json(), {"sum": "6"})
        self.assertEqual(parent.session_id, parent_session)
        self.assertEqual(self.server.count("initialize") - initialized, 1)

    @skipUnless(hasattr(os, "fork"), "needs os.fork")
    def test_lock_held_at_fork_is_free_in_child(self) -> None:
        def child() -> bool:
            return bool(Client().get("/add/", {"a": 2, "b": 2}).json() == {"sum": "4"})

        with mcp_client._lock:  # as if another thread were creating the client right now
            status = self.run_in_child(child)
        self.assertEqual(status, 0)

    def run_in_child(self, work: Callable[[], bool]) -> int:
        """Run ``work`` in a forked child; its exit code: 0 when ``work`` returned True."""
        with warnings.catch_warnings():
            # Python 3.12 and later warn that a child forked from a process with threads
            # may deadlock; that it does not is what these tests check.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = 0 if work() else 1
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise self.failureException("the forked child hung")
