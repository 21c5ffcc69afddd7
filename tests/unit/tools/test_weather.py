"""Weather through Open-Meteo, with httpx.MockTransport serving responses shaped like the real API's."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from plangate.tools import http, weather
from plangate.tools.errors import RetryableToolError, ToolError
from tests.helpers import config, make_graph, user

PARIS = {"results": [{"id": 2988507, "name": "Paris", "latitude": 48.85341, "longitude": 2.3488, "elevation": 42.0,
                      "feature_code": "PPLC", "country_code": "FR", "timezone": "Europe/Paris", "population": 2138551,
                      "country": "France", "admin1": "Île-de-France", "admin2": "Paris"}],
         "generationtime_ms": 0.9}
PARIS_TEXAS = {"results": [
    {"name": "Paris", "latitude": 48.85, "longitude": 2.35, "country_code": "FR", "country": "France", "admin1": "Île-de-France"},
    {"name": "Paris", "latitude": 33.66, "longitude": -95.55, "country_code": "US", "country": "United States", "admin1": "Texas"},
]}
CURRENT = {"latitude": 48.86, "longitude": 2.34, "generationtime_ms": 0.05, "utc_offset_seconds": 3600,
           "timezone": "Europe/Paris", "timezone_abbreviation": "CET", "elevation": 43.0,
           "current_units": {"time": "iso8601", "interval": "seconds", "temperature_2m": "°C"},
           "current": {"time": "2026-11-22T14:00", "interval": 900, "temperature_2m": 8.4, "apparent_temperature": 5.9,
                       "relative_humidity_2m": 81, "weather_code": 3, "wind_speed_10m": 12.3, "precipitation": 0.0}}
DAILY = {"latitude": 48.86, "longitude": 2.34, "timezone": "Europe/Paris",
         "daily_units": {"time": "iso8601", "temperature_2m_max": "°C"},
         "daily": {"time": ["2026-11-22", "2026-11-23", "2026-11-24"], "weather_code": [3, 61, 0],
                   "temperature_2m_max": [9.1, 7.5, 6.0], "temperature_2m_min": [4.2, 3.1, -0.5],
                   "precipitation_probability_max": [10, 85, 0], "precipitation_sum": [0.0, 6.2, 0.0]}}


class OpenMeteo:
    """A MockTransport handler recording requests; geocoding and forecast answers are configurable."""

    def __init__(self, geocoding=PARIS, forecast=None, status: int = 200) -> None:
        self.geocoding, self.forecast, self.status = geocoding, forecast, status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/search":
            return httpx.Response(200, json=self.geocoding)
        if request.url.path == "/v1/forecast":
            if self.status != 200:
                return httpx.Response(self.status, json={"error": True, "reason": "boom"})
            body = self.forecast or (DAILY if "daily" in request.url.params else CURRENT)
            return httpx.Response(200, json=body)
        return httpx.Response(404)


def run_with(api, tool, args):
    with http.use_transport(httpx.MockTransport(api)):
        return tool.invoke(args)


def test_current_weather_geocodes_then_reads_current_conditions():
    api = OpenMeteo()
    out = run_with(api, weather.current_weather, {"place": "Paris"})
    assert out["message"] == "Paris, France: 8 °C (feels like 6 °C), overcast, wind 12 km/h, humidity 81%."
    geo, forecast = api.requests
    assert geo.url.host == "geocoding-api.open-meteo.com" and geo.url.params["name"] == "Paris"
    assert forecast.url.host == "api.open-meteo.com"
    assert forecast.url.params["latitude"] == "48.85341" and forecast.url.params["longitude"] == "2.3488"
    assert "temperature_2m" in forecast.url.params["current"] and forecast.url.params["temperature_unit"] == "celsius"


def test_forecast_for_days_and_for_one_date(clock):
    api = OpenMeteo()
    out = run_with(api, weather.forecast, {"place": "Paris", "days": 3})
    assert [d["date"] for d in out["days"]] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert "Mon 23 Nov: light rain, 3 °C to 8 °C, 85% chance of rain" in out["message"]
    one = run_with(api, weather.forecast, {"place": "Paris", "date": "2026-11-23"})
    assert [d["date"] for d in one["days"]] == ["2026-11-23"]
    assert api.requests[-1].url.params["forecast_days"] == "2"
    with pytest.raises(ToolError, match="outside the forecast range"):
        run_with(api, weather.forecast, {"place": "Paris", "date": "2027-01-30"})


def test_region_after_a_comma_picks_the_right_place_and_coordinates_skip_geocoding():
    api = OpenMeteo(geocoding=PARIS_TEXAS)
    run_with(api, weather.current_weather, {"place": "Paris, Texas"})
    assert api.requests[0].url.params["name"] == "Paris"
    assert api.requests[-1].url.params["latitude"] == "33.66"
    api = OpenMeteo()
    run_with(api, weather.current_weather, {"place": "51.5, -0.12"})
    assert [r.url.path for r in api.requests] == ["/v1/forecast"]


def test_unknown_place_is_a_clear_permanent_error():
    with pytest.raises(ToolError, match="no place called 'Atlantis'") as err:
        run_with(OpenMeteo(geocoding={"generationtime_ms": 0.4}), weather.current_weather, {"place": "Atlantis"})
    assert not err.value.retryable


def test_invalid_arguments():
    with pytest.raises(ValidationError):
        weather.current_weather.invoke({"place": ""})
    with pytest.raises(ValidationError):
        weather.forecast.invoke({"place": "Paris", "days": 30})
    with pytest.raises(ToolError, match="not a valid latitude"):
        weather.current_weather.invoke({"place": "95, 10"})


@pytest.mark.parametrize("failure", [httpx.ConnectError("Name or service not known"), httpx.ConnectTimeout("timed out")])
def test_network_down_is_retryable_and_names_what_to_check(failure):
    def down(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(RetryableToolError) as err:
        run_with(down, weather.current_weather, {"place": "Paris"})
    assert "Open-Meteo geocoding service (geocoding-api.open-meteo.com)" in str(err.value)
    assert "PLANGATE_GEOCODING_URL" in str(err.value)


def test_server_errors_are_retryable_and_client_errors_are_not():
    with pytest.raises(RetryableToolError, match="HTTP 503"):
        run_with(OpenMeteo(status=503), weather.current_weather, {"place": "Paris"})
    with pytest.raises(ToolError, match="HTTP 400") as err:
        run_with(OpenMeteo(status=400), weather.current_weather, {"place": "Paris"})
    assert not err.value.retryable


def test_base_urls_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PLANGATE_WEATHER_URL", "http://meteo.local:8080")
    monkeypatch.setenv("PLANGATE_GEOCODING_URL", "http://geo.local/v1/search")
    api = OpenMeteo()
    run_with(api, weather.current_weather, {"place": "Paris"})
    assert [str(r.url).split("?")[0] for r in api.requests] == ["http://geo.local/v1/search", "http://meteo.local:8080/v1/forecast"]


def test_a_dead_server_fails_with_the_real_transport(monkeypatch, closed_port_url):
    monkeypatch.setenv("PLANGATE_GEOCODING_URL", closed_port_url)
    with pytest.raises(RetryableToolError, match="couldn't reach the Open-Meteo geocoding service"):
        weather.current_weather.invoke({"place": "Paris"})


def test_failing_weather_service_is_replanned_once_and_the_timer_kept(no_sleep):
    """The service answers 503 (reachable, failing): the step retries, then the offline replanner retries it once."""
    graph = make_graph()
    text = "set a timer for 10 minutes and check the weather in Paris then notify me with the result"
    with http.use_transport(httpx.MockTransport(OpenMeteo(status=503))):
        out = graph.invoke(user(text), config())
    steps = {s["id"]: s for s in out["plan"]["steps"]}
    results = out["step_results"]
    assert results[1]["status"] == "completed"
    assert results[2]["status"] == results[4]["status"] == "failed" and results[2]["attempts"] == 3
    assert steps[4]["description"].startswith("retry of step 2") and steps[4]["args"] == {"place": "Paris"}
    assert steps[5]["tool"] == "notification.notify" and steps[5]["depends_on"] == [1, 4]  # re-created, remapped
    assert steps[5]["args"]["message"] == "Result: {{step_1}} {{step_4}}"
    assert results[5]["status"] == "skipped"
    answer = out["messages"][-1].content
    assert "Timer set for 10 min" in answer
    assert answer.count("I couldn't get the weather") == 1 and "HTTP 503" in answer


def test_unreachable_weather_service_fails_fast_and_keeps_the_timer(monkeypatch, closed_port_url, no_sleep):
    """Offline: two failed connections open the host's breaker, so the step stops and no replan retries it."""
    monkeypatch.setenv("PLANGATE_GEOCODING_URL", closed_port_url)
    graph = make_graph()
    text = "set a timer for 10 minutes and check the weather in Paris then notify me with the result"
    out = graph.invoke(user(text), config())
    results = out["step_results"]
    assert results[1]["status"] == "completed" and results[3]["status"] == "skipped"
    assert results[2]["status"] == "failed" and results[2]["attempts"] == 3 and not results[2]["retryable"]
    assert set(results) == {1, 2, 3} and len(no_sleep) == 2  # no replacement step; two backoffs in all
    answer = out["messages"][-1].content
    assert "Timer set for 10 min" in answer
    assert "couldn't reach" in answer and "not tried again" in answer
