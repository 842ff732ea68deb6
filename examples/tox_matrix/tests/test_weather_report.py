import pytest
from weather_report import ForecastError, forecast_line

import mcp_sync
from mcp_sync.testing import ToolError

# Each test runs twice: against a server of the modern era (2026-07-28) and against one
# of the legacy, handshake era. The mcp_server marker passes its options to the server.
both_eras = pytest.mark.parametrize(
    "era",
    [
        pytest.param("modern", marks=pytest.mark.mcp_server(eras=("modern",))),
        pytest.param("legacy", marks=pytest.mark.mcp_server(eras=("legacy",))),
    ],
)


def add_forecast_tool(server):
    @server.tool()
    def forecast(city: str) -> dict:
        """Tomorrow's weather in a city."""
        if city != "Lisbon":
            raise ToolError(f"no forecast for {city}")
        return {"summary": "sunny", "low": 14, "high": 23}


@both_eras
def test_forecast_line(mcp_server, era):
    add_forecast_tool(mcp_server)
    with mcp_sync.Client(mcp_server.url) as client:
        assert client.era == era
        line = forecast_line(client, "Lisbon")
    assert line == "Lisbon tomorrow: sunny, 14 to 23 degrees"


@both_eras
def test_a_tool_error_is_a_forecast_error(mcp_server, era):
    add_forecast_tool(mcp_server)
    with mcp_sync.Client(mcp_server.url) as client, pytest.raises(ForecastError) as failed:
        forecast_line(client, "Atlantis")
    assert str(failed.value) == "no forecast for Atlantis"


@both_eras
def test_a_slow_server_times_out(mcp_server, era):
    add_forecast_tool(mcp_server)
    with mcp_sync.Client(mcp_server.url) as client:  # connected: the with block connects
        mcp_server.delay(2)  # the server holds every request this long
        with pytest.raises(TimeoutError):
            forecast_line(client, "Lisbon", timeout=0.2)
