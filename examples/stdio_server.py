"""A small MCP server over stdio, written with the official MCP Python SDK (``pip install mcp``).

The docs start it as ``python server.py``: ``mcp_sync.Client(["python", "server.py"])``.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("notes")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    server.run()  # stdio
