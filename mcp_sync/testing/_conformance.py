"""The tools, resources and prompts the official conformance suite's server scenarios call."""

from __future__ import annotations

import json
import time
from typing import Any

from ._content import PNG_1X1, WAV_SILENCE, audio, embedded_resource, image, text
from ._server import Context, MCPTestServer

# The inputSchema the json-schema-2020-12 scenario expects to find intact.
JSON_SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def conformance_fixtures(server: MCPTestServer) -> MCPTestServer:
    """Register what the conformance suite's server scenarios expect, on ``server``.

    The names and contents follow the scenario descriptions of
    ``@modelcontextprotocol/conformance`` (``test_simple_text``, ``test://static-text``,
    ``test_prompt_with_arguments``...). Returns the server.
    """

    @server.tool(description="Tests simple text content response")
    def test_simple_text() -> str:
        return "This is a simple text response for testing."

    @server.tool(description="Tests image content response")
    def test_image_content() -> dict[str, Any]:
        return image(PNG_1X1)

    @server.tool(description="Tests audio content response")
    def test_audio_content() -> dict[str, Any]:
        return audio(WAV_SILENCE)

    @server.tool(description="Tests embedded resource content response")
    def test_embedded_resource() -> dict[str, Any]:
        return embedded_resource(
            "test://embedded-resource",
            "This is an embedded resource content.",
            mime_type="text/plain",
        )

    @server.tool(description="Tests response with multiple content types (text, image, resource)")
    def test_multiple_content_types() -> list[Any]:
        return [
            text("Multiple content types test:"),
            image(PNG_1X1),
            embedded_resource(
                "test://mixed-content-resource",
                json.dumps({"test": "data", "value": 123}),
                mime_type="application/json",
            ),
        ]

    @server.tool(description="Tests tool that emits log messages during execution")
    def test_tool_with_logging(ctx: Context) -> str:
        for i, note in enumerate(
            ("Tool execution started", "Tool processing data", "Tool execution completed")
        ):
            if i:
                time.sleep(0.05)
            ctx.log("info", note)
        return "Tool with logging executed successfully"

    @server.tool(description="Tests tool that reports progress notifications")
    def test_tool_with_progress(ctx: Context) -> str:
        for step in (0, 50, 100):
            if step:
                time.sleep(0.05)
            ctx.progress(step, 100, f"Completed step {step} of 100")
        return str(ctx.progress_token)

    @server.tool(description="Tests error response handling")
    def test_error_handling() -> None:
        raise RuntimeError("This tool intentionally returns an error for testing")

    @server.tool(description="Tests server-initiated sampling (LLM completion request)")
    def test_sampling(ctx: Context, prompt: str) -> str:
        result = ctx.sample(prompt, max_tokens=100)
        content = result.get("content")
        answer = content.get("text") if isinstance(content, dict) else None
        return f"LLM response: {answer}"

    @server.tool(description="Tests server-initiated elicitation (user input request)")
    def test_elicitation(ctx: Context, message: str) -> str:
        schema = {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        }
        result = ctx.elicit(message, schema)
        return f"User response: action={result.get('action')}, content={json.dumps(result.get('content', {}))}"

    @server.tool(
        description="Tool with JSON Schema 2020-12 features", input_schema=JSON_SCHEMA_2020_12
    )
    def json_schema_2020_12_tool(**arguments: Any) -> str:
        return f"Received: {json.dumps(arguments, sort_keys=True)}"

    # 2026-07-28 (server-stateless) diagnostics.
    @server.tool(description="Needs the client's sampling capability")
    def test_missing_capability(ctx: Context) -> str:
        ctx.require_capability("sampling")
        return "the client declared sampling"

    @server.tool(description="Streams a progress notification, then answers")
    def test_streaming_elicitation(ctx: Context) -> str:
        ctx.progress(1, 2, "working")
        return "streamed"

    @server.tool(description="Logs only when the request names a log level")
    def test_logging_tool(ctx: Context) -> str:
        ctx.log("info", "test_logging_tool ran")
        return "logged"

    @server.tool(description="Tool whose parameters are mirrored into Mcp-Param headers")
    def test_header_params(region: str, priority: int = 0) -> dict[str, Any]:
        return {"region": region, "priority": priority}

    # The tool above with its x-mcp-header marks (decorators infer no extensions).
    schema = server._tools["test_header_params"].input_schema
    schema["properties"]["region"]["x-mcp-header"] = "Region"
    schema["properties"]["priority"]["x-mcp-header"] = "Priority"

    @server.resource("test://static-text", name="static-text", mime_type="text/plain")
    def static_text() -> str:
        """A static text resource for testing"""
        return "This is the content of the static text resource."

    @server.resource("test://static-binary", name="static-binary", mime_type="image/png")
    def static_binary() -> bytes:
        """A static binary resource (image) for testing"""
        return PNG_1X1

    @server.resource("test://watched-resource", name="watched-resource", mime_type="text/plain")
    def watched_resource() -> str:
        """A resource clients may subscribe to"""
        return "Watched resource content"

    @server.resource_template(
        "test://template/{id}/data", name="template", mime_type="application/json"
    )
    def template_data(id: str) -> str:
        """A resource template with parameter substitution"""
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @server.prompt(description="A simple prompt without arguments")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @server.prompt(
        description="A prompt with required arguments",
        complete={"arg1": ["test1", "test2", "testValue1"], "arg2": ["value1", "value2"]},
    )
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @server.prompt(description="A prompt that includes an embedded resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[Any]:
        return [
            embedded_resource(
                resourceUri, "Embedded resource content for testing.", mime_type="text/plain"
            ),
            "Please process the embedded resource above.",
        ]

    @server.prompt(description="A prompt that includes image content")
    def test_prompt_with_image() -> list[Any]:
        return [image(PNG_1X1), "Please analyze the image above."]

    return server
