"""Tomorrow's weather in one line, from the ``forecast`` tool of an MCP server."""

from __future__ import annotations

from typing import Optional

import mcp_sync

__all__ = ["ForecastError", "forecast_line"]


class ForecastError(Exception):
    """The server's forecast tool failed."""


def forecast_line(client: mcp_sync.Client, city: str, *, timeout: Optional[float] = 10.0) -> str:
    """One line about tomorrow's weather in ``city``.

    Raises :class:`ForecastError` when the tool fails, and mcp_sync's errors (such as
    ``mcp_sync.RequestTimeout``, a ``TimeoutError``) when the server does not answer.
    """
    result = client.call_tool("forecast", {"city": city}, timeout=timeout)
    if result.is_error:
        raise ForecastError(result.text)
    weather = result.structured_content or {}
    return f"{city} tomorrow: {weather['summary']}, {weather['low']} to {weather['high']} degrees"
