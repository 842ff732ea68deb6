"""A short tour of mcp_sync against a local MCP server.

With no argument it starts the official MCP Python SDK's example server from the
test suite on 127.0.0.1 (building that server's virtualenv on first use), then
lists and calls its tools, reads a resource, gets a prompt, and survives the server
forgetting the session. Give a URL to talk to another server instead:

    python examples/quickstart.py [http://127.0.0.1:8000/mcp]
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

import mcp_sync

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def local_server() -> Iterator[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.server_process import ServerProcess

    print(
        "Starting the official MCP Python SDK server on 127.0.0.1 (the first run builds its virtualenv)..."
    )
    with ServerProcess() as server:
        yield server.url


def answer_sampling(params: dict[str, Any]) -> mcp_sync.CreateMessageResult:
    question = params["messages"][0]["content"]["text"]
    return mcp_sync.CreateMessageResult(
        content=mcp_sync.TextContent(text=f"(a model would answer {question!r} here)"), model="none"
    )


def tour(url: str) -> None:
    logging.basicConfig(level=logging.WARNING, format="  [log] %(message)s", stream=sys.stdout)
    with mcp_sync.Client(url, sampling_handler=answer_sampling, timeout=30) as client:
        print(
            f"Connected to {client.server_info.name} {client.server_info.version} "
            f"in the {client.era} era, protocol {client.protocol_version}"
        )

        tools = client.list_tools()
        print(f"{len(tools)} tools:", ", ".join(tool.name for tool in tools))
        names = {tool.name for tool in tools}
        if {"add", "slow", "sample"} <= names:
            print("add(2, 40) =", client.call_tool("add", {"a": 2, "b": 40}).structured_content)

            def show(progress: float, total: Any, message: Any) -> None:
                print(f"  progress {progress}/{total}: {message}")

            print("slow:", client.call_tool("slow", {"steps": 3, "delay": 0.2}, progress=show).text)
            print("sample:", client.call_tool("sample", {"prompt": "What is MCP?"}).text)

        if client.server_capabilities.resources is not None:
            resources = client.list_resources()
            if resources:
                first = resources[0]
                print(f"read {first.uri}:", client.read_resource(first.uri).contents[0].raw[:40])

        if client.server_capabilities.prompts is not None:
            prompts = client.list_prompts()
            if prompts and prompts[0].name == "greet":
                message = client.get_prompt("greet", {"name": "Ada"}).messages[0]
                print("prompt greet:", getattr(message.content, "text", message.content))

    # Older servers speak the handshake revisions; the same API works there, and when
    # such a server forgets the session, the client starts a new one by itself.
    with mcp_sync.Client(url, protocol_version=mcp_sync.LATEST_LEGACY_VERSION) as legacy:
        print(f"Connected again in the {legacy.era} era, protocol {legacy.protocol_version}")
        if legacy.session_id is not None:
            print("Ending the session behind the client's back (as a server restart would)...")
            requests.delete(
                url,
                headers={
                    "Mcp-Session-Id": legacy.session_id,
                    "MCP-Protocol-Version": legacy.protocol_version,
                },
                timeout=5,
            )
            legacy.ping()
            print("...and the next call just worked, on a new session.")
    print("Done.")


def main() -> int:
    if len(sys.argv) > 1:
        tour(sys.argv[1])
    else:
        with local_server() as url:
            tour(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
