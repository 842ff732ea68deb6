"""Checking structured tool results against their outputSchema (the jsonschema extra)."""

from __future__ import annotations

import pytest

from mcp_sync import OutputSchemaError, ProtocolError
from mcp_sync.schema import validate_structured_content

SUM = {
    "type": "object",
    "properties": {"result": {"type": "integer"}},
    "required": ["result"],
}


def test_matching_content_passes():
    assert validate_structured_content("add", SUM, {"result": 3}) is True


def test_mismatch_raises_output_schema_error_naming_tool_and_path():
    with pytest.raises(OutputSchemaError) as info:
        validate_structured_content("add", SUM, {"result": "three"})
    assert info.value.tool == "add"
    assert info.value.path == "/result"
    assert isinstance(info.value, ProtocolError)


def test_missing_required_field_is_a_mismatch():
    with pytest.raises(OutputSchemaError):
        validate_structured_content("add", SUM, {})


def test_schema_without_dialect_is_read_as_2020_12():
    schema = {"prefixItems": [{"type": "integer"}], "items": False}
    with pytest.raises(OutputSchemaError):
        validate_structured_content("pair", schema, [1, 2])


def test_local_refs_are_followed():
    schema = {
        "$defs": {"n": {"type": "integer"}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/n"}},
    }
    with pytest.raises(OutputSchemaError):
        validate_structured_content("t", schema, {"a": "x"})


def test_network_ref_is_never_fetched_and_skips_the_check(caplog):
    schema = {"$ref": "http://127.0.0.1:9/never-fetched.json"}
    assert validate_structured_content("t", schema, {"a": 1}) is None
    assert "refers outside itself" in caplog.text


def test_unknown_dialect_skips_the_check_with_a_warning(caplog):
    schema = {"$schema": "https://example.com/my-dialect", "type": "string"}
    assert validate_structured_content("t", schema, 3) is None
    assert "unsupported JSON Schema dialect" in caplog.text


def test_draft_7_schemas_are_checked_as_draft_7():
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "integer"}]}
    with pytest.raises(OutputSchemaError):
        validate_structured_content("t", schema, ["x"])
