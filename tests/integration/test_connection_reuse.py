"""Calls in a row share one pooled connection, whether the answer was JSON or a stream."""

from __future__ import annotations

import urllib3


def test_calls_in_a_row_reuse_one_connection(mcp_server, connect, monkeypatch):
    client = connect(mcp_server.url)
    assert client.call_tool("add", {"a": 1, "b": 2}).structured_content == {"result": 3}
    opened = []
    real_connect = urllib3.connection.HTTPConnection.connect

    def counting_connect(self):
        opened.append(self)
        return real_connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counting_connect)

    for n in range(20):
        assert client.call_tool("add", {"a": n, "b": 1}).structured_content == {"result": n + 1}

    assert opened == []
