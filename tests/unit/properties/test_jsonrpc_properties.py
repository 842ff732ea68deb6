"""Properties of JSON-RPC parsing: any JSON value is a message or a ProtocolError, and
what the builders make parses back to the same values."""

from __future__ import annotations

import json
from typing import Any, Optional, Union

from hypothesis import event, given, settings
from hypothesis import strategies as st

from mcp_sync import ProtocolError, jsonrpc
from mcp_sync.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    Response,
    encode,
    parse_message,
    parse_payload,
)


def examples(n: int) -> int:
    """``n`` examples under the default profile, scaled by the loaded one (see conftest.py)."""
    return max(1, n * settings().max_examples // 100)


# --- strategies -----------------------------------------------------------------------------

# What json.loads can return: no NaN or infinity (parse_payload refuses them), no tuples.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)

request_ids = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=10))
# Values that sit on the edges parse_message checks, mixed with anything at all.
edgy = st.one_of(
    st.sampled_from(["2.0", "2", "1.0", 2.0, 2, "", None, True, False, 0, -1, 1.5, [], {}]),
    request_ids,
    json_values,
)
error_objects = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"code": st.one_of(st.integers(), edgy), "message": edgy, "data": edgy}
    ),
    edgy,
)
# Valid messages, as the builders make them.
wire_messages = st.one_of(
    st.builds(jsonrpc.request, request_ids, st.text(max_size=10), st.none() | json_objects),
    st.builds(jsonrpc.notification, st.text(max_size=10), st.none() | json_objects),
    st.builds(jsonrpc.response, request_ids, json_values),
    st.builds(
        jsonrpc.error_response, st.none() | request_ids, st.integers(), st.text(max_size=10), edgy
    ),
)
MEMBERS = ["jsonrpc", "id", "method", "params", "result", "error"]


@st.composite
def mutated_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A valid message with a few members dropped, added or given another value."""
    obj = draw(wire_messages)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(MEMBERS))
        change = draw(st.sampled_from(["drop", "set", "error member"]))
        if change == "drop":
            obj.pop(key, None)
        elif change == "set":
            obj[key] = draw(error_objects if key == "error" else edgy)
        elif isinstance(obj.get("error"), dict):
            obj["error"][draw(st.sampled_from(["code", "message", "data"]))] = draw(edgy)
    return obj


# Objects built from the members of a JSON-RPC message, each maybe absent or malformed,
# plus any other members.
member_soup = st.builds(
    lambda members, extra: {**extra, **members},
    st.fixed_dictionaries(
        {},
        optional={
            "jsonrpc": st.one_of(st.just("2.0"), edgy),
            "id": st.one_of(request_ids, edgy),
            "method": st.one_of(st.text(max_size=10), edgy),
            "params": st.one_of(json_objects, edgy),
            "result": json_values,
            "error": error_objects,
        },
    ),
    json_objects,
)
message_like = st.one_of(wire_messages, mutated_messages(), member_soup)
any_json = st.one_of(message_like, json_values)


def fields(msg: Message) -> tuple[Any, ...]:
    """A message as a comparable tuple: its type, then its attributes."""
    if isinstance(msg, Request):
        return (Request, msg.id, msg.method, msg.params)
    if isinstance(msg, Notification):
        return (Notification, msg.method, msg.params)
    if isinstance(msg, Response):
        return (Response, msg.id, msg.result)
    return (ErrorResponse, msg.id, msg.code, msg.message, msg.data)


def parse_both_ways(wire: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``wire`` parsed as a dict, and as the bytes ``encode`` sends."""
    return [fields(parse_message(wire)), *(fields(m) for m in parse_payload(encode(wire)))]


# --- any value ------------------------------------------------------------------------------


@settings(max_examples=examples(300))
@given(obj=any_json)
def test_parse_message_of_any_json_value_returns_a_message_or_raises_protocol_error(
    obj: Any,
) -> None:
    try:
        msg = parse_message(obj)
    except ProtocolError:
        event("ProtocolError")
        return
    event(type(msg).__name__)
    # A message keeps what the object said: the members it came from are all valid.
    assert isinstance(obj, dict)
    assert obj["jsonrpc"] == "2.0"
    if isinstance(msg, (Request, Notification)):
        assert msg.method == obj["method"]
        assert msg.params == obj.get("params")
        assert isinstance(msg, Request) == ("id" in obj)
    elif isinstance(msg, Response):
        assert "method" not in obj or obj["method"] is None
        assert (msg.id, msg.result) == (obj["id"], obj["result"])
    else:
        assert isinstance(msg, ErrorResponse)
        assert "result" not in obj
        assert (msg.id, msg.code) == (obj.get("id"), obj["error"]["code"])
        assert isinstance(msg.message, str)
    if isinstance(msg, (Request, Response)):
        assert isinstance(msg.id, (int, str)) and not isinstance(msg.id, bool)


@settings(max_examples=examples(200))
@given(obj=st.one_of(any_json, st.lists(any_json, max_size=3)), allow_batch=st.booleans())
def test_parse_payload_of_any_json_text_returns_messages_or_raises_protocol_error(
    obj: Any, allow_batch: bool
) -> None:
    text = json.dumps(obj)
    for payload in (text, text.encode()):
        try:
            messages = parse_payload(payload, allow_batch=allow_batch)
        except ProtocolError:
            continue
        assert messages
        assert len(messages) == 1 or allow_batch


@settings(max_examples=examples(300))
@given(
    payload=st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64),
        st.text(alphabet='{}[]",:0123456789.eE+-tfnrul \\"', max_size=64),
        st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
    allow_batch=st.booleans(),
)
def test_parse_payload_of_any_bytes_returns_messages_or_raises_protocol_error(
    payload: Union[bytes, str], allow_batch: bool
) -> None:
    try:
        parse_payload(payload, allow_batch=allow_batch)
    except ProtocolError:
        pass


@settings(max_examples=examples(30))
@given(
    depth=st.integers(1, 20_000),
    opener=st.sampled_from(
        ["[", '{"a":', '{"jsonrpc":"2.0","id":', '{"jsonrpc":"2.0","id":1,"result":']
    ),
    allow_batch=st.booleans(),
)
def test_parse_payload_of_deeply_nested_json_returns_messages_or_raises_protocol_error(
    depth: int, opener: str, allow_batch: bool
) -> None:
    # Past the interpreter's recursion limit json.loads raises RecursionError; short of
    # it, repr() of the value in an error message could: neither may escape.
    closer = "]" if opener == "[" else "}"
    body = opener + "[" * depth + "]" * depth + closer
    try:
        parse_payload(body, allow_batch=allow_batch)
    except ProtocolError:
        pass


# --- round trips ----------------------------------------------------------------------------


@settings(max_examples=examples(100))
@given(
    request_id=request_ids, method=st.text(max_size=20), params=st.one_of(st.none(), json_objects)
)
def test_a_built_request_parses_back_to_the_same_request(
    request_id: Union[int, str], method: str, params: Optional[dict[str, Any]]
) -> None:
    wire = jsonrpc.request(request_id, method, params)
    assert parse_both_ways(wire) == [(Request, request_id, method, params)] * 2


@settings(max_examples=examples(100))
@given(method=st.text(max_size=20), params=st.one_of(st.none(), json_objects))
def test_a_built_notification_parses_back_to_the_same_notification(
    method: str, params: Optional[dict[str, Any]]
) -> None:
    wire = jsonrpc.notification(method, params)
    assert parse_both_ways(wire) == [(Notification, method, params)] * 2


@settings(max_examples=examples(100))
@given(request_id=request_ids, result=json_values)
def test_a_built_response_parses_back_to_the_same_response(
    request_id: Union[int, str], result: Any
) -> None:
    wire = jsonrpc.response(request_id, result)
    assert parse_both_ways(wire) == [(Response, request_id, result)] * 2


@settings(max_examples=examples(100))
@given(
    request_id=st.one_of(st.none(), request_ids),
    code=st.integers(-(2**63), 2**63 - 1),
    message=st.text(max_size=20),
    data=json_values,
)
def test_a_built_error_response_parses_back_to_the_same_error_response(
    request_id: Optional[Union[int, str]], code: int, message: str, data: Any
) -> None:
    wire = jsonrpc.error_response(request_id, code, message, data)
    assert parse_both_ways(wire) == [(ErrorResponse, request_id, code, message, data)] * 2
