"""Properties of the event-stream framing: how the bytes are split never changes the events.

The streams are serialised from a model of the events (data, event, id, retry, comments,
unknown and ignored fields), so each test knows which events the bytes must give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mcp_sync import ProtocolError
from mcp_sync.sse import iter_sse

BOM = b"\xef\xbb\xbf"
LINE_ENDINGS = (b"\n", b"\r\n", b"\r")
KNOWN_FIELDS = ("data", "event", "id", "retry")

Event = tuple[str, Optional[str], Optional[str], Optional[int]]
# A line: (field name, value); the name ":" stands for a comment.
Line = tuple[str, str]


# _one_line_ending keeps pending_cr set after a chunk that held only the LF of a CRLF,
# so the next chunk's leading LF, a blank line of its own, is dropped as well.
def examples(n: int) -> int:
    """``n`` examples under the default profile, scaled by the loaded one (see conftest.py)."""
    return max(1, n * settings().max_examples // 100)


# --- the model ------------------------------------------------------------------------------


def expected_event(lines: list[Line]) -> Optional[Event]:
    """The event the spec says a block of ``lines`` dispatches, or None for no event."""
    event, data, event_id, retry, seen = "message", None, None, None, False
    for name, value in lines:
        if name == "data":
            data = [*(data or []), value]
        elif name == "event":
            event = value or "message"
        elif name == "id" and "\x00" not in value:
            event_id = value
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= 9:
            retry = int(value)
        else:
            continue
        seen = True
    if not seen:
        return None
    return (event, None if data is None else "\n".join(data), event_id, retry)


@dataclass
class Serialised:
    """An event stream and the events it must give, however it is split."""

    raw: bytes
    events: list[Event]


def encode_line(name: str, value: str, spaced: bool) -> bytes:
    if name == ":":
        return (":" + value).encode()
    if not value and not spaced:
        return name.encode()  # a field name alone has an empty value
    # One space after the colon is dropped by the parser; without it the value must not
    # start with a space, or that space would be dropped instead.
    sep = ": " if spaced or value.startswith(" ") else ":"
    return (name + sep + value).encode()


# Any character but the line endings; hypothesis favours the awkward ones (multi-byte
# UTF-8, NUL, U+2028, a BOM inside a value, ...).
values = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
unknown_names = st.one_of(
    st.sampled_from(["Data", "ID", "data ", " data", "foo", "\ufeffdata"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n:"), min_size=1, max_size=6),
).filter(lambda name: name not in KNOWN_FIELDS)
retry_values = st.one_of(
    st.integers(0, 999_999_999).map(str),
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),  # leading zeros, and too long
    st.sampled_from(["-1", "1.5", "1e3", " 5", "5 ", "\u0661\u0662", "\u00b2", ""]),
    values,
)
lines = st.one_of(
    st.tuples(st.just("data"), values),
    st.tuples(st.just("event"), values),
    st.tuples(st.just("id"), values),  # an id with NUL is ignored
    st.tuples(st.just("retry"), retry_values),
    st.tuples(st.just(":"), values),
    st.tuples(unknown_names, values),
)


@st.composite
def event_streams(draw: st.DrawFn, mixed_line_endings: bool = False) -> Serialised:
    """A stream of blocks, maybe with a BOM and a cut-off event at the end."""
    blocks = draw(st.lists(st.lists(lines, max_size=5), max_size=5))
    tail = draw(st.lists(lines, max_size=3))
    stream_eol = draw(st.sampled_from(LINE_ENDINGS))

    # Each physical line with the ending it gets; b"" content is a blank line.
    physical: list[bytes] = []
    for block in blocks:
        physical += [encode_line(n, v, draw(st.booleans())) for n, v in block]
        physical.append(b"")
    physical += [encode_line(n, v, draw(st.booleans())) for n, v in tail]

    # Only one BOM is stripped, and only at the very start: a stream whose first field
    # name starts with U+FEFF gets a BOM before it, or that name would lose its U+FEFF.
    starts_with_bom = bool(physical) and physical[0].startswith(BOM)
    out = [BOM] if draw(st.booleans()) or starts_with_bom else []
    previous_eol = b""
    for index, content in enumerate(physical):
        eol = draw(st.sampled_from(LINE_ENDINGS)) if mixed_line_endings else stream_eol
        if not content and previous_eol == b"\r" and eol == b"\n":
            eol = b"\r\n"  # "\r" then "\n" would be one CRLF, not two line endings
        if tail and index == len(physical) - 1 and draw(st.booleans()):
            eol = b""  # the stream may end in the middle of the last line
        out += [content, eol]
        previous_eol = eol
    found = [expected_event(block) for block in blocks]
    return Serialised(b"".join(out), [e for e in found if e is not None])


# --- splitting ------------------------------------------------------------------------------


def events(chunks: Iterable[bytes]) -> list[Event]:
    return [(e.event, e.data, e.id, e.retry) for e in iter_sse(chunks)]


def outcome(chunks: Iterable[bytes]) -> tuple[list[Event], bool]:
    """The events read before the stream ended or failed, and whether it failed."""
    found: list[Event] = []
    try:
        for e in iter_sse(chunks):
            found.append((e.event, e.data, e.id, e.retry))
    except ProtocolError:
        return found, True
    return found, False


def split_at(raw: bytes, cuts: list[int]) -> list[bytes]:
    """``raw`` cut at each position in ``cuts`` (taken modulo its length + 1, any order)."""
    points = sorted(c % (len(raw) + 1) for c in cuts)
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)])]


def one_byte_chunks(raw: bytes) -> list[bytes]:
    return [raw[i : i + 1] for i in range(len(raw))]


cut_lists = st.lists(st.integers(0, 10_000), max_size=24)


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=examples(400))
@given(stream=event_streams(), cuts=cut_lists)
def test_any_split_of_a_serialised_stream_yields_the_serialised_events(
    stream: Serialised, cuts: list[int]
) -> None:
    assert events([stream.raw]) == stream.events
    assert events(one_byte_chunks(stream.raw)) == stream.events
    assert events(split_at(stream.raw, cuts)) == stream.events


@settings(max_examples=examples(400))
@given(stream=event_streams(mixed_line_endings=True), cuts=cut_lists)
@example(stream=Serialised(b"data\r\n\n", [("message", "", None, None)]), cuts=[5, 6])
def test_any_split_of_a_stream_with_mixed_line_endings_yields_the_serialised_events(
    stream: Serialised, cuts: list[int]
) -> None:
    assert events([stream.raw]) == stream.events
    assert events(one_byte_chunks(stream.raw)) == stream.events
    assert events(split_at(stream.raw, cuts)) == stream.events


# Bytes that mean something to the framing, and some that are not UTF-8.
FRAMING_BYTES = [b"data", b"id", b"event", b"retry", b":", b" ", b"\r", b"\n", b"\r\n", BOM]
ODD_BYTES = [b"\x00", b"7", b"\xff", b"\xc3", b"\xa9", "\u00e9".encode(), "\U0001f600".encode()]
byte_soup = st.lists(
    st.one_of(st.sampled_from(FRAMING_BYTES + ODD_BYTES), st.binary(max_size=4)), max_size=60
).map(b"".join)


@settings(max_examples=examples(400))
@given(raw=byte_soup, cuts=cut_lists)
def test_arbitrary_bytes_give_events_or_protocol_error_and_nothing_else(
    raw: bytes, cuts: list[int]
) -> None:
    # Anything but ProtocolError (the documented error for bytes that are not UTF-8)
    # escapes and fails the test; a hang is stopped by pytest-timeout (pyproject.toml).
    found, _failed = outcome(split_at(raw, cuts))
    # Every event needs a blank line after it, so there are fewer events than line endings.
    assert len(found) <= raw.count(b"\n") + raw.count(b"\r")
    for name, data, event_id, retry in found:
        assert isinstance(name, str) and name
        assert data is None or isinstance(data, str)
        assert event_id is None or (isinstance(event_id, str) and "\x00" not in event_id)
        assert retry is None or (isinstance(retry, int) and 0 <= retry < 10**9)


@settings(max_examples=examples(400))
@given(raw=byte_soup, cuts=cut_lists)
@example(raw=b"data\r\n\n", cuts=[5, 6])
def test_any_split_of_arbitrary_bytes_yields_what_the_unsplit_stream_yields(
    raw: bytes, cuts: list[int]
) -> None:
    whole = outcome([raw])
    assert outcome(one_byte_chunks(raw)) == whole
    assert outcome(split_at(raw, cuts)) == whole
