"""Coverage-guided fuzzing of mcp_sync's parsers with atheris (libFuzzer for Python).

    python fuzz/fuzz_parsers.py TARGET [libFuzzer options] [corpus directories]

TARGET is one of ``sse``, ``jsonrpc``, ``config`` and ``www_authenticate``. Each parser
may raise only what it documents; any other exception, a hang (``-timeout``, 10 s here)
or running out of memory is a crash: libFuzzer stops, prints the traceback and writes
the input to ``.cache/fuzz/crashes/``. Inputs that reach new code are kept in
``.cache/fuzz/corpus/TARGET`` and used again next time, together with the seeds in
``fuzz/seeds/TARGET``. See fuzz/README.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import atheris

with atheris.instrument_imports(include=["mcp_sync", "sseclient"]):
    from mcp_sync import ProtocolError
    from mcp_sync.config import ConfigError, list_servers, load_server_config
    from mcp_sync.jsonrpc import ErrorResponse, Notification, Request, Response, parse_payload
    from mcp_sync.oauth.discovery import find_challenge, parse_www_authenticate
    from mcp_sync.sse import iter_sse

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("MCP_SYNC_FUZZ_DIR") or HERE.parent / ".cache" / "fuzz")

# --- harnesses ------------------------------------------------------------------------------


def fuzz_sse(data: bytes) -> None:
    """``iter_sse`` over the stream split into chunks; may raise ProtocolError only.

    Input: 4 bytes of chunk sizes (each taken modulo 17, so 0 gives an empty chunk; all
    zero means 1), used in turn, then the stream.
    """
    sizes = [b % 17 for b in data[:4]]
    if not any(sizes):
        sizes = [1]
    stream = data[4:]
    chunks = []
    i = turn = 0
    while i < len(stream):
        size = sizes[turn % len(sizes)]
        chunks.append(stream[i : i + size])
        i += size
        turn += 1
    try:
        for event in iter_sse(chunks):
            assert isinstance(event.event, str) and event.event
            assert event.data is None or isinstance(event.data, str)
            assert event.id is None or isinstance(event.id, str)
            assert event.retry is None or isinstance(event.retry, int)
    except ProtocolError:
        pass


MESSAGE_TYPES = (Request, Notification, Response, ErrorResponse)


def fuzz_jsonrpc(data: bytes) -> None:
    """``parse_payload`` on a body; may raise ProtocolError only.

    Input: a flags byte (bit 0: allow_batch, bit 1: pass the body as str, decoded as
    UTF-8 with surrogate escapes), then the body.
    """
    if not data:
        return
    flags, body = data[0], data[1:]
    payload = body.decode("utf-8", "surrogateescape") if flags & 2 else body
    try:
        messages = parse_payload(payload, allow_batch=bool(flags & 1))
    except ProtocolError:
        return
    assert messages and all(isinstance(m, MESSAGE_TYPES) for m in messages)


ENVIRON = {"BASE": "https://example.com", "TOKEN": "t0k3n", "EMPTY": "", "A B": "${TOKEN}"}
CONFIG_FILE = WORK / "config.json"  # rewritten with each input


def fuzz_config(data: bytes) -> None:
    """``list_servers`` and ``load_server_config`` on a config file holding the input;
    may raise ConfigError only."""
    CONFIG_FILE.write_bytes(data)
    try:
        names = list_servers(CONFIG_FILE)
    except ConfigError:
        return
    for name in [*names[:4], "absent"]:
        try:
            load_server_config(CONFIG_FILE, name, environ=ENVIRON)
        except ConfigError:
            pass


def fuzz_www_authenticate(data: bytes) -> None:
    """``parse_www_authenticate`` and ``find_challenge``; malformed parts are skipped,
    so nothing may be raised.

    Input: the header value, read as Latin-1 (how HTTP libraries decode header bytes).
    """
    header = data.decode("latin-1")
    for challenge in parse_www_authenticate(header):
        assert challenge.scheme
        assert all(name == name.lower() for name in challenge.params)
    find_challenge([header, header[::-1]])


TARGETS: dict[str, Callable[[bytes], None]] = {
    "sse": fuzz_sse,
    "jsonrpc": fuzz_jsonrpc,
    "config": fuzz_config,
    "www_authenticate": fuzz_www_authenticate,
}


# --- running --------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: {argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options] [corpus dirs]")
    target = argv[1]
    options = argv[2:]
    corpus = WORK / "corpus" / target
    crashes = WORK / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    defaults = {
        "-timeout=": "-timeout=10",
        "-artifact_prefix=": f"-artifact_prefix={crashes}{os.sep}{target}-",
        "-print_final_stats=": "-print_final_stats=1",
    }
    options += [
        value for flag, value in defaults.items() if not any(o.startswith(flag) for o in options)
    ]
    # New inputs go to the first directory; the seeds are read only.
    dirs = (
        []
        if any(not o.startswith("-") for o in options)
        else [str(corpus), str(HERE / "seeds" / target)]
    )
    atheris.Setup([argv[0], *options, *dirs], TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
