"""Event-stream framing: ``iter_sse`` turns byte chunks, split anywhere, into events."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Optional

import pytest

from mcp_sync import MessageTooLarge, ProtocolError
from mcp_sync.sse import SSEEvent, iter_sse

BOM = b"\xef\xbb\xbf"

Event = tuple[str, Optional[str], Optional[str], Optional[int]]


def events(chunks: Iterable[bytes]) -> list[Event]:
    return [(e.event, e.data, e.id, e.retry) for e in iter_sse(chunks)]


def one_event(chunks: Iterable[bytes]) -> SSEEvent:
    found = list(iter_sse(chunks))
    assert len(found) == 1, found
    return found[0]


# --- line endings ---------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_each_line_ending_style_frames_the_same_events(eol: bytes) -> None:
    stream = eol.join([b"event: a", b"data: one", b"", b"data: two", b"data: three", b"", b""])
    assert events([stream]) == [("a", "one", None, None), ("message", "two\nthree", None, None)]


def test_lf_line_endings_end_fields_and_blocks() -> None:
    assert events([b"data: x\n\ndata: y\n\n"]) == [
        ("message", "x", None, None),
        ("message", "y", None, None),
    ]


def test_crlf_line_endings_end_fields_and_blocks() -> None:
    assert events([b"data: x\r\nid: 7\r\n\r\ndata: y\r\n\r\n"]) == [
        ("message", "x", "7", None),
        ("message", "y", None, None),
    ]


def test_cr_line_endings_end_fields_and_blocks() -> None:
    assert events([b"data: x\rid: 7\r\rdata: y\r\r"]) == [
        ("message", "x", "7", None),
        ("message", "y", None, None),
    ]


def test_crlf_split_between_cr_and_lf_is_one_line_ending() -> None:
    assert events([b"data: x\r", b"\n\r", b"\ndata: y\r\n\r\n"]) == [
        ("message", "x", None, None),
        ("message", "y", None, None),
    ]


@pytest.mark.parametrize(
    "stream",
    [b"data: a\n\r\ndata: b\n\n", b"data: a\n\rdata: b\n\n", b"data: a\r\r\ndata: b\n\n"],
    ids=["LF-CRLF", "LF-CR", "CR-CRLF"],
)
def test_mixed_line_endings_forming_a_blank_line_end_the_block(stream: bytes) -> None:
    assert events([stream]) == [("message", "a", None, None), ("message", "b", None, None)]


# --- fields ---------------------------------------------------------------------------------


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert one_event([b"data: first\ndata: second\ndata: third\n\n"]).data == "first\nsecond\nthird"


def test_empty_data_lines_keep_their_place_in_multi_line_data() -> None:
    assert one_event([b"data: a\ndata:\ndata: b\n\n"]).data == "a\n\nb"


def test_a_single_leading_space_is_stripped_from_a_value() -> None:
    assert one_event([b"data: value\n\n"]).data == "value"


def test_only_one_leading_space_is_stripped_from_a_value() -> None:
    assert one_event([b"data:  two spaces\n\n"]).data == " two spaces"


def test_a_value_without_leading_space_is_kept_whole() -> None:
    assert one_event([b"data:tight\n\n"]).data == "tight"


def test_trailing_whitespace_of_a_value_is_kept() -> None:
    assert one_event([b"data: x  \n\n"]).data == "x  "


def test_colons_after_the_first_belong_to_the_value() -> None:
    assert one_event([b'data: {"a": "b:c"}\n\n']).data == '{"a": "b:c"}'


def test_a_field_name_without_colon_has_an_empty_value() -> None:
    assert one_event([b"data\n\n"]).data == ""


def test_comment_lines_are_skipped() -> None:
    assert events([b": a comment\ndata: x\n:another\n\n"]) == [("message", "x", None, None)]


def test_a_block_of_only_comments_yields_no_event() -> None:
    assert events([b": keep-alive\n\n:\n\ndata: x\n\n"]) == [("message", "x", None, None)]


def test_unknown_fields_are_ignored() -> None:
    assert events([b"foo: bar\ndata: x\nData: y\n\n"]) == [("message", "x", None, None)]


def test_a_block_of_only_unknown_fields_yields_no_event() -> None:
    assert events([b"foo: bar\n\n"]) == []


def test_event_without_event_field_is_named_message() -> None:
    assert one_event([b"data: x\n\n"]).event == "message"


def test_event_field_names_the_event() -> None:
    assert one_event([b"event: endpoint\ndata: /mcp\n\n"]).event == "endpoint"


def test_empty_event_field_names_the_event_message() -> None:
    assert one_event([b"event:\ndata: x\n\n"]).event == "message"


def test_event_name_does_not_carry_over_to_the_next_event() -> None:
    assert [e.event for e in iter_sse([b"event: a\ndata: 1\n\ndata: 2\n\n"])] == ["a", "message"]


def test_id_field_sets_the_event_id() -> None:
    assert one_event([b"id: abc-1\ndata: x\n\n"]).id == "abc-1"


def test_event_without_id_field_has_id_none() -> None:
    assert one_event([b"data: x\n\n"]).id is None


def test_empty_id_field_is_kept_as_empty_string() -> None:
    assert one_event([b"id\ndata: x\n\n"]).id == ""


def test_id_containing_nul_is_ignored() -> None:
    event = one_event([b"id: a\x00b\ndata: x\n\n"])
    assert (event.id, event.data) == (None, "x")


def test_id_on_event_without_data_is_yielded_with_data_none() -> None:
    assert events([b"id: 42\n\n"]) == [("message", None, "42", None)]


def test_retry_on_event_without_data_is_yielded_with_data_none() -> None:
    assert events([b"retry: 3000\n\n"]) == [("message", None, None, 3000)]


def test_retry_is_an_integer_of_milliseconds() -> None:
    event = one_event([b"retry: 250\ndata: x\n\n"])
    assert event.retry == 250
    assert isinstance(event.retry, int)


@pytest.mark.parametrize("value", [b"abc", b"12a", b"-1", b"1.5", b"", b" 5", b"5 ", b"1e3"])
def test_retry_with_non_digits_is_ignored(value: bytes) -> None:
    event = one_event([b"retry: " + value + b"\ndata: x\n\n"])
    assert event.retry is None


def test_retry_with_a_superscript_digit_is_ignored() -> None:
    event = one_event(["retry: \u00b2\ndata: x\n\n".encode()])
    assert event.retry is None


def test_retry_with_non_ascii_digits_is_ignored() -> None:
    event = one_event(["retry: \u0661\u0662\ndata: x\n\n".encode()])
    assert event.retry is None


def test_priming_event_with_empty_data_updates_last_event_id() -> None:
    event = one_event([b"id: prime-0\ndata:\n\n"])
    assert (event.id, event.data) == ("prime-0", "")


def test_empty_data_field_yields_empty_string_not_none() -> None:
    assert one_event([b"data:\n\n"]).data == ""


# --- byte-order mark ------------------------------------------------------------------------


def test_bom_at_stream_start_is_stripped() -> None:
    assert events([BOM + b"data: x\n\n"]) == [("message", "x", None, None)]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"\xef", b"\xbb\xbfdata: x\n\n"],
        [b"\xef\xbb", b"\xbfdata: x\n\n"],
        [b"\xef", b"\xbb", b"\xbf", b"data: x\n\n"],
        [b"", b"\xef\xbb\xbf", b"data: x\n\n"],
        [BOM, b"data: x\n\n"],
    ],
    ids=["1+2", "2+1", "1+1+1", "empty-first", "alone"],
)
def test_bom_split_across_first_chunks_is_stripped(chunks: list[bytes]) -> None:
    assert events(chunks) == [("message", "x", None, None)]


def test_bom_after_the_first_event_is_not_stripped() -> None:
    # The BOM becomes part of the next field name, which is then unknown.
    assert events([b"data: a\n\n" + BOM + b"data: b\n\n"]) == [("message", "a", None, None)]


def test_bom_at_the_start_of_a_later_chunk_is_not_stripped() -> None:
    assert events([b"data: a\n\n", BOM + b"data: b\n\n"]) == [("message", "a", None, None)]


def test_only_one_bom_is_stripped_at_stream_start() -> None:
    assert events([BOM + BOM + b"data: a\n\n"]) == []


def test_bom_inside_a_data_value_is_kept() -> None:
    assert one_event([b"data: " + BOM + b"x\n\n"]).data == "\ufeffx"


def test_stream_of_only_a_partial_bom_yields_nothing() -> None:
    assert events([b"\xef\xbb"]) == []


# --- end of stream and encoding -------------------------------------------------------------


def test_empty_stream_yields_no_events() -> None:
    assert events([]) == []
    assert events([b""]) == []


def test_event_cut_off_at_end_of_stream_is_dropped() -> None:
    assert events([b"data: a\n\ndata: b\n"]) == [("message", "a", None, None)]


def test_event_cut_off_mid_line_at_end_of_stream_is_dropped() -> None:
    assert events([b"data: a\n\nid: 9\ndata: b"]) == [("message", "a", None, None)]


def test_a_lone_cr_at_the_end_of_the_stream_ends_the_blank_line() -> None:
    # CR alone is a line ending, so "\r\n" then "\r" is a complete blank line.
    assert events([b"data: a\r\n\r\ndata: b\r\n\r"]) == [
        ("message", "a", None, None),
        ("message", "b", None, None),
    ]


def test_events_are_yielded_as_soon_as_their_block_ends() -> None:
    pulled: list[int] = []

    def chunks() -> Iterator[bytes]:
        pulled.append(1)
        yield b"data: first\n\n"
        pulled.append(2)
        yield b"data: second\n\n"

    it = iter_sse(chunks())
    assert next(it).data == "first"
    assert pulled == [1]


def test_invalid_utf8_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="UTF-8"):
        events([b"data: \xff\xfe\n\n"])


def test_invalid_utf8_in_a_field_name_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        events([b"\xc3(: x\n\n"])


def test_truncated_multi_byte_character_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        events([b"data: caf\xc3\n\n"])


def test_multi_byte_character_split_across_chunks_is_decoded() -> None:
    encoded = "data: caf\u00e9 \U0001f600\n\n".encode()
    split = encoded.index(b"\xf0") + 2  # inside the 4-byte emoji
    assert one_event([encoded[:split], encoded[split:]]).data == "caf\u00e9 \U0001f600"


# --- chunk boundaries never change the events -----------------------------------------------


def _representative_stream(eol: bytes) -> bytes:
    lines = [
        b": keep-alive",
        b"",
        b"id: 0",
        b"data:",
        b"",
        b"event: progress",
        b'data: {"a": 1}',
        b"data:  two spaces",
        b"id: 1",
        b"",
        b"retry: 1500",
        b"",
        "data: caf\u00e9 \U0001f600".encode(),
        b"unknown: x",
        b"",
        b"id: 2",
        b"",
        b"data: tail that never ends",
    ]
    return BOM + eol.join(lines) + eol


REPRESENTATIVE_EVENTS: list[Event] = [
    ("message", "", "0", None),
    ("progress", '{"a": 1}\n two spaces', "1", None),
    ("message", None, None, 1500),
    ("message", "caf\u00e9 \U0001f600", None, None),
    ("message", None, "2", None),
]

LINE_ENDINGS = pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])


@LINE_ENDINGS
def test_representative_stream_in_one_chunk(eol: bytes) -> None:
    assert events([_representative_stream(eol)]) == REPRESENTATIVE_EVENTS


@LINE_ENDINGS
def test_splitting_at_every_byte_position_into_two_chunks_gives_identical_events(
    eol: bytes,
) -> None:
    stream = _representative_stream(eol)
    for position in range(len(stream) + 1):
        got = events([stream[:position], stream[position:]])
        assert got == REPRESENTATIVE_EVENTS, f"split at byte {position}"


@LINE_ENDINGS
def test_one_byte_chunks_give_identical_events(eol: bytes) -> None:
    stream = _representative_stream(eol)
    assert events([stream[i : i + 1] for i in range(len(stream))]) == REPRESENTATIVE_EVENTS


@LINE_ENDINGS
def test_random_splits_into_many_chunks_give_identical_events(eol: bytes) -> None:
    stream = _representative_stream(eol)
    rng = random.Random(20251125)
    for _ in range(200):
        cuts = sorted(rng.sample(range(len(stream) + 1), rng.randint(2, 12)))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
        assert events(chunks) == REPRESENTATIVE_EVENTS, f"cuts at {cuts}"


# --- the size limit -------------------------------------------------------------------------


def _split(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


@pytest.mark.parametrize("chunk", [1, 7, 1000, 10**6])
def test_an_event_at_the_size_limit_passes_whatever_the_chunks(chunk: int) -> None:
    block = b"data: " + b"x" * 94 + b"\n\n"  # 102 bytes, the whole block
    got = [(e.data or "") for e in iter_sse(_split(block * 3, chunk), max_event_size=102)]
    assert got == ["x" * 94] * 3


@pytest.mark.parametrize("chunk", [1, 7, 1000, 10**6])
def test_an_event_over_the_size_limit_raises_message_too_large(chunk: int) -> None:
    stream = b"data: small\n\n" + b"data: " + b"x" * 95 + b"\n\n"
    seen = []
    with pytest.raises(MessageTooLarge) as info:
        for event in iter_sse(_split(stream, chunk), max_event_size=102):
            seen.append(event.data)
    assert seen == ["small"]
    assert info.value.limit == 102
    assert isinstance(info.value, ProtocolError)


def test_many_small_events_may_add_up_to_far_more_than_the_limit() -> None:
    stream = b"data: 0123456789\n\n" * 10_000  # 180 kB in events of 18 bytes
    assert sum(1 for _ in iter_sse(_split(stream, 4096), max_event_size=64)) == 10_000


def test_an_event_that_never_ends_stops_being_read_soon_after_the_limit() -> None:
    read = 0

    def endless() -> Iterator[bytes]:
        nonlocal read
        yield b"data: "
        while True:
            read += 4096
            yield b"x" * 4096

    with pytest.raises(MessageTooLarge):
        for _ in iter_sse(endless(), max_event_size=100_000):
            pass
    assert read <= 100_000 + 4096


def test_comments_count_towards_the_block_they_are_in_only() -> None:
    keepalives = b": ping\n\n" * 50_000  # 400 kB of keep-alive blocks, no event
    assert events_limited([keepalives, b"data: x\n\n"], 16) == [("message", "x", None, None)]


def events_limited(chunks: Iterable[bytes], limit: int) -> list[Event]:
    return [(e.event, e.data, e.id, e.retry) for e in iter_sse(chunks, max_event_size=limit)]


def test_a_crlf_split_before_its_lf_keeps_the_blank_line_after_it() -> None:
    # The LF of the CRLF alone in a chunk, then the LF of the blank line.
    assert events([b"data\r", b"\n", b"\n"]) == [("message", "", None, None)]
    assert events([b"data: a\r", b"\n", b"\r\n", b"data: b\n\n"]) == [
        ("message", "a", None, None),
        ("message", "b", None, None),
    ]
