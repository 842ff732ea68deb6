"""Wire types: decoding from, and encoding back to, the camelCase wire form."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mcp_sync import (
    AudioContent,
    CallToolResult,
    CompleteResult,
    CreateMessageResult,
    EmbeddedResource,
    GetPromptResult,
    ImageContent,
    InitializeResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    ReadResourceResult,
    ResourceContents,
    ResourceLink,
    TextContent,
    Tool,
    UnknownContent,
)
from mcp_sync.types import content_block_from_dict

# --- unknown fields -------------------------------------------------------------------------


def test_unknown_fields_are_kept_in_extra() -> None:
    tool = Tool.from_dict({"name": "t", "inputSchema": {"type": "object"}, "x-vendor": {"a": 1}})
    assert tool.extra == {"x-vendor": {"a": 1}}


def test_known_fields_are_not_copied_into_extra() -> None:
    tool = Tool.from_dict({"name": "t", "inputSchema": {}, "description": "d"})
    assert tool.extra == {}


def test_to_dict_round_trips_unknown_fields() -> None:
    wire = {"name": "t", "inputSchema": {"type": "object"}, "x-vendor": [1, 2], "future": None}
    assert Tool.from_dict(wire).to_dict() == wire


def test_nested_unknown_fields_round_trip() -> None:
    wire = {
        "tools": [{"name": "a", "inputSchema": {}, "newField": 1}],
        "nextCursor": "c2",
        "pageInfo": {"n": 1},
    }
    assert ListToolsResult.from_dict(wire).to_dict() == wire


def test_unknown_fields_of_content_blocks_round_trip() -> None:
    wire = {
        "content": [{"type": "text", "text": "hi", "lang": "en"}],
        "isError": False,
        "trace": "t",
    }
    assert CallToolResult.from_dict(wire).to_dict() == wire


def test_to_dict_leaves_out_unset_optional_fields() -> None:
    assert Tool(name="t").to_dict() == {"name": "t", "inputSchema": {}}


# --- camelCase and snake_case ---------------------------------------------------------------


def test_input_and_output_schema_map_to_snake_case() -> None:
    tool = Tool.from_dict(
        {"name": "t", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"}}
    )
    assert tool.input_schema == {"type": "object"}
    assert tool.output_schema == {"type": "object"}


def test_structured_content_and_is_error_map_to_snake_case() -> None:
    result = CallToolResult.from_dict(
        {"content": [], "structuredContent": {"n": 1}, "isError": True}
    )
    assert result.structured_content == {"n": 1}
    assert result.is_error is True


def test_is_error_defaults_to_false() -> None:
    assert CallToolResult.from_dict({"content": []}).is_error is False


def test_next_cursor_maps_to_snake_case() -> None:
    assert ListResourcesResult.from_dict({"resources": [], "nextCursor": "p2"}).next_cursor == "p2"


def test_mime_type_maps_to_snake_case() -> None:
    contents = ResourceContents.from_dict(
        {"uri": "file:///a", "mimeType": "text/plain", "text": "x"}
    )
    assert contents.mime_type == "text/plain"


def test_underscore_meta_maps_to_meta() -> None:
    result = CallToolResult.from_dict({"content": [], "_meta": {"k": "v"}})
    assert result.meta == {"k": "v"}
    assert "_meta" not in result.extra


def test_meta_is_written_back_as_underscore_meta() -> None:
    wire = CallToolResult(content=[], meta={"k": "v"}).to_dict()
    assert wire["_meta"] == {"k": "v"}
    assert "meta" not in wire


def test_to_dict_writes_camel_case_keys() -> None:
    result = CallToolResult(
        content=[TextContent(text="x")], structured_content={"a": 1}, is_error=True
    )
    assert result.to_dict() == {
        "content": [{"type": "text", "text": "x"}],
        "structuredContent": {"a": 1},
        "isError": True,
    }


def test_uri_template_maps_to_snake_case() -> None:
    result = ListResourceTemplatesResult.from_dict(
        {"resourceTemplates": [{"uriTemplate": "file:///{path}", "name": "f"}]}
    )
    assert result.resource_templates[0].uri_template == "file:///{path}"


def test_initialize_result_decodes_nested_types() -> None:
    result = InitializeResult.from_dict(
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {"listChanged": True}, "tasks": {}},
            "serverInfo": {"name": "srv", "version": "1.0", "title": "Server"},
            "instructions": "be nice",
        }
    )
    assert result.protocol_version == "2025-06-18"
    assert result.capabilities.tools == {"listChanged": True}
    assert result.capabilities.prompts is None
    assert result.capabilities.extra == {"tasks": {}}
    assert (result.server_info.name, result.server_info.title) == ("srv", "Server")


def test_completion_has_more_maps_to_snake_case() -> None:
    result = CompleteResult.from_dict(
        {"completion": {"values": ["a", "b"], "total": 2, "hasMore": False}}
    )
    assert result.values == ["a", "b"]
    assert result.completion.has_more is False


# --- content blocks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "cls"),
    [
        ({"type": "text", "text": "hi"}, TextContent),
        ({"type": "image", "data": "AA==", "mimeType": "image/png"}, ImageContent),
        ({"type": "audio", "data": "AA==", "mimeType": "audio/wav"}, AudioContent),
        ({"type": "resource_link", "uri": "file:///a", "name": "a"}, ResourceLink),
        ({"type": "resource", "resource": {"uri": "file:///a", "text": "x"}}, EmbeddedResource),
    ],
)
def test_content_block_is_decoded_by_its_type(wire: dict[str, Any], cls: type) -> None:
    block = content_block_from_dict(wire)
    assert type(block) is cls
    assert block.to_dict() == wire


def test_content_block_of_unknown_type_is_unknown_content_keeping_its_fields() -> None:
    wire = {"type": "video", "url": "https://example.com/v.mp4", "duration": 3}
    block = content_block_from_dict(wire)
    assert isinstance(block, UnknownContent)
    assert block.type == "video"
    assert block.extra == {"url": "https://example.com/v.mp4", "duration": 3}
    assert block.to_dict() == wire


def test_content_block_without_type_is_rejected() -> None:
    with pytest.raises(ValueError):
        content_block_from_dict({"text": "no type"})


def test_content_block_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(TypeError):
        content_block_from_dict(["text"])


def test_content_block_keeps_annotations_and_meta() -> None:
    block = content_block_from_dict(
        {"type": "text", "text": "x", "annotations": {"audience": ["user"]}, "_meta": {"m": 1}}
    )
    assert block.annotations == {"audience": ["user"]}
    assert block.meta == {"m": 1}


def test_embedded_resource_decodes_its_resource_contents() -> None:
    block = content_block_from_dict(
        {"type": "resource", "resource": {"uri": "file:///a", "blob": "AQI="}}
    )
    assert isinstance(block, EmbeddedResource)
    assert isinstance(block.resource, ResourceContents)
    assert block.resource.raw == b"\x01\x02"


def test_call_tool_result_decodes_each_content_block() -> None:
    result = CallToolResult.from_dict(
        {
            "content": [
                {"type": "text", "text": "a"},
                {"type": "image", "data": "", "mimeType": "image/png"},
            ]
        }
    )
    assert [type(b) for b in result.content] == [TextContent, ImageContent]


def test_call_tool_result_text_joins_only_text_blocks() -> None:
    result = CallToolResult.from_dict(
        {
            "content": [
                {"type": "text", "text": "first"},
                {"type": "image", "data": "AA==", "mimeType": "image/png"},
                {"type": "future", "text": "not a text block"},
                {"type": "text", "text": "second"},
            ]
        }
    )
    assert result.text == "first\nsecond"


def test_call_tool_result_text_is_empty_without_text_blocks() -> None:
    assert CallToolResult.from_dict({"content": []}).text == ""


def test_image_content_raw_decodes_base64() -> None:
    payload = bytes(range(256))
    image = ImageContent.from_dict(
        {"type": "image", "data": base64.b64encode(payload).decode(), "mimeType": "image/png"}
    )
    assert image.raw == payload
    assert image.mime_type == "image/png"


def test_audio_content_raw_decodes_base64() -> None:
    audio = AudioContent.from_dict({"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"})
    assert audio.raw == b"RIFF"


def test_resource_contents_raw_of_text_is_utf8() -> None:
    contents = ResourceContents.from_dict({"uri": "file:///a", "text": "caf\u00e9"})
    assert contents.raw == "caf\u00e9".encode()


def test_resource_contents_raw_of_blob_is_decoded_base64() -> None:
    contents = ResourceContents.from_dict(
        {"uri": "file:///a", "blob": base64.b64encode(b"\x00\xff").decode()}
    )
    assert contents.raw == b"\x00\xff"


def test_read_resource_result_text_joins_text_contents() -> None:
    result = ReadResourceResult.from_dict(
        {
            "contents": [
                {"uri": "file:///a", "text": "one"},
                {"uri": "file:///b", "blob": "AA=="},
                {"uri": "file:///c", "text": "two"},
            ]
        }
    )
    assert result.text == "one\ntwo"


# --- display names --------------------------------------------------------------------------


def test_tool_display_name_prefers_title() -> None:
    tool = Tool.from_dict({"name": "n", "title": "Title", "annotations": {"title": "Annotated"}})
    assert tool.display_name == "Title"


def test_tool_display_name_falls_back_to_annotations_title() -> None:
    tool = Tool.from_dict({"name": "n", "annotations": {"title": "Annotated"}})
    assert tool.display_name == "Annotated"


def test_tool_display_name_falls_back_to_name() -> None:
    assert Tool.from_dict({"name": "n"}).display_name == "n"


def test_tool_display_name_ignores_non_string_annotations_title() -> None:
    assert Tool.from_dict({"name": "n", "annotations": {"title": 5}}).display_name == "n"


# --- wrong shapes ---------------------------------------------------------------------------


def test_missing_required_field_raises_value_error() -> None:
    with pytest.raises(ValueError, match="Tool"):
        Tool.from_dict({"inputSchema": {}})


def test_missing_required_nested_field_raises_value_error() -> None:
    with pytest.raises(ValueError):
        ListToolsResult.from_dict({"tools": [{"description": "no name"}]})


def test_missing_required_field_of_resource_contents_raises_value_error() -> None:
    with pytest.raises(ValueError):
        ResourceContents.from_dict({"text": "no uri"})


@pytest.mark.parametrize("data", [[], "tool", 3, None])
def test_non_object_raises_type_error(data: Any) -> None:
    with pytest.raises(TypeError, match="must be a JSON object"):
        Tool.from_dict(data)


def test_object_where_array_expected_raises_type_error() -> None:
    with pytest.raises(TypeError, match="expected an array"):
        ListToolsResult.from_dict({"tools": {"name": "t"}})


def test_list_where_object_expected_raises_type_error_or_value_error() -> None:
    with pytest.raises((TypeError, ValueError)):
        InitializeResult.from_dict(
            {
                "protocolVersion": "2025-06-18",
                "capabilities": [],
                "serverInfo": {"name": "s", "version": "1"},
            }
        )


def test_array_member_of_wrong_shape_raises_type_error() -> None:
    with pytest.raises(TypeError):
        ListPromptsResult.from_dict({"prompts": ["not an object"]})


def test_content_of_wrong_shape_raises_type_error() -> None:
    with pytest.raises(TypeError):
        CallToolResult.from_dict({"content": ["text"]})


def test_null_optional_field_is_none() -> None:
    result = ListToolsResult.from_dict({"tools": [], "nextCursor": None})
    assert result.next_cursor is None


# --- sampling results -----------------------------------------------------------------------


def test_create_message_result_content_may_be_a_single_block() -> None:
    result = CreateMessageResult.from_dict(
        {
            "role": "assistant",
            "model": "m",
            "content": {"type": "text", "text": "hi"},
            "stopReason": "endTurn",
        }
    )
    assert isinstance(result.content, TextContent)
    assert result.stop_reason == "endTurn"


def test_create_message_result_content_may_be_a_list_of_blocks() -> None:
    result = CreateMessageResult.from_dict(
        {
            "role": "assistant",
            "model": "m",
            "content": [
                {"type": "text", "text": "a"},
                {"type": "tool_use", "id": "u1", "name": "t", "input": {}},
            ],
        }
    )
    assert isinstance(result.content, list)
    assert isinstance(result.content[0], TextContent)
    assert isinstance(result.content[1], UnknownContent)
    assert result.content[1].extra == {"id": "u1", "name": "t", "input": {}}


def test_create_message_result_round_trips_a_list_of_blocks() -> None:
    wire = {"role": "assistant", "model": "m", "content": [{"type": "text", "text": "a"}]}
    assert CreateMessageResult.from_dict(wire).to_dict() == wire


def test_create_message_result_built_in_python_encodes_camel_case() -> None:
    result = CreateMessageResult(content=TextContent(text="hi"), model="m", stop_reason="maxTokens")
    assert result.to_dict() == {
        "content": {"type": "text", "text": "hi"},
        "model": "m",
        "role": "assistant",
        "stopReason": "maxTokens",
    }


def test_prompt_messages_decode_their_content_block() -> None:
    result = GetPromptResult.from_dict(
        {
            "messages": [{"role": "user", "content": {"type": "text", "text": "q"}}],
            "description": "d",
        }
    )
    assert isinstance(result.messages[0].content, TextContent)
    assert result.messages[0].content.text == "q"
