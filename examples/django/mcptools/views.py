"""JSON views over the MCP server's tools."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

import mcp_sync

from .mcp_client import get_client

log = logging.getLogger(__name__)


@require_GET
def list_tools(request: HttpRequest) -> JsonResponse:
    try:
        tools = get_client().list_tools()
    except mcp_sync.MCPSyncError as exc:
        return _no_answer(exc)
    listing = [{"name": tool.name, "description": tool.description} for tool in tools]
    return JsonResponse({"tools": listing})


@require_GET
def add(request: HttpRequest) -> JsonResponse:
    try:
        a, b = int(request.GET["a"]), int(request.GET["b"])
    except (KeyError, ValueError):
        return JsonResponse({"error": "a and b must be integers"}, status=400)
    try:
        result = get_client().call_tool("add", {"a": a, "b": b})
    except mcp_sync.MCPSyncError as exc:
        return _no_answer(exc)
    if result.is_error:
        # The tool ran and failed: a result, not an exception. Its text is meant to be read.
        return JsonResponse({"error": result.text}, status=502)
    return JsonResponse({"sum": result.text})


def _no_answer(exc: mcp_sync.MCPSyncError) -> JsonResponse:
    # The details (URLs, HTTP bodies) are for the log, not for whoever called the view.
    log.warning("the MCP server gave no usable answer: %s", exc)
    if isinstance(exc, mcp_sync.RequestTimeout):
        return JsonResponse({"error": "the MCP server did not answer in time"}, status=504)
    return JsonResponse({"error": "the MCP server is not available"}, status=502)
