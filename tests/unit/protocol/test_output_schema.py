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


# A schema with a keyword mcp_sync leaves to jsonschema.
PATTERNED = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}}


def test_a_jsonschema_validator_is_built_once_per_schema(monkeypatch):
    import jsonschema

    from mcp_sync import schema as schema_module

    built = []
    real = jsonschema.validators.validator_for

    def counting(schema, default=None):
        if schema.keys() == {"$schema"}:  # how mcp_sync asks; jsonschema asks too, per subschema
            built.append(schema)
        return real(schema, default=default)

    monkeypatch.setattr(jsonschema.validators, "validator_for", counting)
    monkeypatch.setattr(schema_module, "_checkers", {})
    own = dict(PATTERNED)

    for _ in range(5):
        assert validate_structured_content("t", own, {"code": "AB"}) is True
    with pytest.raises(OutputSchemaError) as info:
        validate_structured_content("t", own, {"code": "ab"})

    assert info.value.path == "/code"
    assert len(built) == 1


def test_common_schemas_are_checked_without_jsonschema(monkeypatch):
    import sys

    from mcp_sync import schema as schema_module

    monkeypatch.setattr(schema_module, "_checkers", {})
    monkeypatch.setitem(sys.modules, "jsonschema", None)

    assert validate_structured_content("add", SUM, {"result": 3}) is True
    with pytest.raises(OutputSchemaError) as info:
        validate_structured_content("add", SUM, {"result": "three"})
    assert info.value.path == "/result"
    assert "is not of type 'integer'" in info.value.reason


def test_other_schemas_are_returned_unchecked_without_jsonschema_and_it_is_not_searched_again(
    monkeypatch,
):
    import builtins
    import sys

    from mcp_sync import schema as schema_module

    monkeypatch.setattr(schema_module, "_checkers", {})
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    searches = []
    real_import = builtins.__import__

    def counting_import(name, *args, **kwargs):
        if name == "jsonschema":
            searches.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", counting_import)

    for _ in range(3):
        assert validate_structured_content("t", PATTERNED, {"code": "not checked"}) is None

    assert searches == ["jsonschema"]


def test_an_equal_but_new_schema_gets_its_own_checker():
    first = {"type": "object", "required": ["a"]}
    second = {"type": "object", "required": ["b"]}

    assert validate_structured_content("t", first, {"a": 1}) is True
    with pytest.raises(OutputSchemaError):
        validate_structured_content("t", second, {"a": 1})


def test_a_common_schema_never_imports_jsonschema(monkeypatch):
    import builtins

    from mcp_sync import schema as schema_module

    monkeypatch.setattr(schema_module, "_checkers", {})
    imported = []
    real_import = builtins.__import__

    def watching_import(name, *args, **kwargs):
        if name.startswith(("jsonschema", "referencing")):
            imported.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", watching_import)
    assert validate_structured_content("add", dict(SUM), {"result": 1}) is True

    assert imported == []


def test_a_long_value_is_shortened_in_the_reason():
    with pytest.raises(OutputSchemaError) as info:
        validate_structured_content("t", {"type": "integer"}, "x" * 100_000)

    assert len(info.value.reason) < 200


def test_a_schema_whose_dialect_is_not_a_string_is_not_checked(caplog):
    schema = {"$schema": ["not", "a", "string"], "type": "string"}
    assert validate_structured_content("t", schema, 3) is None
    assert "unsupported JSON Schema dialect" in caplog.text
