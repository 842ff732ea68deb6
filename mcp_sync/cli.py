"""The ``mcp-sync`` command: talk to an MCP server from the shell.

Run ``mcp-sync --help`` (or ``python -m mcp_sync --help``) for the commands; the
reference is docs/cli.md. :func:`main` is the entry point of the console script.

Exit codes: 0 on success, 1 when a tool reports an error (``isError``), 2 for a
mistake on the command line, 3 when the connection or the protocol fails, and 130
when interrupted.

Only the standard library is imported here at first; mcp_sync's own modules, the
OAuth flow and the optional ``tqdm`` progress bar are imported when a command needs
them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

if TYPE_CHECKING:
    from .client import Client
    from .oauth import OAuth
    from .types import ContentBlock, ResourceContents

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TOOL_ERROR",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

PROG = "mcp-sync"

#: The command did what it was asked.
EXIT_OK = 0
#: The tool ran and reported an error (a result with ``isError: true``).
EXIT_TOOL_ERROR = 1
#: The command line is wrong (argparse's own code for it).
EXIT_USAGE = 2
#: The connection, the protocol or the server failed (any ``mcp_sync.MCPSyncError``).
EXIT_ERROR = 3
#: Interrupted with Ctrl-C.
EXIT_INTERRUPTED = 130

_EPILOG = """\
servers:
  SERVER is an http:// or https:// URL, or the name of a server in the mcpServers
  file given with --config. Instead of SERVER, a command after -- starts a stdio
  server:  mcp-sync tools list -- python server.py

examples:
  mcp-sync info http://127.0.0.1:8000/mcp
  mcp-sync tools call http://127.0.0.1:8000/mcp add a=2 b=40
  mcp-sync tools call --json '{"a": 2, "b": 40}' http://127.0.0.1:8000/mcp add
  mcp-sync --config servers.json resources read files file:///tmp/notes.txt
  mcp-sync login https://mcp.example.com/mcp

exit codes:
  0 success, 1 the tool reported an error (isError), 2 usage error,
  3 connection or protocol error, 130 interrupted
"""


class UsageError(Exception):
    """A mistake on the command line found after parsing (exit code 2)."""


# --- the command line ------------------------------------------------------------------------


def _add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options every command takes, before the command name or after it.

    The copies after the command default to SUPPRESS, so that they leave the values
    given before the command alone unless they are given again.
    """

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("options of every command")
    group.add_argument(
        "--config",
        metavar="FILE",
        default=default(None),
        help="an mcpServers JSON file (Claude Desktop, Cursor, VS Code); SERVER names an entry",
    )
    group.add_argument(
        "-H",
        "--header",
        metavar="NAME:VALUE",
        action="append",
        dest="header" if top else "late_header",
        default=default([]),
        help="an HTTP header to send with every request (repeatable)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_timeout,
        default=default(None),
        help="how long a request may take (default 60; 0 for no limit); progress restarts it",
    )
    group.add_argument(
        "--protocol-version",
        metavar="VERSION",
        default=default(None),
        help="speak this protocol version instead of finding out what the server speaks",
    )
    group.add_argument(
        "--auth",
        metavar="TOKEN",
        default=default(None),
        help="send Authorization: Bearer TOKEN",
    )
    group.add_argument(
        "--oauth",
        action="store_true",
        default=default(False),
        help="sign in with OAuth when the server asks (tokens kept by `mcp-sync login`)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the result as JSON, as the server sent it",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="log what mcp_sync does, and the JSON-RPC messages, to stderr",
    )


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError("must be 0 (no limit) or more")
    return value


def build_parser(*, server: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``server=False`` leaves out SERVER (a stdio command follows ``--``)."""
    from ._version import __version__

    common = argparse.ArgumentParser(add_help=False)
    _add_common_options(common, top=False)

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Talk to a Model Context Protocol server from the command line.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def leaf(
        group: Any, name: str, help: str, handler: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(
            name, help=help, description=help, parents=[common]
        )
        if server:
            sub.add_argument("server", metavar="SERVER", help="URL, or a name in --config")
        sub.set_defaults(handler=handler)
        return sub

    def branch(name: str, help: str) -> Any:
        sub = commands.add_parser(name, help=help, description=help)
        return sub.add_subparsers(dest="action", metavar="ACTION", required=True)

    demo_help = "take a short tour of mcp_sync against a demo server it starts itself"
    demo = commands.add_parser("demo", help=demo_help, description=demo_help)
    demo.add_argument(
        "--serve",
        action="store_true",
        help="instead of the tour, keep the demo server running on 127.0.0.1 until Ctrl-C",
    )
    demo.add_argument(
        "--port",
        type=int,
        default=None,
        help="the port for --serve (default 8000, as in the docs' examples)",
    )
    demo.set_defaults(handler=_demo)
    leaf(commands, "info", "show the server's name, version, protocol and capabilities", _info)
    leaf(commands, "ping", "check that the server answers", _ping)

    tools = branch("tools", "list or call tools")
    leaf(tools, "list", "list the tools", _tools_list)
    call = leaf(tools, "call", "call a tool", _tools_call)
    call.add_argument("name", metavar="NAME", help="the tool")
    call.add_argument(
        "arguments",
        metavar="KEY=VALUE",
        nargs="*",
        help="an argument; VALUE is read as JSON, else taken as a string",
    )
    _add_args_option(call)
    progress = call.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="show progress on stderr even when it is not a terminal",
    )
    progress.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="never show progress",
    )

    resources = branch("resources", "list or read resources")
    leaf(resources, "list", "list the resources", _resources_list)
    leaf(resources, "templates", "list the resource templates", _resources_templates)
    read = leaf(resources, "read", "read a resource", _resources_read)
    read.add_argument("uri", metavar="URI", help="the resource's URI")

    prompts = branch("prompts", "list or get prompts")
    leaf(prompts, "list", "list the prompts", _prompts_list)
    get = leaf(prompts, "get", "get a prompt, filled in with arguments", _prompts_get)
    get.add_argument("name", metavar="NAME", help="the prompt")
    get.add_argument(
        "arguments", metavar="KEY=VALUE", nargs="*", help="an argument (VALUE is a string)"
    )
    _add_args_option(get)

    login = leaf(commands, "login", "sign in to a server with OAuth and keep the tokens", _login)
    login.add_argument(
        "--scope", metavar="SCOPES", help="the scopes to ask for, separated by spaces"
    )
    leaf(commands, "logout", "forget the OAuth tokens kept for a server", _logout)
    return parser


def _add_args_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--args",
        dest="args_json",
        metavar="JSON|@FILE",
        help="the arguments as a JSON object, or @FILE to read it from a file (@- for stdin); "
        "KEY=VALUE arguments are added to it. `--json '{...}'` and `--json @FILE` work too",
    )


def _split_command(argv: list[str]) -> tuple[list[str], Optional[list[str]]]:
    """Split off the stdio server command that follows the first ``--``."""
    if "--" not in argv:
        return argv, None
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def _json_arguments(argv: list[str]) -> list[str]:
    """Read ``--json {...}`` and ``--json @FILE`` as the arguments (``--args``).

    ``--json`` alone asks for JSON output; followed by a JSON object (or array) or by
    ``@FILE`` it gives the arguments of ``tools call`` and ``prompts get``.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--json" and i + 1 < len(argv) and argv[i + 1][:1] in ("{", "[", "@"):
            out += ["--args", argv[i + 1]]
            i += 2
            continue
        if token.startswith("--json=") and token[len("--json=") :][:1] in ("{", "[", "@"):
            token = "--args=" + token[len("--json=") :]
        out.append(token)
        i += 1
    return out


# --- main --------------------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``mcp-sync`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    head, command = _split_command(words)
    parser = build_parser(server=command is None)
    try:
        opts, extra = parser.parse_known_args(_json_arguments(head))
        # argparse fills KEY=VALUE arguments in one go: those after an option come back here.
        if extra and hasattr(opts, "arguments"):
            opts.arguments += [word for word in extra if not word.startswith("-")]
            extra = [word for word in extra if word.startswith("-")]
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else 1)
    opts.stdio_command = command
    opts.header = list(opts.header) + list(getattr(opts, "late_header", []) or [])
    restore_logging = _configure_logging(opts.verbose)
    try:
        code: int = opts.handler(opts)
        return code
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("\nmcp-sync: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`mcp-sync tools list ... | head`): stop quietly.
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        return _failed(exc, opts.verbose)
    finally:
        restore_logging()


def _failed(exc: Exception, verbose: bool) -> int:
    from .config import ConfigError
    from .errors import MCPError, MCPSyncError

    if isinstance(exc, ConfigError):
        code = EXIT_USAGE
    elif isinstance(exc, MCPSyncError):
        code = EXIT_ERROR
    elif isinstance(exc, ValueError):  # mcp_sync's word for a wrong argument
        code = EXIT_USAGE
    else:  # a bug: say what it was
        code = EXIT_ERROR
        exc_text = f"{type(exc).__name__}: {exc}"
        _error(exc_text)
        _details(exc, verbose)
        return code
    _error(str(exc) or type(exc).__name__)
    if verbose and isinstance(exc, MCPError) and exc.data is not None:
        _say("mcp-sync: error data: " + json.dumps(exc.data, ensure_ascii=False, default=str))
    _details(exc, verbose)
    return code


def _details(exc: BaseException, verbose: bool) -> None:
    if verbose:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _error(message: str) -> None:
    """One line on stderr: ``mcp-sync: error: <message>``."""
    one_line = " ".join(_clean(message).split())
    _say(f"{PROG}: error: {one_line}")


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _configure_logging(verbose: bool) -> Callable[[], None]:
    """Send mcp_sync's warnings (with ``-v``: its debug logs and wire traffic) to stderr.

    urllib3's logs are left out: they print request lines with their query strings,
    which may carry secrets.
    """
    import logging

    handler = logging.StreamHandler(sys.stderr)
    names: tuple[str, ...]
    if verbose:
        handler.setFormatter(
            logging.Formatter("%(relativeCreated)7.0fms %(name)s %(levelname)s: %(message)s")
        )
        level, names = logging.DEBUG, ("mcp_sync",)
    else:
        handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
        level, names = logging.WARNING, ("mcp_sync",)
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False

    def restore() -> None:
        for logger, old_level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = propagate

    return restore


# --- connecting --------------------------------------------------------------------------------


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _headers(items: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header {item!r}: expected NAME:VALUE")
        headers[name.strip()] = value.strip()
    return headers


def _oauth(scopes: Optional[str] = None, server_url: Optional[str] = None) -> OAuth:
    from .oauth import FileStorage, OAuth

    return OAuth(storage=FileStorage(), scopes=scopes, server_url=server_url)


def _client(opts: argparse.Namespace) -> Client:
    """The client of the server the command line names (not connected yet)."""
    from .client import Client
    from .config import load_server_config

    options: dict[str, Any] = {"listen": False}
    if opts.timeout is not None:
        options["timeout"] = opts.timeout or None
    if opts.protocol_version:
        options["protocol_version"] = opts.protocol_version
    headers = _headers(opts.header)
    if opts.auth and opts.oauth:
        raise UsageError("give --auth or --oauth, not both")
    command: Optional[list[str]] = opts.stdio_command
    if command is not None:
        stdio = True
    elif _is_url(opts.server):
        stdio = False
    elif opts.config:
        stdio = load_server_config(opts.config, opts.server).transport == "stdio"
    else:
        raise UsageError(
            f"{opts.server!r} is not an http:// or https:// URL; "
            "to name a server in a config file, give --config FILE"
        )
    if stdio and (headers or opts.auth or opts.oauth):
        raise UsageError("--header, --auth and --oauth need a server over HTTP, not stdio")
    if command is not None and not command:
        raise UsageError("give the command that starts the server after --")
    auth: Any = opts.auth or (_oauth() if opts.oauth else None)
    try:
        if command is not None:
            client = Client(command, **options)
        elif _is_url(opts.server):
            client = Client(opts.server, headers=headers, auth=auth, **options)
        else:
            if not stdio:
                options.update(headers=headers, auth=auth)
            client = Client.from_config(opts.config, opts.server, **options)
    except FileNotFoundError as exc:
        raise UsageError(f"cannot start the server: {exc}") from None
    except (ValueError, TypeError) as exc:
        from .errors import MCPSyncError

        if isinstance(exc, MCPSyncError):
            raise
        raise UsageError(str(exc)) from None
    return client


# --- output ------------------------------------------------------------------------------------


_CONTROL = {c: None for c in range(32) if c not in (9, 10)} | {127: None}


def _clean(text: str) -> str:
    """Drop control characters (escape sequences from a server could drive the terminal)."""
    return text.translate(_CONTROL)


def _one_line(text: Optional[str]) -> str:
    return " ".join(_clean(text or "").split())


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _table(headers: list[str], rows: list[list[str]], empty: str) -> None:
    """Aligned columns; on a terminal the last column is cut to the terminal's width."""
    out = sys.stdout
    if not rows:
        print(empty)
        return
    rows = [[_one_line(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers[:-1])]
    limit: Optional[int] = None
    if out.isatty():
        import shutil

        limit = max(shutil.get_terminal_size().columns - 1, 20)
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        line = "  ".join(cells).rstrip()
        if limit is not None and len(line) > limit:
            line = line[: limit - 3] + "..."
        print(line)


def _size(data: str) -> int:
    """The byte length of base64 ``data`` (estimated when it is not valid base64)."""
    import base64
    import binascii

    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return len(data) * 3 // 4


def _render_contents(contents: ResourceContents, out: TextIO) -> None:
    if contents.text is not None:
        print(_clean(contents.text), file=out)
    elif contents.blob is not None:
        mime = contents.mime_type or "application/octet-stream"
        print(f"[{_one_line(mime)}, {_size(contents.blob)} bytes]", file=out)
    else:
        print(f"[{_one_line(contents.uri)}: no contents]", file=out)


def _render_block(block: ContentBlock, out: TextIO) -> None:
    from .types import (
        AudioContent,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
    )

    if isinstance(block, TextContent):
        print(_clean(block.text), file=out)
    elif isinstance(block, (ImageContent, AudioContent)):
        mime = block.mime_type or block.type
        print(f"[{_one_line(mime)}, {_size(block.data)} bytes]", file=out)
    elif isinstance(block, ResourceLink):
        name = f" ({_one_line(block.name)})" if block.name else ""
        print(f"[resource link: {_one_line(block.uri)}{name}]", file=out)
    elif isinstance(block, EmbeddedResource) and block.resource is not None:
        _render_contents(block.resource, out)
    else:
        print(f"[{_one_line(block.type)} content]", file=out)


def _argument_names(schema: Any) -> str:
    """``a, b, [c]``: the properties of a JSON schema, optional ones in brackets."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return ""
    required = schema.get("required")
    required = set(required) if isinstance(required, list) else set()
    names = [str(n) if n in required else f"[{n}]" for n in schema["properties"]]
    return ", ".join(names)


# --- commands ----------------------------------------------------------------------------------


def _demo(opts: argparse.Namespace) -> int:
    from .demo import DEFAULT_SERVE_PORT, run_demo, serve_demo

    if opts.port is not None and not opts.serve:
        raise UsageError("--port goes with --serve")
    if not opts.serve:
        return run_demo()
    port = DEFAULT_SERVE_PORT if opts.port is None else opts.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a TCP port")
    try:
        return serve_demo(port)
    except OSError as exc:
        _error(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}; try another --port")
        return EXIT_ERROR


def _info(opts: argparse.Namespace) -> int:
    with _client(opts) as client:
        info = client.server_info
        caps = client.server_capabilities
        data: dict[str, Any] = {
            "protocolVersion": client.protocol_version,
            "era": client.era,
            "serverInfo": info.to_dict(),
            "capabilities": caps.to_dict(),
        }
        if client.instructions is not None:
            data["instructions"] = client.instructions
    if opts.json:
        _print_json(data)
        return EXIT_OK
    features = []
    for name, value in data["capabilities"].items():
        flags = [k for k, v in value.items() if v is True] if isinstance(value, dict) else []
        features.append(f"{name} ({', '.join(flags)})" if flags else name)
    title = f" - {info.title}" if info.title else ""
    rows = [
        ("Server", f"{info.name} {info.version}{title}"),
        ("Protocol", f"{data['protocolVersion']} ({data['era']})"),
        ("Capabilities", ", ".join(features) or "none"),
    ]
    if "instructions" in data:
        rows.append(("Instructions", data["instructions"]))
    for label, value in rows:
        print(f"{label + ':':<14}{_one_line(value)}")
    return EXIT_OK


def _ping(opts: argparse.Namespace) -> int:
    import time

    with _client(opts) as client:
        started = time.monotonic()
        client.ping()
        elapsed = (time.monotonic() - started) * 1000
    if opts.json:
        _print_json({"ok": True, "elapsedMs": round(elapsed, 1)})
    else:
        print(f"ok ({elapsed:.1f} ms)")
    return EXIT_OK


def _tools_list(opts: argparse.Namespace) -> int:
    with _client(opts) as client:
        tools = client.list_tools()
    if opts.json:
        _print_json({"tools": [tool.to_dict() for tool in tools]})
        return EXIT_OK
    rows = [[t.name, _argument_names(t.input_schema), t.description or ""] for t in tools]
    _table(["NAME", "ARGUMENTS", "DESCRIPTION"], rows, "No tools.")
    return EXIT_OK


def _read_json_argument(value: str) -> Any:
    """The JSON in ``value``, or in the file ``@FILE`` (``@-``: stdin)."""
    where = "--args"
    if value.startswith("@"):
        path = value[1:]
        where = f"--args {value}"
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{path} is not UTF-8 text") from None
    else:
        text = value
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: invalid JSON: {exc}") from None


def _arguments(opts: argparse.Namespace, *, strings: bool) -> Optional[dict[str, Any]]:
    """The arguments of ``tools call`` / ``prompts get``: ``--args`` plus each KEY=VALUE."""
    result: Optional[dict[str, Any]] = None
    if opts.args_json is not None:
        loaded = _read_json_argument(opts.args_json)
        if not isinstance(loaded, dict):
            raise UsageError("--args: the arguments must be a JSON object")
        result = loaded
    for item in opts.arguments:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{item!r}: expected KEY=VALUE")
        value: Any = text
        if not strings:
            try:
                value = json.loads(text)
            except ValueError:
                value = text  # not JSON: the string as written
        result = {} if result is None else result
        result[key] = value
    if strings and result is not None:
        wrong = [k for k, v in result.items() if not isinstance(v, str)]
        if wrong:
            raise UsageError(f"prompt arguments are strings; {wrong[0]!r} is not")
    return result


def _tools_call(opts: argparse.Namespace) -> int:
    arguments = _arguments(opts, strings=False)
    progress = _progress_display(opts.progress)
    with _client(opts) as client:
        try:
            result = client.call_tool(opts.name, arguments, progress=progress)
        finally:
            if progress is not None:
                progress.close()
    if opts.json:
        _print_json(result.to_dict())
        return EXIT_TOOL_ERROR if result.is_error else EXIT_OK
    if result.is_error:
        import io

        buffer = io.StringIO()
        for block in result.content:
            _render_block(block, buffer)
        text = buffer.getvalue().strip()
        if "\n" in text:
            _say(f"{PROG}: tool {opts.name!r} reported an error:\n{text}")
        else:
            _say(f"{PROG}: tool {opts.name!r} reported an error: {text or '(no details)'}")
        return EXIT_TOOL_ERROR
    for block in result.content:
        _render_block(block, sys.stdout)
    if result.structured_content is not None and not _said(result):
        _print_json(result.structured_content)
    return EXIT_OK


def _said(result: Any) -> bool:
    """Whether a text block already shows the structured content.

    Servers mirror structured content in a text block, and SDKs wrap a plain value as
    ``{"result": value}``; either way the text says it already.
    """
    shown = [result.structured_content]
    if isinstance(shown[0], dict) and list(shown[0]) == ["result"]:
        shown.append(shown[0]["result"])
    for text in (getattr(b, "text", None) for b in result.content):
        if not isinstance(text, str):
            continue
        if text in shown:
            return True
        try:
            if json.loads(text) in shown:
                return True
        except ValueError:
            continue
    return False


def _resources_list(opts: argparse.Namespace) -> int:
    with _client(opts) as client:
        resources = client.list_resources()
    if opts.json:
        _print_json({"resources": [r.to_dict() for r in resources]})
        return EXIT_OK
    rows = [[r.uri, r.name, r.mime_type or "", r.description or ""] for r in resources]
    _table(["URI", "NAME", "MIME TYPE", "DESCRIPTION"], rows, "No resources.")
    return EXIT_OK


def _resources_templates(opts: argparse.Namespace) -> int:
    with _client(opts) as client:
        templates = client.list_resource_templates()
    if opts.json:
        _print_json({"resourceTemplates": [t.to_dict() for t in templates]})
        return EXIT_OK
    rows = [[t.uri_template, t.name, t.mime_type or "", t.description or ""] for t in templates]
    _table(["URI TEMPLATE", "NAME", "MIME TYPE", "DESCRIPTION"], rows, "No resource templates.")
    return EXIT_OK


def _resources_read(opts: argparse.Namespace) -> int:
    with _client(opts) as client:
        result = client.read_resource(opts.uri)
    if opts.json:
        _print_json(result.to_dict())
        return EXIT_OK
    for contents in result.contents:
        _render_contents(contents, sys.stdout)
    return EXIT_OK


def _prompts_list(opts: argparse.Namespace) -> int:
    with _client(opts) as client:
        prompts = client.list_prompts()
    if opts.json:
        _print_json({"prompts": [p.to_dict() for p in prompts]})
        return EXIT_OK
    rows = []
    for p in prompts:
        names = [a.name if a.required else f"[{a.name}]" for a in p.arguments or []]
        rows.append([p.name, ", ".join(names), p.description or ""])
    _table(["NAME", "ARGUMENTS", "DESCRIPTION"], rows, "No prompts.")
    return EXIT_OK


def _prompts_get(opts: argparse.Namespace) -> int:
    arguments = _arguments(opts, strings=True)
    with _client(opts) as client:
        result = client.get_prompt(opts.name, arguments)
    if opts.json:
        _print_json(result.to_dict())
        return EXIT_OK
    if result.description:
        print(_clean(result.description))
        print()
    for i, message in enumerate(result.messages):
        if i:
            print()
        print(f"[{_one_line(message.role)}]")
        _render_block(message.content, sys.stdout)
    return EXIT_OK


def _login_url(opts: argparse.Namespace) -> str:
    if opts.stdio_command is not None:
        raise UsageError("OAuth needs a server over HTTP, not a command after --")
    if _is_url(opts.server):
        return str(opts.server)
    if not opts.config:
        raise UsageError(
            f"{opts.server!r} is not an http:// or https:// URL; "
            "to name a server in a config file, give --config FILE"
        )
    from .config import load_server_config

    config = load_server_config(opts.config, opts.server)
    if config.url is None:
        raise UsageError(f"server {opts.server!r} runs over stdio; OAuth needs HTTP")
    return config.url


def _login(opts: argparse.Namespace) -> int:
    from .client import Client

    url = _login_url(opts)
    auth = _oauth(scopes=opts.scope)
    try:
        token = auth.authorize(url)
        with Client(url, auth=auth, headers=_headers(opts.header), listen=False) as client:
            server = client.server_info
        issuer = auth.issuer
    finally:
        auth.close()
    data: dict[str, Any] = {
        "server": url,
        "serverInfo": server.to_dict(),
        "issuer": issuer,
        "scope": token.scope,
        "tokenType": token.token_type,
        "expiresAt": token.expires_at,
        "refreshable": bool(token.refresh_token),
    }
    if opts.json:
        _print_json(data)
        return EXIT_OK
    import time

    print(f"Signed in to {_one_line(server.name)} at {url}")
    print(f"  authorization server: {_one_line(issuer or 'unknown')}")
    print(f"  scopes: {_one_line(token.scope or '(none granted explicitly)')}")
    if token.expires_at is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(token.expires_at))
        renew = ", refreshed when it runs out" if token.refresh_token else ""
        print(f"  token expires: {when}{renew}")
    return EXIT_OK


def _logout(opts: argparse.Namespace) -> int:
    url = _login_url(opts)
    auth = _oauth(server_url=url)
    try:
        stored = auth.logout()
    finally:
        auth.close()
    if opts.json:
        _print_json({"server": url, "removed": stored})
    elif stored:
        print(f"Signed out of {url}: its tokens are removed")
    else:
        print(f"No tokens were kept for {url}")
    return EXIT_OK


# --- progress ----------------------------------------------------------------------------------


class _Progress:
    """Shows ``notifications/progress`` on stderr: tqdm when installed, else one line."""

    def __init__(self, stream: TextIO) -> None:
        import threading

        self._stream = stream
        self._tty = stream.isatty()
        self._lock = threading.Lock()  # callbacks come from the client's reader threads
        self._bar: Any = None
        self._width = 0
        try:
            import importlib

            self._tqdm: Any = importlib.import_module("tqdm").tqdm
        except ImportError:
            self._tqdm = None

    def __call__(self, progress: float, total: Optional[float], message: Optional[str]) -> None:
        with self._lock:
            if self._tqdm is not None:
                self._update_tqdm(progress, total, message)
                return
            line = _progress_line(progress, total, message)
            if self._tty:
                import shutil

                line = line[: max(shutil.get_terminal_size().columns - 1, 10)]
                self._stream.write("\r" + line.ljust(self._width))
                self._width = len(line)
            else:
                self._stream.write(line + "\n")
            self._stream.flush()

    def _update_tqdm(self, progress: float, total: Optional[float], message: Optional[str]) -> None:
        if self._bar is None:
            self._bar = self._tqdm(total=total, file=self._stream, leave=False)
        if total is not None and self._bar.total != total:
            self._bar.total = total
        if message:
            self._bar.set_postfix_str(_one_line(message), refresh=False)
        self._bar.update(progress - self._bar.n)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            elif self._tty and self._width:
                self._stream.write("\r" + " " * self._width + "\r")
                self._stream.flush()
                self._width = 0


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _progress_line(progress: float, total: Optional[float], message: Optional[str]) -> str:
    text = _number(progress)
    if total:
        done = max(0.0, min(1.0, progress / total))
        filled = int(done * 20)
        text = f"[{'#' * filled}{'.' * (20 - filled)}] {text}/{_number(total)}"
    else:
        text = f"progress {text}"
    return f"{text} {_one_line(message)}".rstrip()


def _progress_display(wanted: Optional[bool]) -> Optional[_Progress]:
    """A progress display when asked for, or by default when stderr is a terminal."""
    stream = sys.stderr
    if wanted is False or (wanted is None and not stream.isatty()):
        return None
    return _Progress(stream)


if __name__ == "__main__":  # pragma: no cover - `python -m mcp_sync` runs __main__.py
    sys.exit(main())
