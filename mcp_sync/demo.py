"""``mcp-sync demo``: a short guided tour of mcp_sync against a server it starts itself.

The server is :class:`mcp_sync.testing.MCPTestServer`, in this process, on 127.0.0.1.
The tour lists the tools, calls a few (one reporting progress, one answering with an
image), reads a resource, gets a prompt, then makes the server forget the session and
shows the client carrying on. Nothing is needed beyond mcp_sync itself.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Optional, TextIO

if TYPE_CHECKING:
    from .testing import MCPTestServer

__all__ = ["DEFAULT_SERVE_PORT", "demo_server", "run_demo", "serve_demo"]

#: The port of ``mcp-sync demo --serve``, so that the docs' ``http://127.0.0.1:8000/mcp`` works.
DEFAULT_SERVE_PORT = 8000


def demo_server(port: int = 0) -> MCPTestServer:
    """The tour's server: a few tools, a resource and a prompt (not started yet).

    ``port=0`` takes any free port; the server listens on 127.0.0.1 only.
    """
    from .testing import MCPTestServer, ToolResult, image, text

    server = MCPTestServer(
        name="mcp_sync-demo", instructions="The mcp_sync demo server.", port=port
    )

    @server.tool(
        output_schema={
            "type": "object",
            "properties": {"result": {"type": "integer"}},
            "required": ["result"],
        }
    )
    def add(a: int, b: int) -> ToolResult:
        """Add two integers."""
        return ToolResult(content=[text(str(a + b))], structured_content={"result": a + b})

    @server.tool()
    def count_slowly(ctx: Any, to: int = 5) -> str:
        """Count to a number, reporting progress on the way."""
        for n in range(1, to + 1):
            time.sleep(0.1)
            ctx.progress(n, to, f"counted to {n}")
        return f"counted to {to}"

    @server.tool()
    def picture() -> list[dict[str, Any]]:
        """An image (a one-pixel PNG), with a caption."""
        return [text("Here is a picture:"), image()]

    @server.resource("demo://readme", name="readme", mime_type="text/markdown")
    def readme() -> str:
        return "# mcp_sync\nA synchronous client for the Model Context Protocol.\n"

    @server.prompt()
    def greet(name: str) -> str:
        """Say hello to someone."""
        return f"Please greet {name} warmly."

    return server


def run_demo(out: Optional[TextIO] = None) -> int:
    """Run the tour, printing what it does to ``out`` (stdout by default). Returns 0."""
    import mcp_sync

    stream = out if out is not None else sys.stdout

    def say(line: str = "") -> None:
        print(line, file=stream, flush=True)

    with demo_server() as server:
        say(f"1. Started a demo MCP server in this process at {server.url}")
        with mcp_sync.Client(server.url, timeout=30) as client:
            info = client.server_info
            say(
                f"2. Connected to {info.name}: the {client.era} era, "
                f"protocol {client.protocol_version}"
            )
            tools = client.list_tools()
            say(f"3. It has {len(tools)} tools:")
            for tool in tools:
                say(f"     {tool.name:<14} {tool.description or ''}")
            result = client.call_tool("add", {"a": 2, "b": 40})
            say(f"4. add(a=2, b=40) returned {result.text}")

            def progress(done: float, total: Optional[float], message: Optional[str]) -> None:
                say(f"     progress {done:g}/{total:g}: {message}")

            say("5. count_slowly(to=5) reports progress while it runs:")
            result = client.call_tool("count_slowly", {"to": 5}, progress=progress)
            say(f"     and returned {result.text!r}")
            result = client.call_tool("picture", {})
            shown = next(b for b in result.content if isinstance(b, mcp_sync.ImageContent))
            size = len(base64.b64decode(shown.data))
            say(
                f"6. picture returned text and an image ({shown.mime_type}, {size} bytes); "
                "in Jupyter it shows inline"
            )
            contents = client.read_resource("demo://readme")
            first_line = (contents.contents[0].text or "").splitlines()[0]
            say(f"7. Read demo://readme: {first_line!r}")
            prompt = client.get_prompt("greet", {"name": "Ada"})
            message = prompt.messages[0].content
            wording = message.text if isinstance(message, mcp_sync.TextContent) else message
            say(f"8. The greet prompt for Ada: {wording!r}")
            if client.era == "modern":
                say("9. In the modern era there are no sessions: every request stands alone")
        with mcp_sync.Client(server.url, timeout=30, protocol_version="2025-11-25") as legacy:
            legacy.call_tool("add", {"a": 0, "b": 0})
            server.expire_sessions()
            say("10. Over a legacy (2025-11-25) session, the server forgets the session...")
            answer = legacy.call_tool("add", {"a": 20, "b": 22}).text
            say(f"     ...and the call still returns {answer}: mcp_sync started a new session")
    say("Done. Next: mcp-sync demo --serve, mcp-sync --help, and the docs in docs/.")
    return 0


def serve_demo(
    port: int = DEFAULT_SERVE_PORT,
    out: Optional[TextIO] = None,
    stop: Optional[threading.Event] = None,
) -> int:
    """Serve the demo server on 127.0.0.1 until Ctrl-C (or ``stop`` is set); returns 0.

    Raises ``OSError`` when the port cannot be bound, for instance when it is in use.
    """
    stream = out if out is not None else sys.stdout
    stop = stop if stop is not None else threading.Event()
    with demo_server(port) as server:
        print(f"Serving the mcp_sync demo server at {server.url}", file=stream)
        print(
            "Tools add, count_slowly and picture; resource demo://readme; prompt greet.",
            file=stream,
        )
        print("Press Ctrl-C to stop.", file=stream, flush=True)
        try:
            # A timed wait, so that Ctrl-C is seen at once on every platform.
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("Stopped.", file=stream, flush=True)
    return 0
