"""Server-sent events: pure framing over an iterable of byte chunks, with no I/O.

sseclient-py stitches the chunks into event blocks; mcp_sync reads the fields of
each block itself, because the MCP streams need what sseclient-py drops or bends:
an ``id`` or ``retry`` on an event without data (the priming event of 2025-11-25
and reconnect hints), ``retry`` as a number, a byte-order mark only at the very
start, strict UTF-8, and no half-received event at the end of a stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Callable, Optional

from .errors import MessageTooLarge, ProtocolError

try:
    from sseclient import SSEClient as _SSEClient
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("mcp_sync needs the sseclient-py package (pip install sseclient-py)") from exc

if not hasattr(_SSEClient, "_read"):  # pragma: no cover - depends on the environment
    raise ImportError(
        "the installed 'sseclient' module is not sseclient-py; "
        "uninstall the unrelated 'sseclient' package and install sseclient-py"
    )

__all__ = ["SSEEvent", "iter_sse"]

_BOM = b"\xef\xbb\xbf"
_BLOCK_END = b"\n\n"
_COLON = ord(":")
_SPACE = ord(" ")
# Pieces this long go to sseclient-py's stitcher a line at a time.
_LARGE = 1 << 20


class SSEEvent:
    """One event block: ``data`` is None when the block carried no data field."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, event: str, data: Optional[str], id: Optional[str], retry: Optional[int]):
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        size = "no data" if self.data is None else f"{len(self.data)} chars"
        return f"SSEEvent(event={self.event!r}, id={self.id!r}, retry={self.retry!r}, {size})"


def _without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    # The event-stream spec allows one BOM, at the start of the stream only; it may
    # even arrive split over the first chunks.
    head = b""
    it = iter(chunks)
    for chunk in it:
        head += chunk
        if len(head) >= len(_BOM) or not _BOM.startswith(head):
            break
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    if head:
        yield head
    yield from it


def _one_line_ending(chunks: Iterable[bytes]) -> Iterator[bytes]:
    # The event-stream spec ends lines with CRLF, LF or CR, in any mix; sseclient-py's
    # stitcher recognises a blank line only when both ends match. Turning every ending
    # into LF (a CR at a chunk's end may pair with an LF at the next one's start) lets
    # it find each block wherever the chunks were split.
    pending_cr = False
    for chunk in chunks:
        if not chunk:
            continue
        if pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split over two chunks
        pending_cr = chunk.endswith(b"\r")
        if not chunk:
            continue
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        yield chunk


def _parse_block(block: bytes) -> Optional[SSEEvent]:
    event = "message"
    data: Optional[list[str]] = None
    event_id: Optional[str] = None
    retry: Optional[int] = None
    seen = False
    # Names and values are decoded straight from the block: a megabyte data line is
    # copied once, into its value, not into a line first.
    view = memoryview(block)
    start = 0
    size = len(block)
    while start < size:
        end = block.find(b"\n", start)
        if end < 0:
            end = size
        line_start, start = start, end + 1
        if end == line_start or block[line_start] == _COLON:
            continue
        colon = block.find(b":", line_start, end)
        name_end = end if colon < 0 else colon
        value_start = end if colon < 0 else colon + 1
        if value_start < end and block[value_start] == _SPACE:
            value_start += 1
        try:
            name = str(view[line_start:name_end], "utf-8")
            value = str(view[value_start:end], "utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("event stream is not valid UTF-8") from None
        if name == "data":
            if data is None:
                data = []
            data.append(value)
        elif name == "event":
            event = value or "message"
        elif name == "id" and "\x00" not in value:
            event_id = value
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= 9:
            retry = int(value)
        else:
            continue  # unknown fields and invalid values are ignored
        seen = True
    if not seen:
        return None
    return SSEEvent(event, None if data is None else "\n".join(data), event_id, retry)


def _in_blocks(chunks: Iterable[bytes], max_event_size: Optional[int]) -> Iterator[bytes]:
    """Pass LF-only chunks on, holding back those that end no block.

    sseclient-py's stitcher adds each piece of an unfinished block to a growing bytes
    object, which costs the square of the block's size when a large event arrives in
    many chunks; held back and joined here, a block reaches it in one piece. Fails
    once the block not yet ended is over ``max_event_size`` (``None``: no limit).
    """
    held: list[bytes] = []
    pending = 0  # bytes since the last block end ("\n\n"), which may span two chunks
    ended_with_newline = False
    for chunk in chunks:
        end = chunk.rfind(_BLOCK_END)
        if end >= 0:
            pending = len(chunk) - (end + len(_BLOCK_END))
        elif ended_with_newline and chunk.startswith(b"\n"):
            end = 0
            pending = len(chunk) - 1
        else:
            pending += len(chunk)
        if max_event_size is not None and pending > max_event_size:
            raise MessageTooLarge(max_event_size, "an event")
        ended_with_newline = chunk.endswith(b"\n")
        if end < 0:
            held.append(chunk)
            continue
        if held:
            held.append(chunk)
            chunk = b"".join(held)
            held = []
        if len(chunk) < _LARGE:
            yield chunk
            continue
        # The stitcher copies a piece's lines before it adds them up: a large piece goes
        # a line at a time, each handed over whole and not kept here, so that one copy
        # of a large event is alive, not three.
        lines = chunk.splitlines(True)
        del chunk
        lines.reverse()
        while lines:
            yield lines.pop()
    if held:
        yield b"".join(held)


def iter_sse(chunks: Iterable[bytes], max_event_size: Optional[int] = None) -> Iterator[SSEEvent]:
    """Yield the events of an event stream given as byte chunks split anywhere.

    Blocks with only comments are skipped; an event cut off by the end of the stream
    is dropped, as the event-stream spec says. Raises :class:`~mcp_sync.ProtocolError`
    on bytes that are not UTF-8, and :class:`~mcp_sync.MessageTooLarge` when one event
    grows past ``max_event_size`` bytes (``None``: no limit) before it ends.
    """
    framer = _SSEClient(_in_blocks(_one_line_ending(_without_bom(chunks)), max_event_size))
    # sseclient-py's block stitcher; the field parsing above replaces its events().
    read_blocks: Callable[[], Iterator[bytes]] = getattr(framer, "_read")  # noqa: B009
    for block in read_blocks():
        if max_event_size is not None and len(block) > max_event_size:
            raise MessageTooLarge(max_event_size, "an event")
        if not block.endswith(_BLOCK_END):
            return  # the stream ended in the middle of an event
        parsed = _parse_block(block)
        if parsed is not None:
            yield parsed
