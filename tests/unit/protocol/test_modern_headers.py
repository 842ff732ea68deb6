"""Mcp-Name and Mcp-Param-* headers: value encoding, x-mcp-header schemas, extraction."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_sync.errors import MCPSyncError
from mcp_sync.headers import (
    InvalidToolHeader,
    decode_header_value,
    encode_header_value,
    extract_param_headers,
    mcp_name,
    param_header_value,
    tool_param_headers,
)


def _tool_schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def _string(header: str) -> dict[str, Any]:
    return {"type": "string", "x-mcp-header": header}


# --- value encoding ---------------------------------------------------------------------------


def test_plain_ascii_value_is_unchanged() -> None:
    assert encode_header_value("us-west1") == "us-west1"


def test_non_ascii_value_is_base64_encoded() -> None:
    assert encode_header_value("Hello, 世界") == "=?base64?SGVsbG8sIOS4lueVjA==?="


def test_value_with_leading_space_is_encoded() -> None:
    assert encode_header_value(" us-west1") == "=?base64?IHVzLXdlc3Qx?="


def test_value_with_trailing_space_is_encoded() -> None:
    assert encode_header_value("us-west1 ") == "=?base64?dXMtd2VzdDEg?="


def test_value_with_leading_and_trailing_spaces_is_encoded() -> None:
    assert encode_header_value(" padded ") == "=?base64?IHBhZGRlZCA=?="


def test_value_with_leading_tab_is_encoded() -> None:
    assert encode_header_value("\tindented") == "=?base64?CWluZGVudGVk?="


def test_value_with_tab_inside_is_encoded_as_a_control_character() -> None:
    assert encode_header_value("a\tb") == "=?base64?YQli?="


def test_value_with_internal_spaces_is_unchanged() -> None:
    assert encode_header_value("us west 1") == "us west 1"


def test_value_with_newline_is_encoded() -> None:
    assert encode_header_value("line1\nline2") == "=?base64?bGluZTEKbGluZTI=?="


def test_value_with_crlf_is_encoded() -> None:
    assert encode_header_value("line1\r\nline2") == "=?base64?bGluZTENCmxpbmUy?="


def test_value_with_delete_character_is_encoded() -> None:
    assert encode_header_value("a\x7fb") == "=?base64?YX9i?="


def test_value_that_looks_like_the_sentinel_is_encoded() -> None:
    assert encode_header_value("=?base64?literal?=") == "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="


def test_value_with_only_the_sentinel_prefix_is_unchanged() -> None:
    assert encode_header_value("=?base64?SGVsbG8=") == "=?base64?SGVsbG8="


def test_value_with_uppercase_sentinel_is_unchanged() -> None:
    assert encode_header_value("=?BASE64?SGVsbG8=?=") == "=?BASE64?SGVsbG8=?="


def test_empty_value_is_sent_empty() -> None:
    assert encode_header_value("") == ""


@pytest.mark.parametrize(
    "text",
    [
        "",
        "us-west1",
        " ",
        "\t",
        " padded ",
        "Hello, 世界",
        "日本語",
        "line1\r\nline2",
        "\x00",
        "=?base64?literal?=",
        "=?base64??=",
        "=?base64?=",
        "?=",
        "emoji 🎉",
        "\u2028",
    ],
)
def test_decode_reverses_encode(text: str) -> None:
    assert decode_header_value(encode_header_value(text)) == text


def test_decode_reads_a_valid_base64_value() -> None:
    assert decode_header_value("=?base64?SGVsbG8=?=") == "Hello"


def test_decode_returns_a_plain_value_unchanged() -> None:
    assert decode_header_value("SGVsbG8=") == "SGVsbG8="


def test_decode_treats_an_uppercase_prefix_as_a_literal() -> None:
    assert decode_header_value("=?BASE64?SGVsbG8=?=") == "=?BASE64?SGVsbG8=?="


@pytest.mark.parametrize(
    "value", ["=?base64?SGVsbG8?=", "=?base64?SGVs!!!bG8=?=", "=?base64?SGVs bG8=?="]
)
def test_decode_rejects_bad_base64(value: str) -> None:
    with pytest.raises(ValueError):
        decode_header_value(value)


def test_decode_rejects_base64_that_is_not_utf8() -> None:
    with pytest.raises(ValueError):
        decode_header_value("=?base64?/w==?=")


def test_decode_rejects_a_plain_value_with_a_newline() -> None:
    with pytest.raises(ValueError):
        decode_header_value("a\nb")


# --- parameter values -------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(True, "true"), (False, "false")])
def test_booleans_are_lowercase_words(value: bool, expected: str) -> None:
    assert param_header_value(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(42, "42"), (-7, "-7"), (0, "0")])
def test_integers_are_decimal(value: int, expected: str) -> None:
    assert param_header_value(value) == expected


def test_string_parameter_is_encoded() -> None:
    assert param_header_value(" padded ") == "=?base64?IHBhZGRlZCA=?="


def test_none_parameter_gives_no_header() -> None:
    assert param_header_value(None) is None


@pytest.mark.parametrize("value", [3.14159, 42.0, [1], {"a": 1}])
def test_non_primitive_parameter_raises_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        param_header_value(value)


@pytest.mark.parametrize("value", [2**53 - 1, -(2**53) + 1])
def test_integer_at_the_safe_limit_is_accepted(value: int) -> None:
    assert param_header_value(value) == str(value)


@pytest.mark.parametrize("value", [2**53, -(2**53)])
def test_integer_outside_the_safe_range_raises_value_error(value: int) -> None:
    with pytest.raises(ValueError):
        param_header_value(value)


# --- x-mcp-header schemas ---------------------------------------------------------------------


def test_spec_example_schema_gives_the_region_header() -> None:
    schema = _tool_schema(
        region={"type": "string", "description": "The region", "x-mcp-header": "Region"},
        query={"type": "string"},
    )
    assert tool_param_headers(schema) == [(("region",), "Mcp-Param-Region")]


def test_schema_without_annotations_gives_no_headers() -> None:
    assert tool_param_headers(_tool_schema(query={"type": "string"})) == []


def test_non_object_schema_gives_no_headers() -> None:
    assert tool_param_headers(None) == []


def test_integer_and_boolean_properties_may_be_annotated() -> None:
    schema = _tool_schema(
        count={"type": "integer", "x-mcp-header": "Count"},
        flag={"type": "boolean", "x-mcp-header": "Flag"},
    )
    assert tool_param_headers(schema) == [
        (("count",), "Mcp-Param-Count"),
        (("flag",), "Mcp-Param-Flag"),
    ]


def test_nested_property_reached_through_properties_is_valid() -> None:
    schema = _tool_schema(
        target={
            "type": "object",
            "properties": {"location": {"type": "object", "properties": {"region": _string("R")}}},
        }
    )
    assert tool_param_headers(schema) == [(("target", "location", "region"), "Mcp-Param-R")]


def test_annotation_named_like_a_standard_header_is_allowed() -> None:
    assert tool_param_headers(_tool_schema(m=_string("Method"))) == [(("m",), "Mcp-Param-Method")]


def test_annotation_with_every_token_punctuation_is_allowed() -> None:
    name = "!#$%&'*+-.^_`|~aZ9"
    assert tool_param_headers(_tool_schema(p=_string(name))) == [(("p",), "Mcp-Param-" + name)]


def test_property_named_x_mcp_header_is_not_an_annotation() -> None:
    schema = {"$defs": {"d": {"properties": {"x-mcp-header": {"type": "string"}}}}}
    assert tool_param_headers(schema) == []


def test_annotation_like_key_in_a_default_value_is_ignored() -> None:
    schema = _tool_schema(
        opts={"type": "object", "default": {"x-mcp-header": "X"}, "properties": {}}
    )
    assert tool_param_headers(schema) == []


INVALID_SCHEMAS: dict[str, dict[str, Any]] = {
    "empty_name": _tool_schema(a=_string("")),
    "space_in_name": _tool_schema(a=_string("My Region")),
    "colon_in_name": _tool_schema(a=_string("Region:Primary")),
    "non_ascii_name": _tool_schema(a=_string("Région")),
    "control_character_in_name": _tool_schema(a=_string("Region\t1")),
    "newline_in_name": _tool_schema(a=_string("Region\r\n")),
    "name_not_a_string": _tool_schema(a={"type": "string", "x-mcp-header": 1}),
    "duplicate_same_case": _tool_schema(a=_string("Region"), b=_string("Region")),
    "duplicate_different_case": _tool_schema(a=_string("Region"), b=_string("REGION")),
    "duplicate_across_nesting": _tool_schema(
        a=_string("Region"), o={"type": "object", "properties": {"b": _string("region")}}
    ),
    "type_number": _tool_schema(a={"type": "number", "x-mcp-header": "A"}),
    "type_object": _tool_schema(a={"type": "object", "x-mcp-header": "A"}),
    "type_array": _tool_schema(a={"type": "array", "x-mcp-header": "A"}),
    "type_null": _tool_schema(a={"type": "null", "x-mcp-header": "A"}),
    "type_list": _tool_schema(a={"type": ["string", "null"], "x-mcp-header": "A"}),
    "missing_type": _tool_schema(a={"x-mcp-header": "A"}),
    "on_the_root": {"type": "string", "x-mcp-header": "A"},
    "under_items": _tool_schema(a={"type": "array", "items": _string("A")}),
    "under_items_properties": _tool_schema(
        a={"type": "array", "items": {"type": "object", "properties": {"b": _string("A")}}}
    ),
    "under_prefix_items": _tool_schema(a={"type": "array", "prefixItems": [_string("A")]}),
    "under_any_of": _tool_schema(a={"anyOf": [_string("A"), {"type": "integer"}]}),
    "under_one_of": _tool_schema(a={"oneOf": [_string("A")]}),
    "under_all_of": {"type": "object", "allOf": [_tool_schema(a=_string("A"))]},
    "under_not": _tool_schema(a={"type": "string", "not": _string("A")}),
    "under_if_then_else": _tool_schema(a={"if": {}, "then": _string("A"), "else": {}}),
    "under_defs": {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {"A": _string("A")},
    },
    "under_additional_properties": {"type": "object", "additionalProperties": _string("A")},
    "under_pattern_properties": {"type": "object", "patternProperties": {"^a": _string("A")}},
}


@pytest.mark.parametrize("case", sorted(INVALID_SCHEMAS))
def test_invalid_annotation_rejects_the_tool(case: str) -> None:
    with pytest.raises(InvalidToolHeader) as info:
        tool_param_headers(INVALID_SCHEMAS[case])
    assert info.value.reason


def test_invalid_tool_header_is_a_value_error_and_an_mcp_sync_error() -> None:
    with pytest.raises(ValueError) as info:
        tool_param_headers(_tool_schema(a=_string("")))
    assert isinstance(info.value, MCPSyncError)


def test_rejection_reason_names_the_property_path() -> None:
    schema = _tool_schema(o={"type": "object", "properties": {"b": _string("A B")}})
    with pytest.raises(InvalidToolHeader) as info:
        tool_param_headers(schema)
    assert "o/b" in info.value.reason


# --- extracting headers from arguments --------------------------------------------------------

MAPPING = [
    (("region",), "Mcp-Param-Region"),
    (("count",), "Mcp-Param-Count"),
    (("target", "zone"), "Mcp-Param-Zone"),
]


def test_extract_gives_every_present_value() -> None:
    arguments = {"region": "us-west1", "count": 3, "target": {"zone": "b"}, "query": "x"}
    assert extract_param_headers(arguments, MAPPING) == {
        "Mcp-Param-Region": "us-west1",
        "Mcp-Param-Count": "3",
        "Mcp-Param-Zone": "b",
    }


def test_extract_omits_missing_values() -> None:
    assert extract_param_headers({"count": 1}, MAPPING) == {"Mcp-Param-Count": "1"}


def test_extract_omits_null_values() -> None:
    arguments = {"region": None, "count": 1, "target": {"zone": None}}
    assert extract_param_headers(arguments, MAPPING) == {"Mcp-Param-Count": "1"}


def test_extract_omits_a_nested_value_whose_parent_is_missing_or_null() -> None:
    assert extract_param_headers({"target": None}, MAPPING) == {}


def test_extract_follows_nested_paths() -> None:
    assert extract_param_headers({"target": {"zone": "é"}}, MAPPING) == {
        "Mcp-Param-Zone": "=?base64?w6k=?="
    }


def test_extract_with_no_arguments_gives_no_headers() -> None:
    assert extract_param_headers(None, MAPPING) == {}


def test_extract_encodes_values() -> None:
    assert extract_param_headers({"region": " padded "}, MAPPING) == {
        "Mcp-Param-Region": "=?base64?IHBhZGRlZCA=?="
    }


def test_extract_raises_type_error_naming_the_parameter_for_a_float() -> None:
    with pytest.raises(TypeError, match="count") as info:
        extract_param_headers({"count": 1.5}, MAPPING)
    assert "Mcp-Param-Count" in str(info.value)


def test_extract_raises_value_error_naming_the_parameter_for_an_unsafe_integer() -> None:
    with pytest.raises(ValueError, match="Mcp-Param-Count"):
        extract_param_headers({"count": 2**60}, MAPPING)


def test_extract_works_on_what_tool_param_headers_returns() -> None:
    schema = _tool_schema(
        region=_string("Region"), dry={"type": "boolean", "x-mcp-header": "Dry-Run"}
    )
    headers = extract_param_headers({"region": "eu", "dry": False}, tool_param_headers(schema))
    assert headers == {"Mcp-Param-Region": "eu", "Mcp-Param-Dry-Run": "false"}


# --- Mcp-Name ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("tools/call", {"name": "get_weather", "arguments": {}}, "get_weather"),
        ("prompts/get", {"name": "code_review"}, "code_review"),
        ("resources/read", {"uri": "file:///a/b.json"}, "file:///a/b.json"),
        ("tasks/get", {"taskId": "t-1"}, "t-1"),
        ("tasks/update", {"taskId": "t-2"}, "t-2"),
        ("tasks/cancel", {"taskId": "t-3"}, "t-3"),
    ],
)
def test_mcp_name_mirrors_the_named_field(
    method: str, params: dict[str, Any], expected: str
) -> None:
    assert mcp_name(method, params) == expected


@pytest.mark.parametrize(
    "method", ["tools/list", "initialize", "ping", "resources/subscribe", "completion/complete"]
)
def test_mcp_name_is_none_for_unrelated_methods(method: str) -> None:
    assert mcp_name(method, {"name": "x", "uri": "y", "taskId": "z"}) is None


def test_mcp_name_is_none_when_the_field_is_missing() -> None:
    assert mcp_name("tools/call", {"uri": "file:///x"}) is None


def test_mcp_name_is_none_when_the_field_is_not_a_string() -> None:
    assert mcp_name("tasks/get", {"taskId": 7}) is None


def test_mcp_name_is_encoded() -> None:
    assert (
        mcp_name("resources/read", {"uri": "file:///日本語"})
        == "=?base64?ZmlsZTovLy/ml6XmnKzoqp4=?="
    )
