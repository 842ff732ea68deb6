"""JSON-RPC 2.0 messages: classifying, validating, decoding and encoding."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mcp_sync import ProtocolError, jsonrpc
from mcp_sync.jsonrpc import (
    ErrorResponse,
    Notification,
    Request,
    Response,
    encode,
    parse_message,
    parse_payload,
)

# --- valid messages -------------------------------------------------------------------------


def test_request_is_parsed_with_id_method_and_params() -> None:
    msg = parse_message(
        {"jsonrpc": "2.0", "id": 3, "method": "sampling/createMessage", "params": {"a": 1}}
    )
    assert isinstance(msg, Request)
    assert (msg.id, msg.method, msg.params) == (3, "sampling/createMessage", {"a": 1})


def test_request_with_string_id_is_parsed() -> None:
    msg = parse_message({"jsonrpc": "2.0", "id": "abc", "method": "ping"})
    assert isinstance(msg, Request)
    assert msg.id == "abc"


def test_request_without_params_has_params_none() -> None:
    msg = parse_message({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert isinstance(msg, Request)
    assert msg.params is None


def test_notification_is_a_method_without_id() -> None:
    msg = parse_message(
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
    )
    assert isinstance(msg, Notification)
    assert (msg.method, msg.params) == ("notifications/progress", {"progress": 1})


def test_notification_without_params_has_params_none() -> None:
    msg = parse_message({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    assert isinstance(msg, Notification)
    assert msg.params is None


def test_response_is_parsed_with_id_and_result() -> None:
    msg = parse_message({"jsonrpc": "2.0", "id": 7, "result": {"tools": []}})
    assert isinstance(msg, Response)
    assert (msg.id, msg.result) == (7, {"tools": []})


def test_response_with_empty_result_is_a_response() -> None:
    msg = parse_message({"jsonrpc": "2.0", "id": 1, "result": {}})
    assert isinstance(msg, Response)
    assert msg.result == {}


def test_response_with_null_result_is_a_response() -> None:
    msg = parse_message({"jsonrpc": "2.0", "id": 1, "result": None})
    assert isinstance(msg, Response)
    assert msg.result is None


def test_error_response_is_parsed_with_code_message_and_data() -> None:
    msg = parse_message(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "error": {"code": -32602, "message": "bad params", "data": {"x": 1}},
        }
    )
    assert isinstance(msg, ErrorResponse)
    assert (msg.id, msg.code, msg.message, msg.data) == (2, -32602, "bad params", {"x": 1})


def test_error_response_with_null_id_is_accepted() -> None:
    msg = parse_message(
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
    )
    assert isinstance(msg, ErrorResponse)
    assert msg.id is None
    assert msg.code == -32700


def test_error_response_without_data_has_data_none() -> None:
    msg = parse_message({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "m"}})
    assert isinstance(msg, ErrorResponse)
    assert msg.data is None


def test_error_response_without_string_message_gets_empty_message() -> None:
    msg = parse_message({"jsonrpc": "2.0", "id": 1, "error": {"code": -1}})
    assert isinstance(msg, ErrorResponse)
    assert msg.message == ""


# --- invalid messages -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [[], "text", 5, None, True])
def test_message_that_is_not_an_object_is_rejected(value: Any) -> None:
    with pytest.raises(ProtocolError, match="must be an object"):
        parse_message(value)


def test_message_missing_jsonrpc_is_rejected() -> None:
    with pytest.raises(ProtocolError, match=re.escape('lacks "jsonrpc": "2.0"')):
        parse_message({"id": 1, "result": {}})


@pytest.mark.parametrize("version", ["1.0", 2.0, None, "2"])
def test_message_with_wrong_jsonrpc_version_is_rejected(version: Any) -> None:
    with pytest.raises(ProtocolError, match="jsonrpc"):
        parse_message({"jsonrpc": version, "id": 1, "result": {}})


def test_response_with_both_result_and_error_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="exactly one of result and error"):
        parse_message(
            {"jsonrpc": "2.0", "id": 1, "result": {}, "error": {"code": 1, "message": "m"}}
        )


def test_response_with_neither_result_nor_error_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="exactly one of result and error"):
        parse_message({"jsonrpc": "2.0", "id": 1})


@pytest.mark.parametrize("bad_id", [True, False])
def test_request_with_bool_id_is_rejected(bad_id: bool) -> None:
    with pytest.raises(ProtocolError, match="invalid id"):
        parse_message({"jsonrpc": "2.0", "id": bad_id, "method": "ping"})


def test_response_with_bool_id_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="invalid id"):
        parse_message({"jsonrpc": "2.0", "id": True, "result": {}})


def test_error_response_with_bool_id_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="invalid id"):
        parse_message({"jsonrpc": "2.0", "id": False, "error": {"code": 1, "message": "m"}})


def test_request_with_null_id_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="request ping has an invalid id None"):
        parse_message({"jsonrpc": "2.0", "id": None, "method": "ping"})


@pytest.mark.parametrize("bad_id", [1.5, [1], {"a": 1}])
def test_request_with_non_string_non_integer_id_is_rejected(bad_id: Any) -> None:
    with pytest.raises(ProtocolError, match="invalid id"):
        parse_message({"jsonrpc": "2.0", "id": bad_id, "method": "ping"})


def test_successful_response_with_null_id_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="invalid id"):
        parse_message({"jsonrpc": "2.0", "id": None, "result": {}})


def test_successful_response_without_id_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="invalid id"):
        parse_message({"jsonrpc": "2.0", "result": {}})


@pytest.mark.parametrize("code", ["-32600", 1.5, True, None])
def test_error_with_non_integer_code_is_rejected(code: Any) -> None:
    with pytest.raises(ProtocolError, match="error code must be an integer"):
        parse_message({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": "m"}})


@pytest.mark.parametrize("error", ["boom", [1], 5])
def test_error_that_is_not_an_object_is_rejected(error: Any) -> None:
    with pytest.raises(ProtocolError, match="error must be an object"):
        parse_message({"jsonrpc": "2.0", "id": 1, "error": error})


@pytest.mark.parametrize("params", [[1, 2], "x", 3])
def test_request_params_that_are_not_an_object_are_rejected(params: Any) -> None:
    with pytest.raises(ProtocolError, match="params of tools/call must be an object"):
        parse_message({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})


def test_notification_params_that_are_not_an_object_are_rejected() -> None:
    with pytest.raises(ProtocolError, match="params of notifications/message must be an object"):
        parse_message({"jsonrpc": "2.0", "method": "notifications/message", "params": [1]})


@pytest.mark.parametrize("method", [5, ["ping"], True])
def test_method_that_is_not_a_string_is_rejected(method: Any) -> None:
    with pytest.raises(ProtocolError, match="method must be a string"):
        parse_message({"jsonrpc": "2.0", "id": 1, "method": method})


def test_protocol_error_carries_an_excerpt_of_the_offending_message() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"id": 1, "result": {"marker": "xyzzy"}})
    assert "xyzzy" in info.value.body_excerpt
    assert "xyzzy" in str(info.value)


# --- payloads -------------------------------------------------------------------------------


def test_payload_bytes_decode_to_one_message() -> None:
    [msg] = parse_payload(b'{"jsonrpc":"2.0","id":1,"result":{"ok":true}}')
    assert isinstance(msg, Response)
    assert msg.result == {"ok": True}


def test_payload_str_decodes_to_one_message() -> None:
    [msg] = parse_payload('{"jsonrpc":"2.0","method":"notifications/initialized"}')
    assert isinstance(msg, Notification)


def test_payload_with_non_ascii_utf8_is_decoded() -> None:
    [msg] = parse_payload('{"jsonrpc":"2.0","id":1,"result":{"t":"caf\u00e9 \U0001f600"}}'.encode())
    assert isinstance(msg, Response)
    assert msg.result == {"t": "caf\u00e9 \U0001f600"}


@pytest.mark.parametrize("body", [b"{not json", b"", b'{"jsonrpc":"2.0",', b"<html>502</html>"])
def test_malformed_json_raises_protocol_error_with_body_excerpt(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="malformed JSON") as info:
        parse_payload(body)
    assert info.value.body_excerpt == body.decode()


def test_malformed_json_excerpt_is_truncated() -> None:
    body = b"<html>" + b"x" * 1000
    with pytest.raises(ProtocolError) as info:
        parse_payload(body)
    assert info.value.body_excerpt.startswith("<html>xxx")
    assert info.value.body_excerpt.endswith("...")
    assert len(info.value.body_excerpt) < 300


def test_malformed_json_excerpt_escapes_newlines() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_payload(b"line one\nline two")
    assert "\n" not in info.value.body_excerpt
    assert "line one\\nline two" in info.value.body_excerpt


def test_payload_that_is_not_utf8_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="malformed JSON"):
        parse_payload(b'{"jsonrpc":"2.0","id":1,"result":"\xff"}')


def test_payload_with_a_valid_json_non_message_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="must be an object"):
        parse_payload(b'"just a string"')


def test_batch_is_rejected_without_allow_batch() -> None:
    with pytest.raises(ProtocolError, match="batch"):
        parse_payload(b'[{"jsonrpc":"2.0","id":1,"result":{}}]')


def test_batch_is_accepted_with_allow_batch_in_order() -> None:
    messages = parse_payload(
        b'[{"jsonrpc":"2.0","id":1,"result":{}},'
        b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}},'
        b'{"jsonrpc":"2.0","id":"s1","method":"ping"}]',
        allow_batch=True,
    )
    assert [type(m) for m in messages] == [Response, Notification, Request]


def test_empty_batch_is_rejected_even_with_allow_batch() -> None:
    with pytest.raises(ProtocolError, match="empty"):
        parse_payload(b"[]", allow_batch=True)


def test_batch_with_an_invalid_member_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="must be an object"):
        parse_payload(b'[{"jsonrpc":"2.0","id":1,"result":{}}, 5]', allow_batch=True)


def test_single_message_is_accepted_with_allow_batch() -> None:
    [msg] = parse_payload(b'{"jsonrpc":"2.0","id":1,"result":{}}', allow_batch=True)
    assert isinstance(msg, Response)


# --- building and encoding ------------------------------------------------------------------


def test_request_builder_omits_absent_params() -> None:
    assert jsonrpc.request(1, "ping") == {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def test_request_builder_includes_params() -> None:
    assert jsonrpc.request(2, "tools/call", {"name": "x"}) == {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "x"},
    }


def test_notification_builder_has_no_id() -> None:
    assert jsonrpc.notification("notifications/initialized") == {
        "jsonrpc": "2.0",
        "method": "notifications/initialized",
    }


def test_error_response_builder_omits_absent_data() -> None:
    assert jsonrpc.error_response(5, -32601, "no such method") == {
        "jsonrpc": "2.0",
        "id": 5,
        "error": {"code": -32601, "message": "no such method"},
    }


def test_built_messages_parse_back_to_their_kind() -> None:
    assert isinstance(parse_message(jsonrpc.request(1, "ping")), Request)
    assert isinstance(parse_message(jsonrpc.notification("n")), Notification)
    assert isinstance(parse_message(jsonrpc.response(1, {})), Response)
    assert isinstance(
        parse_message(jsonrpc.error_response(None, -32700, "x", {"d": 1})), ErrorResponse
    )


def test_encode_is_compact_json() -> None:
    assert encode({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"a": [1, 2]}}) == (
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":[1,2]}}'
    )


def test_encode_returns_utf8_bytes_keeping_non_ascii_characters() -> None:
    data = encode({"text": "caf\u00e9 \u65e5\u672c \U0001f600"})
    assert isinstance(data, bytes)
    assert "caf\u00e9 \u65e5\u672c \U0001f600".encode() in data
    assert b"\\u" not in data


def test_encode_is_a_single_line_even_when_a_string_contains_newlines() -> None:
    data = encode({"text": "line one\nline two\r\nline three\r"})
    assert b"\n" not in data
    assert b"\r" not in data
    assert json.loads(data) == {"text": "line one\nline two\r\nline three\r"}


def test_encode_of_a_batch_is_a_json_array() -> None:
    assert encode([jsonrpc.notification("a"), jsonrpc.notification("b")]) == (
        b'[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]'
    )


def test_encoded_message_parses_back_to_the_same_message() -> None:
    original = jsonrpc.request(9, "tools/call", {"name": "echo", "arguments": {"s": "\u00e9\n"}})
    [msg] = parse_payload(encode(original))
    assert isinstance(msg, Request)
    assert (msg.id, msg.method, msg.params) == (9, "tools/call", original["params"])
