"""Serve an MCPTestServer until interrupted: ``python -m mcp_sync.testing [--conformance]``."""

from __future__ import annotations

import argparse
import threading
from typing import Optional

from . import MCPTestServer, conformance_fixtures


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mcp_sync.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--conformance",
        action="store_true",
        help="register what the official conformance suite's server scenarios call",
    )
    parser.add_argument("--eras", default="legacy,modern", help="legacy, modern or both")
    args = parser.parse_args(argv)
    server = MCPTestServer(host=args.host, port=args.port, eras=args.eras.split(","))
    if args.conformance:
        conformance_fixtures(server)
    with server:
        print(f"serving MCP on {server.url}; Ctrl-C stops", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
