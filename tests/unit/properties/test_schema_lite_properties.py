"""mcp_sync's own schema checker agrees with jsonschema on every schema it accepts."""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import event, given, settings
from hypothesis import strategies as st

from mcp_sync._schema_lite import compile_schema


def examples(n: int) -> int:
    """``n`` examples under the default profile, scaled by the loaded one (see conftest.py)."""
    return max(1, n * settings().max_examples // 100)


NAMES = st.sampled_from(["a", "b", "c", "result"])
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([0.0, 1.0, 2.5, -1.5, 3.0]),
    st.sampled_from(["", "x", "ab", "hello"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NAMES, inner, max_size=4)),
    max_leaves=12,
)
TYPES = st.sampled_from(["null", "boolean", "object", "array", "number", "integer", "string"])
COUNTS = st.integers(0, 4)
BOUNDS = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -1.5, 2.0]))


def _keywords(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(TYPES, st.lists(TYPES, min_size=1, max_size=3, unique=True)),
            "enum": st.lists(json_scalars, max_size=3),
            "const": json_values,
            "properties": st.dictionaries(NAMES, inner, max_size=3),
            "required": st.lists(NAMES, max_size=3, unique=True),
            "additionalProperties": inner,
            "items": inner,
            "minItems": COUNTS,
            "maxItems": COUNTS,
            "minLength": COUNTS,
            "maxLength": COUNTS,
            "minProperties": COUNTS,
            "maxProperties": COUNTS,
            "minimum": BOUNDS,
            "maximum": BOUNDS,
            "exclusiveMinimum": BOUNDS,
            "exclusiveMaximum": BOUNDS,
            "anyOf": st.lists(inner, min_size=1, max_size=2),
            "allOf": st.lists(inner, min_size=1, max_size=2),
            "oneOf": st.lists(inner, min_size=1, max_size=2),
            "not": inner,
            "title": st.just("annotation"),
            "format": st.sampled_from(["email", "date-time"]),
        },
    )


schemas = st.recursive(st.booleans() | st.just({}), _keywords, max_leaves=6)
DIALECTS = {
    "2020-12": jsonschema.Draft202012Validator,
    "draft-07": jsonschema.Draft7Validator,
}


@given(schema=schemas, instance=json_values, dialect=st.sampled_from(sorted(DIALECTS)))
@settings(max_examples=examples(600))
def test_the_own_checker_and_jsonschema_agree_on_validity(schema, instance, dialect):
    if not isinstance(schema, dict):
        schema = {"allOf": [schema]}
    check = compile_schema(schema)
    assert check is not None  # every keyword generated here is one mcp_sync handles
    expected = DIALECTS[dialect](schema).is_valid(instance)
    event(f"valid: {expected}")

    failure = check(instance)

    assert (failure is None) == expected, failure and failure.reason


@given(schema=schemas, instance=json_values)
@settings(max_examples=examples(200))
def test_a_failure_path_points_into_the_instance(schema, instance):
    check = compile_schema({"allOf": [schema]})
    assert check is not None
    failure = check(instance)
    if failure is None:
        return
    node = instance
    for part in filter(None, failure.path.split("/")):
        node = node[int(part)] if isinstance(node, list) else node[part]
