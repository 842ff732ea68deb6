"""A tiny stdio MCP server (standard library only) that misbehaves on request.

It reads newline-delimited JSON-RPC from stdin and writes one JSON message per line
to stdout, for tests of a client's stdio transport under faults::

    python misbehaving_stdio.py [--ignore-sigterm] [--garbage] [--huge-line BYTES] [--exit-on METHOD]
                                [--stderr-noise]

It speaks the legacy handshake only:

``initialize``
    echoes ``protocolVersion`` when it is 2025-11-25, 2025-06-18 or 2025-03-26
    (else answers 2025-11-25); capabilities ``{"tools": {}}``, serverInfo
    ``{"name": "misbehaving", "version": "0"}``
``notifications/initialized`` and other notifications
    nothing
``ping``
    ``{}``
``tools/list``
    one tool, ``echo(text: string)``
``tools/call`` of ``echo``
    one text content block with ``arguments.text``; an unknown tool gets an
    ``isError`` result
``server/discover`` and every other method
    JSON-RPC error -32601, so a client that probes for 2026-07-28 falls back to
    the handshake

Lines that are not JSON-RPC requests (responses, unparsable text) are ignored.

Flags
-----
``--ignore-sigterm``
    SIGTERM is ignored (SIG_IGN) and so is the end of stdin: after stdin closes the
    process keeps running until it is killed with SIGKILL.
``--garbage``
    before each response, writes a line that is not JSON
    (``hello, this is not JSON``) and a JSON line that is not JSON-RPC
    (``{"foo": 1}``).
``--huge-line BYTES``
    before each response, writes a JSON-RPC notification line of about BYTES bytes.
``--exit-on METHOD``
    exits with code 7 (writing nothing) when a message with that method arrives.
``--stderr-noise``
    writes lines to stderr: one at start-up and one for each message received.
"""

import argparse
import json
import signal
import sys
import time

SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
EXIT_ON_CODE = 7

ECHO_TOOL = {
    "name": "echo",
    "description": "Echo the text back.",
    "inputSchema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
}

GARBAGE_LINES = ("hello, this is not JSON", '{"foo": 1}')


class Server:
    def __init__(self, args: argparse.Namespace) -> None:
        self.garbage = args.garbage
        self.huge_line = args.huge_line
        self.exit_on = args.exit_on
        self.noise = args.stderr_noise

    def note(self, text: str) -> None:
        if self.noise:
            sys.stderr.write(f"misbehaving: {text}\n")
            sys.stderr.flush()

    def write_line(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def respond(self, message: dict) -> None:
        if self.garbage:
            for line in GARBAGE_LINES:
                self.write_line(line)
        if self.huge_line:
            self.write_line(
                '{"jsonrpc": "2.0", "method": "x", "params": "' + "x" * self.huge_line + '"}'
            )
        self.write_line(json.dumps(message, separators=(",", ":")))

    def result(self, request_id, result: dict) -> None:
        self.respond({"jsonrpc": "2.0", "id": request_id, "result": result})

    def error(self, request_id, code: int, message: str) -> None:
        self.respond(
            {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
        )

    def handle_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        try:
            message = json.loads(line)
        except ValueError:
            self.note("ignored a line that is not JSON")
            return
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            self.note("ignored a message that is not a request or notification")
            return
        method = message["method"]
        self.note(f"received {method}")
        if self.exit_on is not None and method == self.exit_on:
            self.note(f"exiting with code {EXIT_ON_CODE} on {method}")
            sys.stdout.flush()
            sys.exit(EXIT_ON_CODE)
        if "id" not in message:
            return  # a notification: nothing to answer
        request_id = message["id"]
        params = message.get("params")
        if not isinstance(params, dict):
            params = {}

        if method == "initialize":
            requested = params.get("protocolVersion")
            version = requested if requested in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
            self.result(
                request_id,
                {
                    "protocolVersion": version,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "misbehaving", "version": "0"},
                },
            )
        elif method == "ping":
            self.result(request_id, {})
        elif method == "tools/list":
            self.result(request_id, {"tools": [ECHO_TOOL]})
        elif method == "tools/call":
            name = params.get("name")
            arguments = params.get("arguments")
            if not isinstance(arguments, dict):
                arguments = {}
            if name == "echo":
                text = str(arguments.get("text", ""))
                self.result(
                    request_id,
                    {"content": [{"type": "text", "text": text}], "isError": False},
                )
            else:
                self.result(
                    request_id,
                    {
                        "content": [{"type": "text", "text": f"unknown tool {name!r}"}],
                        "isError": True,
                    },
                )
        else:  # server/discover included
            self.error(request_id, -32601, "Method not found")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--garbage", action="store_true")
    parser.add_argument("--exit-on", metavar="METHOD", default=None)
    parser.add_argument("--stderr-noise", action="store_true")
    parser.add_argument("--huge-line", metavar="BYTES", type=int, default=0)
    args = parser.parse_args(argv)

    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    server = Server(args)
    server.note("started")
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        server.handle_line(line)
    server.note("stdin closed")
    if args.ignore_sigterm:
        while True:  # until SIGKILL
            time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
